"""Rebuilding the projection: replay the topics from offset 0 into fresh tables, swap them in.

1. Create every projection table (:data:`~.tables.PROJECTION_TABLES`) in a new schema.
2. Replay the topics from the beginning into it with the live handlers (the same code,
   pointed at the new schema by SQLAlchemy's ``schema_translate_map``), the directory
   first, then touches, appointments, then calls (any order gives the same numbers). The replay runs
   them in ``deferred`` mode: each event only stores its facts, into tables without
   their secondary indexes (nor the roll-ups' primary keys); then one set-based pass
   derives every call row's zone, contact and tags, applies the called-back rule (the
   same pure function) to every missed call and fills the roll-ups from the call log,
   and the indexes and keys are built, on a few connections at once. While one batch is
   applied, the next is fetched and parsed. What arrives after that is applied batch by
   batch, as live.
3. In one transaction: lock the live tables (``processed_events`` first, which is the
   first table the live consumer's transaction touches, so the two cannot deadlock),
   replay what arrived since, and move the live tables out and the fresh ones in.
   The fresh ``processed_events`` lists exactly the events the fresh tables contain,
   so the live consumer, once unblocked, skips those and applies the rest: nothing is
   lost or counted twice across the swap.
4. Drop the old tables (or keep them in their schema with ``keep_old``). The rebuilt ones
   answer from step 3 on (``live_seconds``); the drop takes the time of the old ones' size.

The report gives each step's wall time (``phase_seconds``): where a rebuild's hour goes.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.rollup_deltas import fold_all
from switchboard_analytics.adapters.rollup_tables import KPI_ROLLUP_TABLES, ROLLUP_TABLES
from switchboard_analytics.adapters.tables import PROJECTION_TABLES, call_log, metadata
from switchboard_analytics.handlers import (
    SUBSCRIPTION,
    Projection,
    finish_deferred,
    project_batch,
)
from switchboard_analytics.settings import AnalyticsSettings
from switchboard_contracts import (
    BOOKING_APPOINTMENTS,
    BOOKING_DIRECTORY,
    CRM_TOUCHES,
    TELEPHONY_CALLS,
    TELEPHONY_DIRECTORY,
)
from switchboard_runtime.consumer import BatchProcessor, Delivery
from switchboard_runtime.db import make_engine
from switchboard_runtime.kafka import kafka_client_kwargs
from switchboard_runtime.logging import get_logger
from switchboard_runtime.messaging import event_id_key, parse_contract_event
from switchboard_runtime.progress import Progress

log = get_logger(__name__)

#: Replay order (see the module doc).
REPLAY_ORDER = (
    BOOKING_DIRECTORY,
    TELEPHONY_DIRECTORY,
    CRM_TOUCHES,
    BOOKING_APPOINTMENTS,
    TELEPHONY_CALLS,
)

#: Records per batch of the replay.
REPLAY_BATCH_RECORDS = 5000
#: Records parsed between two turns of the event loop while a batch is applied (a few
#: milliseconds of parsing: the applying batch's next statement waits no longer).
PARSE_SLICE = 250

#: Indexes built after the replay and the set-based pass, not row by row during them
#: (the call log's trigram and tag indexes most of all): what a bulk load does. The
#: replay looks calls up by primary key only; touches by call id (kept).
DEFERRED_INDEXES = tuple(
    index for table in (call_log, *ROLLUP_TABLES, *KPI_ROLLUP_TABLES) for index in table.indexes
)
#: Primary keys built after the set-based pass too: the roll-ups' (the pass fills them
#: with plain INSERTs, one row per key; the replay never touches them).
DEFERRED_KEYS = tuple(table.primary_key for table in (*ROLLUP_TABLES, *KPI_ROLLUP_TABLES))
#: Connections that build the deferred indexes and keys at once.
INDEX_BUILDERS = 3


@dataclass
class RebuildReport:
    """What a rebuild did."""

    schema: str
    events: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Wall seconds until the rebuilt tables were swapped in and answering (the drop of
    #: the replaced ones follows: its time is the size of what they held, not the replay's).
    live_seconds: float = 0.0
    calls: int = 0
    kept_old_schema: str | None = None
    #: Wall seconds of each step, in order (where a rebuild's time goes).
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return {
            "rebuilt_in_schema": self.schema,
            "events_replayed": self.events,
            "events_skipped": len(self.skipped),
            "calls": self.calls,
            "seconds": round(self.seconds, 2),
            "seconds_until_live": round(self.live_seconds, 2),
            "phase_seconds": {name: round(s, 2) for name, s in self.phases.items()},
            "old_tables_kept_in": self.kept_old_schema,
        }

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall time of the block to ``phase`` (see :attr:`phases`)."""
        began = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - began
            self.phases[phase] = self.phases.get(phase, 0.0) + spent


