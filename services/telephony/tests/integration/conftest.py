"""Telephony started for real (PostgreSQL, Kafka, outbox relay), one instance per test.

Each instance gets topics and a database of its own (``t<run>.<tag>.`` and
``_<tag>_<run>``), so tests that change integration settings or the time lag never affect
each other, and a test can stop and start "the same" service again by reusing its tag.
Settings come from the environment (``TELEPHONY_*``), as in production.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

PBX_TOKEN = "it-pbx-token"


def signed(body: bytes, token: str = PBX_TOKEN) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed now with ``token``."""
    from switchboard_telephony.domain.signing import signed_headers

    return signed_headers(token, body)


@dataclass
class Telephony:
    """A running telephony instance and what a test needs to talk to it."""

    client: httpx.AsyncClient
    app: Any
    settings: Any
    tag: str

    def logical(self, topic: str) -> str:
        """The name ``topic_reader`` wants for this instance's ``topic``."""
        return f"{self.tag}.{topic}"

    def topic(self, topic: str) -> str:
        """The physical Kafka topic of this instance's ``topic``."""
        return str(self.settings.topic(topic))

    def auth(self, role: str | None) -> dict[str, str]:
        """An ``Authorization`` header of an operator with ``role`` (none for None)."""
        if role is None:
            return {}
        from switchboard_runtime.auth import Principal, issue_token

        principal = Principal(operator_id=f"op-{role}", name=role.title(), role=role)  # type: ignore[arg-type]
        token = issue_token(principal, self.settings.auth_secret.get_secret_value())
        return {"Authorization": f"Bearer {token}"}

    async def post_events(self, events: Any) -> httpx.Response:
        """POST to the PBX webhook, signed with the right token."""
        from switchboard_telephony.domain.signing import signed_json

        body, headers = signed_json(PBX_TOKEN, events)
        return await self.client.post("/api/telephony/pbx/events", content=body, headers=headers)


StartTelephony = Callable[..., AbstractAsyncContextManager[Telephony]]


@pytest.fixture
def start_telephony(
    settings_env: dict[str, str], running_service: Any, monkeypatch: pytest.MonkeyPatch
) -> StartTelephony:
    """``async with start_telephony("tag", TELEPHONY_X="1") as t:`` — an instance with
    its own topics and database, configured through ``TELEPHONY_*`` variables."""

    @asynccontextmanager
    async def start(tag: str, **env: str) -> AsyncIterator[Telephony]:
        from switchboard_telephony.bootstrap import build_app
        from switchboard_telephony.settings import TelephonySettings

        monkeypatch.setenv("TELEPHONY_TOPIC_PREFIX", f"{settings_env['TOPIC_PREFIX']}{tag}.")
        monkeypatch.setenv("TELEPHONY_DATABASE_SUFFIX", f"_{tag}{settings_env['DATABASE_SUFFIX']}")
        monkeypatch.setenv("TELEPHONY_PBX_TOKEN", PBX_TOKEN)
        monkeypatch.setenv("TELEPHONY_SWEEP_INTERVAL_SECONDS", "0.2")
        monkeypatch.setenv("TELEPHONY_LOG_JSON", "false")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = TelephonySettings()
        app = build_app(settings)
        async with running_service(app) as client:
            yield Telephony(client=client, app=app, settings=settings, tag=tag)

    return start


def unique_tag(name: str) -> str:
    """A tag for a new instance (letters, digits, underscores only)."""
    return f"{name}{uuid.uuid4().hex[:6]}"


def pbx_time(at: datetime) -> str:
    """A PBX timestamp as a Moscow PBX writes it (ISO 8601, +03:00)."""
    return at.astimezone(timezone_msk()).isoformat()


def timezone_msk() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Moscow")


def recent_second(minutes_ago: int = 10) -> datetime:
    """A whole-second UTC time a little in the past (PBX timestamps must be plausible)."""
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)


def parse_time(value: str) -> datetime:
    """An ISO timestamp from an event, as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def envelopes(records: Iterable[Any]) -> list[dict[str, Any]]:
    """The JSON envelopes of Kafka records."""
    return [json.loads(r.value) for r in records]


def by_call(records: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """Envelopes per call id (the record key), in the order they were published."""
    calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        calls[record.key.decode()].append(json.loads(record.value))
    return calls


def event_types(envs: Iterable[dict[str, Any]]) -> list[str]:
    """The ``event_type`` of each envelope."""
    return [e["event_type"] for e in envs]


def one(envs: Iterable[dict[str, Any]], event_type: str) -> dict[str, Any]:
    """The payload of the only envelope of ``event_type``."""
    found = [e["payload"] for e in envs if e["event_type"] == event_type]
    assert len(found) == 1, f"expected one {event_type}, got {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def helpers() -> Any:
    """This module's helper functions (test modules cannot import a conftest)."""
    import sys

    return sys.modules[__name__]
