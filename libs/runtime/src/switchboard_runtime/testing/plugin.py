"""pytest plugin: real Kafka, PostgreSQL and Redis for every test, fresh per run.

Fixtures:

* ``infra`` — the :class:`Endpoints` of this run (printed once, with the broker version);
* ``run_id`` — a short id; topics and consumer groups get the prefix ``t<run_id>.``
  and service databases the suffix ``_<run_id>``, so runs never see each other's data;
* ``settings_env`` — the environment a service under test reads its settings from;
* ``topic_reader`` — reads envelopes back from a topic, waiting for a condition or for
  the end offsets the topic has now;
* ``running_service`` — starts a service's FastAPI app in-process (lifespan and all)
  and gives an ``httpx.AsyncClient`` for it.

Databases made for the run are dropped and its topics deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from switchboard_runtime.testing.infra import Endpoints, resolve_endpoints
from switchboard_runtime.testing.waiting import wait_until

_INFRA_LINE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say which real infrastructure the run used (and the broker's version)."""
    line = config.stash.get(_INFRA_LINE, None)
    if line:
        terminalreporter.section("infrastructure")
        terminalreporter.write_line(line)


def _repo_root(config: pytest.Config) -> Path:
    return Path(str(config.rootpath))


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Endpoints]:
    """Real infrastructure endpoints for this run (see :mod:`..infra` for the order)."""
    endpoints = resolve_endpoints(_repo_root(request.config))
    line = (
        f"infra from {endpoints.source}: Kafka {endpoints.kafka_bootstrap_servers} "
        f"({endpoints.kafka_version}), PostgreSQL {endpoints.database_url}, "
        f"Redis {endpoints.redis_url}"
    )
    request.config.stash[_INFRA_LINE] = line
    yield endpoints
    endpoints.close()


@pytest.fixture(scope="session")
def settings_env(infra: Endpoints, run_id: str) -> Iterator[dict[str, str]]:
    """Environment variables that point a service under test at this run's infra."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "TOPIC_PREFIX": f"t{run_id}.",
        "DATABASE_SUFFIX": f"_{run_id}",
        "LOG_JSON": "false",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    asyncio.run(cleanup_run(infra, run_id))


async def cleanup_run(infra: Endpoints, run_id: str) -> None:
    """Drop every database whose name ends in ``_<run_id>`` and delete every topic whose
    name starts with ``t<run_id>.``: all a run (a test session, a benchmark) made.

    Public so that whatever starts the platform with a run id of its own (the fault tests
    on their own infrastructure, the memory benchmark) leaves nothing behind either.
    """
    import sqlalchemy as sa
    from aiokafka.admin import AIOKafkaAdminClient
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    admin_db = create_async_engine(
        make_url(infra.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin_db.connect() as conn:
        names = (
            (
                await conn.execute(
                    sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                    {"p": f"%\\_{run_id}"},
                )
            )
            .scalars()
            .all()
        )
        for name in names:
            quoted = admin_db.dialect.identifier_preparer.quote(name)
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    await admin_db.dispose()
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(f"t{run_id}.")]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()


class TopicReader:
    """Reads a topic of this run from the beginning and keeps what it saw."""

    def __init__(self, bootstrap: str, topic: str):
        self.topic = topic
        self._bootstrap = bootstrap
        self.records: list[Any] = []
        self._consumer: Any = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self._bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self) -> list[Any]:
        """Fetch whatever arrived since the last poll; returns all records so far."""
        batches = await self._consumer.getmany(timeout_ms=100)
        for records in batches.values():
            self.records.extend(records)
        return self.records

    def values(self) -> list[dict[str, Any]]:
        """The JSON values of every record read so far."""
        return [json.loads(r.value) for r in self.records]

    async def wait_for(
        self,
        predicate: Callable[[list[Any]], bool],
        *,
        timeout: float = 15.0,
        message: str = "records",
    ) -> list[Any]:
        """Poll until ``predicate(records)`` holds; returns the records."""

        async def probe() -> list[Any] | None:
            records = await self.poll()
            return records if predicate(records) else None

        result = await wait_until(probe, timeout=timeout, message=f"{message} on {self.topic}")
        return result or []

    async def end_offsets(self) -> dict[int, int]:
        """Every partition of the topic and the offset its next record will get, as of now."""
        from aiokafka import TopicPartition

        numbers = self._consumer.partitions_for_topic(self.topic)
        assert numbers, f"no partitions known for {self.topic}"
        ends = await self._consumer.end_offsets([TopicPartition(self.topic, p) for p in numbers])
        return {tp.partition: end for tp, end in ends.items()}

    async def read_to_end(self, *, timeout: float = 15.0) -> list[Any]:
        """Poll until every partition is read up to the end offset it has now; returns the
        records.

        Partitions are read independently, so a record seen on one proves nothing of
        another: only reaching each partition's end does. Once nobody is publishing, what
        was read is all the topic holds (a count of copies is then complete).
        """
        ends = await self.end_offsets()

        def reached(records: list[Any]) -> bool:
            last: dict[int, int] = {}
            for record in records:
                last[record.partition] = max(last.get(record.partition, -1), record.offset)
            return all(last.get(partition, -1) >= end - 1 for partition, end in ends.items())

        if reached(self.records):  # nothing to wait for (an empty topic too)
            return self.records
        return await self.wait_for(reached, timeout=timeout, message="records up to the end")


@pytest_asyncio.fixture(loop_scope="session")
async def topic_reader(
    infra: Endpoints, settings_env: dict[str, str]
) -> AsyncIterator[Callable[[str], Awaitable[TopicReader]]]:
    """A factory: ``await topic_reader("telephony.calls")`` reads this run's topic."""
    readers: list[TopicReader] = []

    async def open_reader(logical_topic: str) -> TopicReader:
        reader = TopicReader(
            infra.kafka_bootstrap_servers, settings_env["TOPIC_PREFIX"] + logical_topic
        )
        await reader.start()
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        await reader.stop()