def _quote(engine: AsyncEngine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


class _Replay:
    """Reads this deployment's topics from offset 0 and applies them to the fresh tables."""

    def __init__(
        self,
        settings: AnalyticsSettings,
        processor: BatchProcessor[Any],
        progress: Progress | None = None,
    ):
        self.settings = settings
        self.processor = processor
        self.progress = progress
        self.events = 0
        self._consumer: Any = None
        self._by_topic: dict[str, list[Any]] = {}

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        self._consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(self.settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A bulk load: batches ten times the live consumer's (nobody waits for an
            # event here, and each batch's transaction and statements cost the same).
            max_poll_records=REPLAY_BATCH_RECORDS,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # A fetch of partitions at their end waits this long for a record on the
            # broker, and the end offsets each drain asks for queue behind it on the same
            # connection: at the default 500 ms every step and the swap (under the lock
            # that stalls the live consumer) waited half a second for nothing.
            fetch_max_wait_ms=20,
        )
        await self._consumer.start()
        partitions = await self._partitions([self.settings.topic(t) for t in REPLAY_ORDER])
        for logical in REPLAY_ORDER:
            physical = self.settings.topic(logical)
            self._by_topic[logical] = [
                TopicPartition(physical, p) for p in partitions.get(physical, [])
            ]
        everything = [tp for tps in self._by_topic.values() for tp in tps]
        self._consumer.assign(everything)
        if everything:
            await self._consumer.seek_to_beginning(*everything)
            self._consumer.pause(*everything)
            await self._count_total(everything)

    async def _count_total(self, tps: Sequence[Any]) -> None:
        """Tell the progress how many records the partitions hold from their start to
        their current end (what a replay will read; more may arrive meanwhile)."""
        if self.progress is None or not tps:
            return
        first = await self._consumer.beginning_offsets(list(tps))
        end = await self._consumer.end_offsets(list(tps))
        total = sum(end[tp] - first[tp] for tp in tps)
        self.progress.set_total(max(total, self.events))

    async def _partitions(self, topics: list[str]) -> dict[str, list[int]]:
        """The partitions of each topic that exists (a missing topic has no history)."""
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(**kafka_client_kwargs(self.settings))
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [t for t in topics if t in existing]
            described = await admin.describe_topics(wanted) if wanted else []
        finally:
            await admin.close()
        return {
            d["topic"]: sorted(p["partition"] for p in d["partitions"])
            for d in described
            if not d.get("error_code")
        }

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def replay_in_order(self) -> None:
        """Each topic up to its end as of now, directory first."""
        for logical in REPLAY_ORDER:
            tps = self._by_topic[logical]
            if tps:
                self._consumer.resume(*tps)
                await self.drain(tps)

    async def catch_up(self) -> None:
        """Every topic up to its end as of now."""
        everything = [tp for tps in self._by_topic.values() for tp in tps]
        await self._count_total(everything)
        await self.drain(everything)

    async def drain(self, tps: Sequence[Any]) -> None:
        """Consume (every resumed partition) until ``tps`` reach their current end offsets.

        A pipeline of two: while the database applies one batch, the next is fetched and
        parsed (the parsing is Python's largest share of a replay, the applying mostly
        PostgreSQL's), and batches are still applied one after the other, in order.
        """
        if not tps:
            return
        end = await self._consumer.end_offsets(list(tps))
        applying: asyncio.Task[None] | None = None
        try:
            while [tp for tp in tps if await self._consumer.position(tp) < end[tp]]:
                batches = await self._consumer.getmany(timeout_ms=500)
                deliveries = [Delivery.of(r) for records in batches.values() for r in records]
                if not deliveries:
                    continue
                parsed = await self._parse(deliveries)
                if applying is not None:
                    await applying
                applying = asyncio.create_task(self._apply(parsed, len(deliveries)))
        except BaseException:
            if applying is not None:
                applying.cancel()
                await asyncio.gather(applying, return_exceptions=True)
            raise
        if applying is not None:
            await applying

    async def _parse(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, Any]]:
        parsed: list[tuple[Delivery, Any]] = []
        for start in range(0, len(deliveries), PARSE_SLICE):
            parsed += await self.processor.parse_all(deliveries[start : start + PARSE_SLICE])
            # Let the batch being applied send its next statement meanwhile.
            await asyncio.sleep(0)
        return parsed

    async def _apply(self, parsed: Sequence[tuple[Delivery, Any]], records: int) -> None:
        await self.processor.apply(parsed)
        self.events += records
        if self.progress is not None:
            self.progress.advance(records)


