"""Callmarker: the deliveries table (one row per ended call) and the HTTP client that pushes
a call's data to Callmarker's Request Data URL.

A delivery is staged in the transaction that emits the call's ``CallEnded``, so it exists
exactly when the call ended; the push worker then claims due rows, sends them, and marks
each delivered or schedules its retry. Nothing is lost across restarts: an undelivered
row stays until it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_telephony.adapters.tables import callmarker_deliveries as deliveries

TOKEN_HEADER = "X-Callmarker-Token"  # noqa: S105 - a header name, not a secret
"""The header carrying the Callmarker token, in both directions."""


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A call's data waiting to reach Callmarker."""

    call_id: str
    payload: dict[str, Any]
    attempts: int


async def stage(
    session: AsyncSession, call_id: str, payload: dict[str, Any], now: datetime
) -> None:
    """Queue the call's data for Callmarker (at most once per call)."""
    await session.execute(
        pg_insert(deliveries)
        .values(call_id=call_id, payload=payload, next_attempt_at=now)
        .on_conflict_do_nothing()
    )


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int, lease: timedelta
) -> list[PendingDelivery]:
    """Take up to ``limit`` due deliveries for this worker.

    Their next attempt moves ``lease`` ahead, so another replica (or this one after a
    crash) retries them only if this worker never reports back.
    """
    rows = (
        await session.execute(
            sa.select(deliveries.c.call_id, deliveries.c.payload, deliveries.c.attempts)
            .where(deliveries.c.delivered_at.is_(None), deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if rows:
        await session.execute(
            sa.update(deliveries)
            .where(deliveries.c.call_id.in_([r.call_id for r in rows]))
            .values(next_attempt_at=now + lease)
        )
    return [PendingDelivery(r.call_id, dict(r.payload), r.attempts) for r in rows]


async def mark_delivered(session: AsyncSession, call_id: str, now: datetime) -> None:
    """Record a successful delivery."""
    await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.call_id == call_id)
        .values(delivered_at=now, attempts=deliveries.c.attempts + 1, last_error=None)
    )


async def mark_failed(
    session: AsyncSession, call_id: str, *, next_attempt_at: datetime, error: str
) -> None:
    """Record a failed attempt and when to try again."""
    await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.call_id == call_id)
        .values(
            attempts=deliveries.c.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_error=error[:500],
        )
    )


class PushFailed(Exception):
    """Callmarker did not take the call's data (unreachable, timeout, non-2xx answer)."""


class CallmarkerClient:
    """Posts one call's data to Callmarker's Request Data URL."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)

    async def push(
        self, url: str, *, token: str, integration_id: str, call_id: str, data: dict[str, Any]
    ) -> None:
        """Send the data; raises :class:`PushFailed` unless Callmarker answers 2xx.

        ``Idempotency-Key`` is the call id, so a delivery repeated after a crash between
        sending and recording it can be recognised on Callmarker's side.
        """
        try:
            response = await self._http.post(
                url,
                json={"integration_id": integration_id, **data},
                headers={TOKEN_HEADER: token, "Idempotency-Key": call_id},
            )
        except httpx.HTTPError as exc:
            # The exception's text names the URL, never the headers (the token).
            raise PushFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise PushFailed(f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
