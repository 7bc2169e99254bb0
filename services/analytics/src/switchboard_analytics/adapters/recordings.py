"""The PBX's recording server (an HTTP client) and the listens table.

Recordings are fetched with the configured basic-auth credentials and relayed as they
arrive (never held in memory); each request that gets audio is one row in
``recording_listens``, an append-only table (the migration forbids updates and deletes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import call_log, operators, recording_listens
from switchboard_runtime.auth import Principal

#: Upstream response headers the browser needs to play and seek.
RELAYED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges")


@dataclass(frozen=True)
class RecordingTarget:
    """What decides whether and where a call's recording can be heard."""

    recording_url: str | None
    admin_id: str | None
    admin_call_center_id: str | None


async def recording_target(session: AsyncSession, call_id: str) -> RecordingTarget | None:
    """The ended call's recording URL and its admin's call center; None for no such call."""
    row = (
        await session.execute(
            sa.select(call_log.c.recording_url, call_log.c.admin_id, operators.c.call_center_id)
            .select_from(
                call_log.outerjoin(operators, operators.c.operator_id == call_log.c.admin_id)
            )
            .where(call_log.c.call_id == call_id, call_log.c.ended_at.is_not(None))
        )
    ).first()
    if row is None:
        return None
    return RecordingTarget(row.recording_url, row.admin_id, row.call_center_id)


async def record_listen(
    session: AsyncSession,
    viewer: Principal,
    call_id: str,
    listened_at: datetime,
    byte_range: str | None,
    status: int,
) -> None:
    """One row: who listened to which call, when, and which part."""
    await session.execute(
        recording_listens.insert().values(
            call_id=call_id,
            operator_id=viewer.operator_id,
            operator_name=viewer.name,
            role=viewer.role,
            listened_at=listened_at,
            byte_range=byte_range,
            status=status,
        )
    )


async def list_listens(
    session: AsyncSession, call_id: str | None, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    """Listens, newest first, optionally of one call; keyset paging on ``listen_id``."""
    t = recording_listens
    query = sa.select(t).order_by(t.c.listen_id.desc()).limit(limit)
    if call_id is not None:
        query = query.where(t.c.call_id == call_id)
    if before_id is not None:
        query = query.where(t.c.listen_id < before_id)
    rows = (await session.execute(query)).mappings().all()
    out = []
    for row in rows:
        item = dict(row)
        item["listened_at"] = row["listened_at"].isoformat().replace("+00:00", "Z")
        out.append(item)
    return out


class RecordingServer:
    """The PBX's recording server: GET with basic auth, streamed."""

    def __init__(
        self,
        base_url: str | None,
        username: str | None,
        password: SecretStr | None,
        timeout_seconds: float,
    ) -> None:
        self.base_url = base_url
        auth = (username, password.get_secret_value()) if username and password else None
        self._client = httpx.AsyncClient(auth=auth, timeout=timeout_seconds, follow_redirects=False)

    async def open(self, url: str, byte_range: str | None) -> httpx.Response:
        """The recording's response, body not yet read (close it when done)."""
        headers = {"Range": byte_range} if byte_range else {}
        request = self._client.build_request("GET", url, headers=headers)
        return await self._client.send(request, stream=True)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
