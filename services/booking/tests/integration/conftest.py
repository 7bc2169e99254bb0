"""Booking started for real (PostgreSQL, Kafka, outbox relay), seeded once per run."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

# The helpers module sits beside this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

# The stand-in SMTP and SMS processes, the movable clock and the delivery worker.
from booking_standins import *  # noqa: F403

MSK = ZoneInfo("Europe/Moscow")


@dataclass
class Booking:
    """The running service, an HTTP client, and a session header per demo login."""

    client: httpx.AsyncClient
    app: Any
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_(self, username: str) -> dict[str, str]:
        """The ``Authorization`` header of a demo operator."""
        return self.headers[username]

    async def get(self, user: str, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers=self.as_(user), **kw)

    async def post(self, user: str, url: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.as_(user), **kw)

    async def patch(self, user: str, url: str, body: Any) -> httpx.Response:
        return await self.client.patch(url, json=body, headers=self.as_(user))

    @staticmethod
    def monday() -> date:
        """A Monday far enough ahead that no other test books on it."""
        return fresh_monday()

    @staticmethod
    def msk(day: date, hour: int, minute: int = 0) -> str:
        """A Moscow wall-clock time as an ISO UTC string."""
        return msk(day, hour, minute)

    @staticmethod
    def events(
        records: list[Any], event_type: str, **payload: Any
    ) -> list[tuple[str, dict[str, Any]]]:
        """``(key, envelope)`` of the records of one type whose payload has these values."""
        return events(records, event_type, **payload)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking(settings_env: dict[str, str], running_service: Any) -> AsyncIterator[Booking]:
    """The booking service with the demo chain seeded and every demo operator logged in."""
    from switchboard_booking.bootstrap import build_app
    from switchboard_booking.entrypoints.seed import OPERATORS, seed
    from switchboard_booking.settings import BookingSettings

    # Tests that send notifications run a worker of their own (notifications_conftest).
    app = build_app(BookingSettings(log_json=False, notifications_worker=False))
    async with running_service(app) as client:
        await seed(app.state.runtime.sessions, app.state.runtime.settings)
        service = Booking(client, app)
        for op in OPERATORS:
            response = await client.post(
                "/api/booking/auth/login",
                json={"username": op["username"], "password": op["password"]},
            )
            assert response.status_code == 200, response.text
            service.headers[op["username"]] = {
                "Authorization": f"Bearer {response.json()['token']}"
            }
        yield service


_weeks = iter(range(2, 200))


def fresh_monday() -> date:
    """A Monday far enough ahead that no other test books on it."""
    today = datetime.now(MSK).date()
    return today + timedelta(days=7 - today.weekday()) + timedelta(weeks=next(_weeks))


def msk(day: date, hour: int, minute: int = 0) -> str:
    """A Moscow wall-clock time as an ISO UTC string."""
    return datetime.combine(day, time(hour, minute), tzinfo=MSK).astimezone(UTC).isoformat()


def events(records: list[Any], event_type: str, **payload: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(key, envelope)`` of the records of one type whose payload has these values."""
    out = []
    for record in records:
        value = json.loads(record.value)
        if value["event_type"] == event_type and all(
            value["payload"].get(k) == v for k, v in payload.items()
        ):
            out.append((record.key.decode(), value))
    return out
