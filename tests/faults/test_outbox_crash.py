"""The outbox relay killed at both of its dangerous moments, as a real process (SIGKILL).

Booking runs as the production command (``switchboard-booking serve``) and registers a
client through its API: the client row and its ``ClientRegistered`` outbox row commit
together. crm-touch, started in this process, consumes ``booking.clients``.

* Killed after the commit, before the publish: the test holds the relay's leadership
  lock (as another booking replica would), so the committed event stays unpublished when
  the process dies. A fresh process publishes it exactly once.
* Killed after the publish, before the "published" mark commits: the test holds a row lock
  on the outbox row, so the relay's delete waits after Kafka acknowledged the event; the
  process dies there. A fresh process publishes it again: the topic carries two copies with
  one ``event_id``, and crm-touch applies it once and drops the other as a duplicate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from harness import _bin, free_port
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.plugin import TopicReader

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="session"),
]

CLIENTS_TOPIC = "booking.clients"
#: The relay's leadership lock: one PostgreSQL advisory lock per service database, taken
#: by whichever replica's relay publishes (see the outbox module's docstring).
BOOKING_RELAY_LOCK = zlib.crc32(b"outbox:booking")


@dataclass
class BookingProcess:
    """``switchboard-booking`` as a real OS process on this module's topics and database."""

    env: dict[str, str]
    log_dir: Path
    process: asyncio.subprocess.Process | None = None
    port: int = 0
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def migrate(self) -> None:
        """Create booking's database and bring it to head (before anyone leads its relay)."""
        log = self.log_dir / "booking-migrate.log"
        with log.open("wb") as out:
            migrate = await asyncio.create_subprocess_exec(
                _bin("switchboard-booking"), "migrate", env=self.env, stdout=out, stderr=out
            )
            code = await asyncio.wait_for(migrate.wait(), timeout=60)
        assert code == 0, log.read_text(errors="replace")[-3000:]

    async def start(self) -> None:
        """Start ``serve`` on a free port and wait until ``/readyz`` answers 200."""
        self.starts += 1
        self.port = free_port()
        log = self.log_dir / f"booking-{self.starts}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                _bin("switchboard-booking"),
                "serve",
                "--port",
                str(self.port),
                env=self.env,
                stdout=out,
                stderr=out,
            )
        self.process = process

        async with httpx.AsyncClient(timeout=2) as client:

            async def ready() -> bool:
                if process.returncode is not None:
                    raise RuntimeError(f"booking exited: {log.read_text(errors='replace')[-3000:]}")
                try:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, timeout=60, interval=0.2, message="booking ready")

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook, no relay drain, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        code = await asyncio.wait_for(self.process.wait(), timeout=30)
        assert code == -signal.SIGKILL
        self.process = None

    async def stop(self) -> None:
        """A normal shutdown (SIGTERM), for the end of a test."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def register_client(self, headers: dict[str, str], phone: str) -> str:
        """Register a client through the API, as an operator does; returns its id."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.post(
                "/api/booking/clients",
                json={"first_name": "Vera", "last_name": "Crash", "mobile": phone},
                headers=headers,
            )
        assert response.status_code == 201, response.text
        return str(response.json()["client_id"])


@dataclass
class Stage:
    """What one test works with: booking's process and database, the topic, crm-touch."""

    booking: BookingProcess
    database_url: str
    topic: str
    bootstrap: str
    crm: httpx.AsyncClient
    headers: dict[str, str]

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the test's own to booking's database."""
        engine = create_async_engine(self.database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                yield conn
        finally:
            await engine.dispose()

    async def outbox(self) -> list[tuple[str, str]]:
        """``(event_id, topic)`` of every committed, unpublished outbox row."""
        async with self.connection() as conn:
            rows = await conn.execute(sa.text("SELECT event_id, topic FROM outbox ORDER BY id"))
            return [(str(event_id), topic) for event_id, topic in rows]

    async def consumed(self) -> tuple[float, float]:
        """crm-touch's counters: events of booking.clients applied, duplicates dropped."""
        text = (await self.crm.get("/metrics")).text
        applied = duplicates = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("group") != "crm-touch" or not sample.name.endswith("_total"):
                    continue
                if family.name == "switchboard_events_consumed" and (
                    sample.labels.get("topic") == self.topic
                ):
                    applied += sample.value
                elif family.name == "switchboard_events_duplicate":
                    duplicates += sample.value
        return applied, duplicates

    async def contact(self, client_id: str) -> dict[str, Any] | None:
        """The client as crm-touch's API shows it (``None`` until it has it)."""
        response = await self.crm.get(f"/api/crm/contacts/{client_id}", headers=self.headers)
        return response.json() if response.status_code == 200 else None


async def copies_on_topic(bootstrap: str, topic: str, event_id: str) -> int:
    """How many records of ``topic`` carry ``event_id``, reading every partition up to the
    end offset it has now (so the count is complete once nobody is publishing)."""
    reader = TopicReader(bootstrap, topic)
    await reader.start()
    try:
        await reader.read_to_end()
    finally:
        await reader.stop()
    return sum(1 for value in reader.values() if value["event_id"] == event_id)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crm(
    settings_env: dict[str, str], running_service: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str]]:
    """crm-touch on this module's topics, and an operator session for its API."""
    from switchboard_crm_touch.bootstrap import build_app
    from switchboard_crm_touch.settings import CrmTouchSettings

    prefix = f"{settings_env['TOPIC_PREFIX']}crash."
    settings = CrmTouchSettings(
        topic_prefix=prefix,
        database_suffix=f"_crash{settings_env['DATABASE_SUFFIX']}",
        log_json=False,
    )
    token = issue_token(
        Principal("op-crash", "Crash Admin", "admin"), settings.auth_secret.get_secret_value()
    )
    async with running_service(build_app(settings)) as client:
        yield client, {"Authorization": f"Bearer {token}"}, prefix


