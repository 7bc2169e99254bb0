"""Idempotent consumption with bounded retries and a dead-letter topic.

:func:`subscribe` wires one handler to one or more topics for one consumer group.
Each batch fetched from Kafka is processed in one database transaction that also
records the dedupe key of every message in ``processed_events``; the Kafka offsets
are committed only after that transaction commits. So a crash anywhere replays at
most the uncommitted batch, and the replay finds its keys already processed.

Failures are of two kinds:

* the infrastructure is away (PostgreSQL restarting, a dropped connection): the
  batch is retried with bounded back-off (:data:`INFRA_RETRY`) until it goes through;
  nothing is skipped;
* the message itself is bad (cannot be parsed, or the handler rejects it): it is
  retried ``consumer_max_attempts`` times alone, then published to
  ``<topic>.dlq.<group>`` with the original bytes and the reason, and the partition
  moves on.
"""

from __future__ import annotations

import asyncio
import collections
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_contracts import dlq_topic
from switchboard_runtime.db import runtime_tables
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy
from switchboard_runtime.settings import ServiceSettings

log = get_logger(__name__)

_, PROCESSED = runtime_tables(sa.MetaData())

# One statement for a whole batch, whatever its size: the ids travel as one array, so the
# statement is compiled and prepared once (a VALUES list per batch size was a fifth of a
# busy consumer's CPU, spent compiling). Core, not text: a rebuild's schema translation
# must reach it.
_MARK_PROCESSED = (
    pg_insert(PROCESSED)
    .from_select(
        ["consumer_group", "event_id"],
        sa.select(
            sa.bindparam("group", type_=sa.Text),
            sa.func.unnest(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text))),
        ),
    )
    .on_conflict_do_nothing()
    .returning(PROCESSED.c.event_id)
)

T = TypeVar("T")

CONSUMED = Counter("switchboard_events_consumed_total", "Messages processed", ["group", "topic"])
DUPLICATES = Counter(
    "switchboard_events_duplicate_total", "Messages dropped as already processed", ["group"]
)
DEAD_LETTERED = Counter(
    "switchboard_events_dead_lettered_total",
    "Messages sent to a dead-letter topic",
    ["group", "topic", "reason"],
)


class PermanentError(Exception):
    """A message that will never be processed, whatever the retries: dead-letter it."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as it arrived: what a parser and the dead-letter topic see."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    @classmethod
    def of(cls, record: Any) -> Delivery:
        """The delivery of an aiokafka ``ConsumerRecord``."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value if record.value is not None else b"",
            headers=tuple(record.headers) if record.headers else (),
            timestamp_ms=record.timestamp,
        )


