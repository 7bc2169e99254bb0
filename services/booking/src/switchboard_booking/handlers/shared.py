"""What every area's handlers share: their dependencies.

A writing handler opens a unit of work from :class:`Deps`, lets the domain decide, writes,
hands its events to the runtime's ``publish`` inside the same transaction, and commits. It is that
one transaction and nothing else, so when PostgreSQL aborts it for a deadlock or a
serialization failure it runs again whole (``retry_transaction``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_booking.adapters.login_throttle import LoginThrottle
from switchboard_booking.settings import BookingSettings
from switchboard_runtime.sessions import SessionRevocations


@dataclass(frozen=True)
class Deps:
    """What the handlers need, built once in ``bootstrap`` (or by the seed command)."""

    sessions: async_sessionmaker[AsyncSession]
    settings: BookingSettings
    #: Now, for what waits on time (notifications due, retries, leases); tests move it.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Wakes the outbox relay once a booking's event is committed (a booking stages it in
    #: its own statement: ``appointments_repository.insert_appointment``); the seed wakes none.
    wake_relay: Callable[[], None] = field(default=lambda: None)
    #: Wakes the notification worker once new notifications are committed.
    wake_delivery: Callable[[], None] = field(default=lambda: None)
    #: Ended sessions (logout, an admin ending them, deactivation); the service's own
    #: build sets it, the seed and the separate worker do not end sessions.
    revocations: SessionRevocations | None = None
    #: Failed-login lockouts; only the service's API logs in.
    login_throttle: LoginThrottle | None = None
