"""The PBX's recording server (an HTTP client) and the listens table.

Recordings are fetched with the configured basic-auth credentials and relayed as they
arrive (never held in memory); each request that gets audio is one row in
the audit trail (``recording.listened``; see :mod:`~switchboard_analytics.adapters.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.audit import AuditFilter, list_audit
from switchboard_analytics.adapters.tables import call_log, operators

#: Upstream response headers the browser needs to play and seek.
RELAYED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges")
#: The audit action of a listen.
LISTENED = "recording.listened"


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


async def list_listens(
    session: AsyncSession, call_id: str | None, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    """Listens (the audit trail's ``recording.listened`` records), newest first, optionally
    of one call; keyset paging on ``listen_id`` (the record's id)."""
    flt = AuditFilter(action=LISTENED, subject_type="call", subject_id=call_id)
    return [
        {
            "listen_id": row["record_id"],
            "call_id": row["subject_id"],
            "operator_id": row["actor_id"],
            "operator_name": row["actor_name"],
            "role": row["actor_role"],
            "listened_at": row["occurred_at"].isoformat().replace("+00:00", "Z"),
            "byte_range": row["details"].get("byte_range"),
            "status": row["details"].get("status"),
            "client_address": row["client_address"],
        }
        for row in await list_audit(session, flt, limit, before_id)
    ]


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