async def _build_deferred(engine: AsyncEngine) -> None:
    """Build the deferred indexes and keys, on :data:`INDEX_BUILDERS` connections at once
    (the call log's, the largest, spread over them)."""
    ddl: list[Any] = [sa.schema.CreateIndex(index) for index in DEFERRED_INDEXES]
    ddl += [sa.schema.AddConstraint(key) for key in DEFERRED_KEYS]

    async def build(share: Sequence[Any]) -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
            for statement in share:
                await conn.execute(statement)

    async with asyncio.TaskGroup() as group:
        for n in range(INDEX_BUILDERS):
            group.create_task(build(ddl[n::INDEX_BUILDERS]))


async def _swap(engine: AsyncEngine, replay: _Replay, live: str, fresh: str, retired: str) -> None:
    """In one transaction: lock the live tables, replay what arrived since, move the live
    tables to ``retired`` and the fresh ones in (see the module doc)."""
    q = functools.partial(_quote, engine)
    async with engine.connect() as conn, conn.begin():
        live_tables = ", ".join(f"{q(live)}.{q(t.name)}" for t in PROJECTION_TABLES)
        await conn.execute(sa.text(f"LOCK TABLE {live_tables} IN ACCESS EXCLUSIVE MODE"))
        await replay.catch_up()
        await conn.execute(sa.text(f"CREATE SCHEMA {q(retired)}"))
        for source, target in ((live, retired), (fresh, live)):
            for table in PROJECTION_TABLES:
                moved = f"{q(source)}.{q(table.name)}"
                await conn.execute(sa.text(f"ALTER TABLE {moved} SET SCHEMA {q(target)}"))


async def _settled_calls(conn: AsyncConnection, schema: str) -> int:
    """How many settled calls the call log in ``schema`` holds."""
    table = f"{_quote(conn.engine, schema)}.call_log"
    count = sa.text(f"SELECT count(*) FROM {table} WHERE ended_at IS NOT NULL")  # noqa: S608
    return int(await conn.scalar(count) or 0)


