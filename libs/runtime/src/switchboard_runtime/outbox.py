"""The transactional outbox and its relay.

A handler that changes the database and publishes events calls :func:`add_events`
with the same session, so the rows and the events commit together (no dual write).
The :class:`OutboxRelay` publishes committed rows in insertion order with the
idempotent producer and deletes them once the broker acknowledged them. A crash
between the acknowledgement and the delete publishes a row again after restart;
consumers drop it by ``event_id``. Only one relay per database publishes at a time
(a PostgreSQL advisory lock), which keeps each key's events in order. A relay that fails
(Kafka away longer than the producer's timeout, a lost connection) closes the database
session that held the lock, so the lock never outlives the attempt that took it.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from switchboard_contracts import Envelope
from switchboard_runtime.db import runtime_tables
from switchboard_runtime.kafka import Broker, acknowledged
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy
from switchboard_runtime.settings import ServiceSettings

log = get_logger(__name__)

OUTBOX, _ = runtime_tables(sa.MetaData())

# One statement for any number of events (arrays, not a VALUES list per count): compiled
# and prepared once; rows are inserted in the order given, so ids grow in that order.
_STAGED = (
    sa.func.unnest(
        sa.bindparam("ids", type_=postgresql.ARRAY(sa.Uuid)),
        sa.bindparam("topics", type_=postgresql.ARRAY(sa.Text)),
        sa.bindparam("keys", type_=postgresql.ARRAY(sa.Text)),
        sa.bindparam("values", type_=postgresql.ARRAY(sa.LargeBinary)),
    )
    .table_valued("event_id", "topic", "key", "value", with_ordinality="n")
    .render_derived(name="staged")
)
_STAGE = sa.insert(OUTBOX).from_select(
    ["event_id", "topic", "key", "value"],
    sa.select(_STAGED.c.event_id, _STAGED.c.topic, _STAGED.c.key, _STAGED.c.value).order_by(
        _STAGED.c.n
    ),
)

# The relay's two statements, built once: building and compiling them per batch showed
# beside the rows' own cost.
_PENDING = (
    sa.select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.value)
    .order_by(OUTBOX.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_PUBLISHED = sa.delete(OUTBOX).where(
    OUTBOX.c.id == sa.func.any(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger)))
)

OUTBOX_PUBLISHED = Counter(
    "switchboard_outbox_published_total", "Events published from the outbox", ["service"]
)
OUTBOX_PENDING = Gauge(
    "switchboard_outbox_pending", "Events in the outbox not yet published", ["service"]
)

#: A relay that failed (Kafka or PostgreSQL away) starts again, forever, after 0.2 s up to 5 s.
RELAY_RETRY = RetryPolicy(first_delay=0.2, max_delay=5.0, log_event="outbox.relay_error")


def outbox_json(envelope: Envelope[Any]) -> bytes:
    """The outbox's value of ``envelope``: its JSON as bytes straight from the serializer
    (``model_dump_json`` is the same bytes decoded to a str, then encoded back)."""
    return envelope.__pydantic_serializer__.to_json(envelope)


async def add_events(
    session: AsyncSession,
    settings: ServiceSettings,
    events: Iterable[tuple[str, str | None, Envelope[Any]]],
) -> None:
    """Stage ``(logical topic, key, envelope)`` triples in the outbox, in the caller's
    transaction. Nothing is published unless that transaction commits."""
    staged = list(events)
    if not staged:
        return
    await session.execute(
        _STAGE,
        {
            "ids": [env.event_id for _, _, env in staged],
            "topics": [settings.topic(topic) for topic, _, _ in staged],
            "keys": [key for _, key, _ in staged],
            "values": [outbox_json(env) for _, _, env in staged],
        },
    )


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, in order, at least once."""

    def __init__(self, engine: AsyncEngine, broker: Broker, settings: ServiceSettings):
        self._engine = engine
        self._broker = broker
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One lock id per service database; any relay replica may take it over.
        self._lock_id = zlib.crc32(f"outbox:{settings.service_name}".encode())

    def wake(self) -> None:
        """Ask the relay to look at the outbox now (called after a commit)."""
        self._wake.set()

    def start(self) -> None:
        """Start the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop after the current batch."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        await RELAY_RETRY.call(self._lead_once)

    async def _lead_once(self) -> None:
        async with self._engine.connect() as conn:
            try:
                await self._lead(conn)
            finally:
                # The advisory lock belongs to the database session, not to this loop: a
                # connection handed back to the pool would keep it, and every later attempt
                # (on another pooled connection) would wait forever for a leader that no
                # longer publishes. Closing the session releases it.
                await conn.invalidate()

    async def _lead(self, conn: AsyncConnection) -> None:
        """Hold the advisory lock and publish until stopped; wait while another leads."""
        interval = self._settings.outbox_poll_interval_seconds
        while not self._stopping:
            got = await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(self._lock_id)))
            await conn.commit()
            if got:
                break
            await asyncio.sleep(interval * 5)
        while not self._stopping:
            published = await self.publish_pending(conn)
            if published < self._settings.outbox_batch_size:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=interval)

    async def publish_pending(self, conn: AsyncConnection) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        rows = (await conn.execute(_PENDING, {"limit": self._settings.outbox_batch_size})).all()
        await conn.commit()
        if not rows:
            OUTBOX_PENDING.labels(self._settings.service_name).set(0)
            return 0
        # Send the whole batch without waiting per message, then wait for every ack:
        # the idempotent producer keeps per-partition order across the pipelined sends.
        # Rows unpacked as tuples (in _PENDING's column order): reading each by name cost
        # more than the rest of preparing its send.
        futures = await self._broker.send_many(
            (topic, key.encode() if key is not None else None, value)
            for _, topic, key, value in rows
        )
        await acknowledged(futures)  # a failure fails the batch: it is published again
        await conn.execute(_PUBLISHED, {"ids": [row[0] for row in rows]})
        await conn.commit()
        OUTBOX_PUBLISHED.labels(self._settings.service_name).inc(len(rows))
        return len(rows)
