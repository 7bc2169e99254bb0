"""Read models of notifications: a client's, an appointment's."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import clients, notifications


def _query() -> sa.Select[Any]:
    n = notifications.c
    return (
        sa.select(
            n.notification_id,
            n.appointment_id,
            n.appointment_version,
            n.client_id,
            (clients.c.first_name + " " + clients.c.last_name).label("recipient_name"),
            n.kind,
            n.channel,
            n.address,
            n.language,
            n.status,
            n.status_reason,
            n.attempts,
            n.subject,
            n.body,
            n.due_at,
            n.next_attempt_at,
            n.sent_at,
            n.created_at,
            n.updated_at,
        )
        .join(clients, clients.c.client_id == n.client_id)
        # Newest appointment change first; a reminder after the confirmation it follows.
        .order_by(n.due_at.desc(), n.created_at.desc(), n.client_id, n.channel)
    )


def _row(row: Any) -> dict[str, Any]:
    item = dict(row._mapping)
    # "When" as a person asks it: sent at, else when it is (next) due.
    item["at"] = item["sent_at"] or (
        item["next_attempt_at"] if item["status"] == "queued" else item["updated_at"]
    )
    return item


async def client_notifications(session: AsyncSession, client_id: str) -> list[dict[str, Any]]:
    """The notifications sent (or to be sent) to a client, newest first."""
    rows = (await session.execute(_query().where(notifications.c.client_id == client_id))).all()
    return [_row(r) for r in rows]


async def appointment_notifications(
    session: AsyncSession, appointment_id: str
) -> list[dict[str, Any]]:
    """Every notification about an appointment, to each of its recipients, newest first."""
    rows = (
        await session.execute(_query().where(notifications.c.appointment_id == appointment_id))
    ).all()
    return [_row(r) for r in rows]