async def rebuild(
    settings: AnalyticsSettings,
    projection: Projection,
    *,
    keep_old: bool = False,
    progress: Callable[[str], None] | None = None,
    terminal: bool | None = None,
) -> RebuildReport:
    """Replay the topics into fresh tables and swap them in (see the module doc).

    ``progress`` gets a line per step, with the step's wall time (the report keeps them
    too: :attr:`RebuildReport.phases`); the replay itself shows events done of the total,
    the rate and the time left (:class:`~switchboard_runtime.progress.Progress`: a bar on
    a terminal, a log line every few seconds otherwise; ``terminal`` forces either).
    """
    say = progress or (lambda message: log.info("rebuild.progress", step=message))
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + uuid4().hex[:6]
    fresh, retired = f"analytics_rebuild_{stamp}", f"analytics_retired_{stamp}"
    report = RebuildReport(schema=fresh)
    timed = report.timed
    engine = make_engine(settings.service_database_url, pool_size=4)

    def q(name: str) -> str:
        return _quote(engine, name)

    def took(phase: str) -> str:
        return f"{report.phases[phase]:.1f} s"

    try:
        with timed("create"):
            async with engine.begin() as conn:
                live = str(await conn.scalar(sa.text("SELECT current_schema()")))
                await conn.execute(sa.text(f"CREATE SCHEMA {q(fresh)}"))
                translated = await conn.execution_options(schema_translate_map={None: fresh})
                await translated.run_sync(
                    lambda sync: metadata.create_all(sync, tables=list(PROJECTION_TABLES))
                )
                for index in DEFERRED_INDEXES:
                    await conn.execute(sa.text(f"DROP INDEX {q(fresh)}.{q(str(index.name))}"))
                for key in DEFERRED_KEYS:
                    await translated.execute(sa.schema.DropConstraint(key))
        say(f"created the projection tables in schema {fresh} ({took('create')})")

        fresh_engine = engine.execution_options(schema_translate_map={None: fresh})
        sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            fresh_engine, expire_on_commit=False
        )
        # The fresh tables have one writer: no lock (it would only stall the live
        # consumer). The replay stores facts only; one set-based pass then derives the
        # rest, and what arrives after it is applied batch by batch, as live.
        live_mode = replace(
            projection, serialise=False, deferred=False, worklist_horizon=None, committed=None
        )
        mode = {"projection": replace(live_mode, deferred=True)}

        async def handle_batch(session: AsyncSession, envelopes: list[Any]) -> None:
            await project_batch(session, envelopes, mode["projection"])

        async def skip(delivery: Delivery, reason: str, detail: str) -> None:
            # The live consumer dead-lettered it already; a rebuild only reports it.
            report.skipped.append(f"{delivery.topic}/{delivery.partition}@{delivery.offset}")
            log.warning("rebuild.skipped", topic=delivery.topic, reason=reason, detail=detail[:300])

        processor: BatchProcessor[Any] = BatchProcessor(
            group=SUBSCRIPTION.group,
            sessions=sessions,
            parse=parse_contract_event,
            dedupe_key=event_id_key,
            handle=None,
            handle_batch=handle_batch,
            dead_letter=skip,
            max_attempts=settings.consumer_max_attempts,
        )
        counter = Progress("rebuild.replay", unit="events", terminal=terminal)
        replay = _Replay(settings, processor, counter)
        await replay.start()
        try:
            with timed("replay"), counter:
                await replay.replay_in_order()
                await replay.catch_up()
            replay.progress = None
            say(f"replayed {replay.events} events ({took('replay')})")
            with timed("derive"):
                await finish_deferred(sessions, live_mode)
            say(f"derived the call-backs and the roll-ups ({took('derive')})")
            with timed("indexes"):
                await _build_deferred(fresh_engine)
            say(f"built the indexes ({took('indexes')})")
            mode["projection"] = live_mode
            with timed("catch_up"):
                await replay.catch_up()
                await fold_all(sessions, wait=True)
            say(f"caught up at {replay.events} events ({took('catch_up')}); swapping")
            with timed("swap"):
                await _swap(engine, replay, live, fresh, retired)
                # What the swap's last catch-up recorded (a running service folds it too).
                await fold_all(async_sessionmaker(engine, expire_on_commit=False), wait=True)
            report.live_seconds = time.monotonic() - started
            say(
                f"swapped in the rebuilt tables ({took('swap')}); they answer after "
                f"{report.live_seconds:.1f} s"
            )
        finally:
            await replay.stop()
        report.events = replay.events
        with timed("drop"):
            async with engine.begin() as conn:
                await conn.execute(sa.text(f"DROP SCHEMA {q(fresh)}"))
                if keep_old:
                    report.kept_old_schema = retired
                else:
                    await conn.execute(sa.text(f"DROP SCHEMA {q(retired)} CASCADE"))
        with timed("count"):
            async with engine.connect() as conn:
                report.calls = await _settled_calls(conn, live)
        say(f"dropped the replaced tables ({took('drop')}); {report.calls} calls")
    except BaseException:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {q(fresh)} CASCADE"))
        raise
    finally:
        report.seconds = time.monotonic() - started
        await engine.dispose()
    return report