@pytest_asyncio.fixture(loop_scope="session")
async def stage(
    crm: tuple[httpx.AsyncClient, dict[str, str], str],
    settings_env: dict[str, str],
    infra: Any,
    tmp_path: Path,
) -> AsyncIterator[Stage]:
    """A booking database of this test's own, on the module's topics."""
    from switchboard_booking.settings import BookingSettings

    client, headers, prefix = crm
    suffix = f"_crash{uuid.uuid4().hex[:6]}{settings_env['DATABASE_SUFFIX']}"
    env = {
        **os.environ,
        **settings_env,
        "TOPIC_PREFIX": prefix,
        "DATABASE_SUFFIX": suffix,
        "LOG_JSON": "false",
        "PYTHONUNBUFFERED": "1",
    }
    database_url = BookingSettings(topic_prefix=prefix, database_suffix=suffix).service_database_url
    booking = BookingProcess(env=env, log_dir=tmp_path)
    try:
        yield Stage(
            booking=booking,
            database_url=database_url,
            topic=prefix + CLIENTS_TOPIC,
            bootstrap=infra.kafka_bootstrap_servers,
            crm=client,
            headers=headers,
        )
    finally:
        await booking.stop()


def _phone() -> str:
    return f"+7916{uuid.uuid4().int % 10**7:07d}"


async def _commit_unpublished(stage: Stage, leader: AsyncConnection, phone: str) -> tuple[str, str]:
    """With the relay's leadership held by ``leader`` (as another replica would hold it),
    start booking and register a client: the event commits to the outbox and nobody
    publishes it. Returns ``(event_id, client_id)``."""
    got = await leader.scalar(sa.select(sa.func.pg_try_advisory_lock(BOOKING_RELAY_LOCK)))
    await leader.commit()
    assert got, "the relay lock was already taken"
    await stage.booking.start()
    client_id = await stage.booking.register_client(stage.headers, phone)
    outbox = await stage.outbox()
    assert [topic for _, topic in outbox] == [stage.topic], outbox
    return outbox[0][0], client_id


async def _outbox_drained(stage: Stage, message: str) -> None:
    async def drained() -> bool:
        return not await stage.outbox()

    await wait_until(drained, timeout=30, interval=0.1, message=message)


async def _consumed_since(
    stage: Stage, before: tuple[float, float], copies: int
) -> tuple[float, float]:
    """crm-touch's (applied, dropped as duplicate) since ``before``, once it has read
    ``copies`` records of the event."""

    async def read_all() -> tuple[float, float] | None:
        applied, duplicates = await stage.consumed()
        seen = (applied - before[0], duplicates - before[1])
        return seen if sum(seen) >= copies else None

    return await wait_until(read_all, timeout=30, message=f"crm-touch read {copies} copies")


async def test_killed_after_the_commit_before_the_publish_the_event_is_published_once(
    stage: Stage,
) -> None:
    await stage.booking.migrate()
    phone = _phone()
    before = await stage.consumed()

    async with stage.connection() as leader:
        event_id, client_id = await _commit_unpublished(stage, leader, phone)
        await stage.booking.kill()
    # Dead with its event committed and never published.
    assert await stage.outbox() == [(event_id, stage.topic)]
    assert await copies_on_topic(stage.bootstrap, stage.topic, event_id) == 0

    await stage.booking.start()
    await _outbox_drained(stage, "the new process published the event")
    assert await copies_on_topic(stage.bootstrap, stage.topic, event_id) == 1
    assert await _consumed_since(stage, before, copies=1) == (1, 0)
    contact = await stage.contact(client_id)
    assert contact is not None and contact["phones"] == [phone]


async def test_killed_after_the_publish_before_the_mark_the_consumer_applies_it_once(
    stage: Stage,
) -> None:
    await stage.booking.migrate()
    phone = _phone()
    before = await stage.consumed()

    async with stage.connection() as leader, stage.connection() as blocker:
        event_id, client_id = await _commit_unpublished(stage, leader, phone)
        # Lock the row: the relay can still read and publish it, but its delete must wait.
        await blocker.execute(sa.text("SELECT id FROM outbox FOR UPDATE"))
        me = await blocker.scalar(sa.text("SELECT pg_backend_pid()"))
        await leader.scalar(sa.select(sa.func.pg_advisory_unlock(BOOKING_RELAY_LOCK)))
        await leader.commit()

        async def relay_waits_to_delete() -> bool:
            waiting = await leader.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"
                    " AND query ILIKE 'DELETE FROM outbox%'"
                ),
                {"me": me},
            )
            await leader.commit()
            return bool(waiting)

        await wait_until(relay_waits_to_delete, timeout=30, message="the relay's delete waits")
        # It deletes only after every send of the batch was acknowledged.
        assert await copies_on_topic(stage.bootstrap, stage.topic, event_id) == 1
        await stage.booking.kill()
        await blocker.rollback()

    # Acknowledged by Kafka, never marked: the row is still there.
    assert await stage.outbox() == [(event_id, stage.topic)]

    await stage.booking.start()
    await _outbox_drained(stage, "the new process published the event again")
    assert await copies_on_topic(stage.bootstrap, stage.topic, event_id) == 2
    assert await _consumed_since(stage, before, copies=2) == (1, 1)
    contact = await stage.contact(client_id)
    assert contact is not None and contact["phones"] == [phone]