Parser = Callable[[Delivery], T]
DedupeKey = Callable[[T], str]
Handler = Callable[[AsyncSession, T], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[T]], Awaitable[None]]


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means the infrastructure is away rather than the message is bad."""
    import asyncpg

    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

    transient = (
        # A prepared statement whose plan a schema change invalidated (a rebuild swapping
        # its fresh tables in): SQLAlchemy drops the cache, and the same batch goes through.
        AsyncAdapt_asyncpg_dbapi.InvalidCachedStatementError,
        asyncpg.exceptions.InvalidCachedStatementError,
        sa.exc.OperationalError,
        sa.exc.InterfaceError,
        sa.exc.TimeoutError,
        ConnectionError,
        OSError,
        asyncio.TimeoutError,
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.AdminShutdownError,
    )
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, transient):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


# The three ways a consumer retries. Infrastructure being away and a dead-letter publish are
# waited out however long it takes (skipping would lose the message), from 0.1 s up to 5 s;
# a message that fails on its own gets a few quick tries (``consumer_max_attempts``), then
# the dead-letter topic.
INFRA_RETRY = RetryPolicy(
    first_delay=0.1, max_delay=5.0, retry_on=is_transient, log_event="consumer.infra_unavailable"
)
DLQ_RETRY = RetryPolicy(first_delay=0.1, max_delay=5.0, log_event="consumer.dlq_publish_failed")
MESSAGE_RETRY = RetryPolicy(
    first_delay=0.1,
    retry_on=lambda exc: not isinstance(exc, PermanentError),
    log_event="consumer.message_retried",
    log_level="info",
)


@dataclass
class BatchProcessor(Generic[T]):
    """Processes batches of deliveries for one consumer group (see module doc)."""

    group: str
    sessions: async_sessionmaker[AsyncSession]
    parse: Parser[T]
    dedupe_key: DedupeKey[T]
    handle: Handler[T] | None
    dead_letter: Callable[[Delivery, str, str], Awaitable[None]]
    #: Given instead of ``handle``: receives every fresh value of a batch at once, in
    #: arrival order, so it can load and write a whole batch in a few statements.
    handle_batch: BatchHandler[T] | None = None
    max_attempts: int = 3
    after_commit: Callable[[], None] | None = None

    async def process(self, deliveries: Sequence[Delivery]) -> None:
        """Process a batch; returns once every delivery is committed or dead-lettered."""
        await self.apply(await self.parse_all(deliveries))

    async def parse_all(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, T]]:
        """The first half of :meth:`process`: each delivery with its parsed value, those
        that do not parse dead-lettered. A bulk reader (a rebuild) parses the next batch
        while the database applies this one."""
        parsed: list[tuple[Delivery, T]] = []
        for d in deliveries:
            try:
                parsed.append((d, self.parse(d)))
            except PermanentError as exc:
                await self._dlq(d, exc.reason, exc.detail)
            except Exception as exc:
                await self._dlq(d, "unparseable", repr(exc))
        return parsed

    async def apply(self, parsed: Sequence[tuple[Delivery, T]]) -> None:
        """The second half of :meth:`process`: commit the parsed deliveries in one
        transaction, or, if the batch fails, each alone (dead-lettering what still fails)."""
        if not parsed:
            return
        try:
            await self._with_infra_retry(lambda: self._commit(parsed))
        except Exception as exc:
            log.warning(
                "consumer.batch_failed", group=self.group, error=repr(exc), size=len(parsed)
            )
            for item in parsed:
                await self._process_alone(item)

    async def _process_alone(self, item: tuple[Delivery, T]) -> None:
        delivery, _ = item
        retry = replace(MESSAGE_RETRY, attempts=self.max_attempts)
        try:
            await retry.call(
                lambda: self._with_infra_retry(lambda: self._commit([item])),
                group=self.group,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
            )
        except PermanentError as exc:
            await self._dlq(delivery, exc.reason, exc.detail)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(exc)).strip()
            await self._dlq(delivery, "handler_failed", detail)

    async def _with_infra_retry(self, action: Callable[[], Awaitable[None]]) -> None:
        await INFRA_RETRY.call(action, group=self.group)

    async def _commit(self, items: Sequence[tuple[Delivery, T]]) -> None:
        keyed: dict[str, tuple[Delivery, T]] = {}
        for delivery, value in items:
            keyed.setdefault(self.dedupe_key(value), (delivery, value))
        async with self.sessions() as session, session.begin():
            marked = await session.execute(
                _MARK_PROCESSED, {"group": self.group, "ids": list(keyed)}
            )
            fresh = set(marked.scalars())
            todo = [(d, v) for k, (d, v) in keyed.items() if k in fresh]
            if self.handle_batch is not None:
                if todo:
                    await self.handle_batch(session, [v for _, v in todo])
            elif self.handle is not None:
                for _, value in todo:
                    await self.handle(session, value)
            # One increment per topic and batch: a labelled metric per message showed
            # as an eighth of a batch's Python.
            for topic, count in collections.Counter(d.topic for d, _ in todo).items():
                CONSUMED.labels(self.group, topic).inc(count)
        skipped = len(items) - len(fresh)
        if skipped:
            DUPLICATES.labels(self.group).inc(skipped)
        if self.after_commit is not None:
            self.after_commit()

    async def _dlq(self, delivery: Delivery, reason: str, detail: str) -> None:
        log.warning(
            "consumer.dead_lettered",
            group=self.group,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            reason=reason,
            detail=detail[:500],
        )
        DEAD_LETTERED.labels(self.group, delivery.topic, reason).inc()
        await DLQ_RETRY.call(lambda: self.dead_letter(delivery, reason, detail), group=self.group)


def subscribe(
    broker: KafkaBroker,
    settings: ServiceSettings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    topics: Sequence[str],
    group: str,
    parse: Parser[T],
    dedupe_key: DedupeKey[T],
    handle: Handler[T] | None = None,
    handle_batch: BatchHandler[T] | None = None,
    after_commit: Callable[[], None] | None = None,
) -> BatchProcessor[T]:
    """Subscribe an idempotent, dead-lettering batch handler to logical ``topics``.

    ``group`` is the logical consumer group (the dead-letter topic is named after it);
    ``parse`` turns a :class:`Delivery` into a value or raises :class:`PermanentError`;
    ``dedupe_key`` gives the idempotency key (the envelope's ``event_id``, or a natural
    key for foreign input); ``handle`` applies one value inside the batch transaction, or
    ``handle_batch`` all of a batch's fresh values at once (give exactly one of them).
    """
    if (handle is None) == (handle_batch is None):
        raise ValueError("give exactly one of handle and handle_batch")

    async def dead_letter(delivery: Delivery, reason: str, detail: str) -> None:
        original = delivery.topic.removeprefix(settings.topic_prefix)
        await broker.publish(
            delivery.value,
            topic=settings.topic(dlq_topic(original, group)),
            key=delivery.key,
            headers={
                "x-dlq-reason": reason,
                "x-dlq-detail": detail[:2000],
                "x-original-topic": delivery.topic,
                "x-original-partition": str(delivery.partition),
                "x-original-offset": str(delivery.offset),
                "x-consumer-group": group,
            },
        )

    processor: BatchProcessor[T] = BatchProcessor(
        group=group,
        sessions=sessions,
        parse=parse,
        dedupe_key=dedupe_key,
        handle=handle,
        handle_batch=handle_batch,
        dead_letter=dead_letter,
        max_attempts=settings.consumer_max_attempts,
        after_commit=after_commit,
    )

    async def _raw(msg: Any) -> Any:
        # Leave the bytes alone: parsing (and rejecting) is the processor's job.
        return None

    @broker.subscriber(
        *[settings.topic(t) for t in topics],
        group_id=settings.group(group),
        batch=True,
        max_records=settings.consumer_batch_max_records,
        batch_timeout_ms=50,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw,
        title=f"{group}:{','.join(topics)}",
    )
    async def _on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        deliveries = [
            Delivery.of(r) for r in (records if isinstance(records, tuple) else (records,))
        ]
        if deliveries:
            await processor.process(deliveries)
        await message.ack()

    return processor