#: Seconds a service may take to stop before :func:`serve` prints what is still running.
STOP_WITHIN = 60.0
#: Where that goes (``None``: the process's standard error, which pytest does not capture).
STOP_REPORT_TO: TextIO | None = None


def _report_slow_stop(title: str) -> None:
    """Print, past the test's output capture, every task of the loop and where it waits:
    a stop that never ends then says what it waits for instead of hanging in silence."""
    out = STOP_REPORT_TO or sys.__stderr__ or sys.stderr
    print(f"\n{title}: still stopping after {STOP_WITHIN:.0f} s; its loop's tasks:", file=out)
    for task in asyncio.all_tasks():
        print(f"  {task.get_name()}:", file=out)
        for where in _awaiting(task.get_coro()):
            print(f"    {where}", file=out)
    out.flush()


def _awaiting(coro: Any) -> list[str]:
    """Where a task waits, outermost first: its coroutine, what that awaits, and so on
    (a task's own stack shows only the outermost)."""
    chain = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        frame = frame or getattr(coro, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            chain.append(f"{code.co_filename}:{frame.f_lineno} {code.co_name}")
        awaited = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "ag_await", None)
            or getattr(coro, "gi_yieldfrom", None)
        )
        if awaited is not None and not hasattr(awaited, "cr_frame") and frame is not None:
            # contextlib's async context managers await their generator's asend/athrow,
            # which do not say what they run: the generator is the manager's ``gen``.
            awaited = getattr(frame.f_locals.get("self"), "gen", None) or awaited
        coro = awaited
    return chain


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an HTTP client talking to it in-process."""
    watchdog: asyncio.TimerHandle | None = None
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                yield client
            watchdog = asyncio.get_running_loop().call_later(
                STOP_WITHIN, _report_slow_stop, app.title
            )
    finally:
        if watchdog is not None:
            watchdog.cancel()


@pytest.fixture(scope="session")
def running_service() -> Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with running_service(app) as client:`` — the service, started for real."""
    return serve
