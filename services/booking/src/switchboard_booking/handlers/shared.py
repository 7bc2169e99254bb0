"""What every area's handlers share: their dependencies, and the one way they publish.

A writing handler opens a unit of work from :class:`Deps`, lets the domain decide, writes,
hands its events to :func:`publish` inside the same transaction, and commits. It is that
one transaction and nothing else, so when PostgreSQL aborts it for a deadlock or a
serialization failure it runs again whole (``retry_transaction``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from switchboard_booking.settings import BookingSettings
from switchboard_contracts import Envelope, Event, make_envelope, message_key, topic_for
from switchboard_runtime.outbox import add_events

PRODUCER = "booking"


@dataclass(frozen=True)
class Deps:
    """What the handlers need, built once in ``bootstrap`` (or by the seed command)."""

    sessions: async_sessionmaker[AsyncSession]
    settings: BookingSettings
    #: Asks the outbox relay to publish now; called once a transaction that staged
    #: events has committed.
    wake_relay: Callable[[], None]


async def publish(
    session: AsyncSession,
    deps: Deps,
    events: Sequence[Event],
    *,
    correlation_id: str | None = None,
) -> None:
    """Stage ``events`` in the outbox in ``session``'s transaction (topic and key from the
    contracts), and wake the relay once that transaction commits; never if it rolls back."""
    now = datetime.now(UTC)
    staged: list[tuple[str, str | None, Envelope[Any]]] = [
        (
            topic_for(e.event_type),
            message_key(e),
            make_envelope(e, producer=PRODUCER, occurred_at=now, correlation_id=correlation_id),
        )
        for e in events
    ]
    await add_events(session, deps.settings, staged)

    def committed(sync_session: Session) -> None:
        # ``after_commit`` also fires when a savepoint is released; only the outer commit
        # makes the staged rows visible to the relay.
        if not sync_session.in_nested_transaction():
            deps.wake_relay()

    sa_event.listen(session.sync_session, "after_commit", committed)
