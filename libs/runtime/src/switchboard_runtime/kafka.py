"""Kafka wiring: the one FastStream broker factory, topic creation, and publishing.

Every Kafka client of a service, FastStream's and the raw aiokafka ones (topic admin,
catch-up checks, analytics' replay), connects through :func:`kafka_client_kwargs`, so
SASL/SCRAM and TLS (``KAFKA_SECURITY_PROTOCOL`` …) apply to all of them alike.

Producer settings are chosen once here for every service: ``acks="all"`` with the
idempotent producer, so a retried send never duplicates or reorders a partition; a
producer the broker no longer accepts is replaced (:class:`Broker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner, murmur2
from faststream._internal.parser import DefaultCodec
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import SASLScram512

from switchboard_runtime.logging import get_logger
from switchboard_runtime.settings import ServiceSettings

log = get_logger(__name__)

#: Partitions for topics created by the services themselves (local runs and tests);
#: in Kubernetes the Strimzi KafkaTopic resources decide.
DEFAULT_PARTITIONS = 3


#: The header every record the services send carries (FastStream's publish adds it too).
_JSON_HEADERS = [("content-type", b"application/json")]
_JSON_HEADER = {"content-type": "application/json"}

#: Errors after which aiokafka's idempotent producer cannot send on that partition again
#: (its sequence numbers no longer match the broker's): only a new producer session helps.
_WEDGING = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, ProducerFenced)


class Broker(KafkaBroker):
    """FastStream's Kafka broker whose producer is replaced when it can no longer send.

    After a broker restart that outlasted the request timeout with batches in flight,
    aiokafka's idempotent producer can fail every later batch of a partition with
    ``OutOfOrderSequenceNumber`` (the Java client starts a new producer session then;
    aiokafka does not), and a sender that died fails every send. When a publish or one of
    its acknowledgements fails that way, the next publish first replaces the producer with
    a new one of the same settings. The failure itself is raised as usual: every caller
    retries (outbox relay, webhook, AMI, dead-lettering) and the retry finds a live producer.
    """

    _wedged = False
    _renewing: asyncio.Lock | None = None
    #: Futures :meth:`send_many` returned that were not yet settled at its last call.
    _unsettled: tuple[asyncio.Future[Any], ...] = ()

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        if self._wedged or self.producer_dead():
            await self._renew_producer()
        try:
            result = await super().publish(*args, **kwargs)
        except _WEDGING:
            self._wedged = True
            raise
        if isinstance(result, asyncio.Future):
            result.add_done_callback(self._note_wedging)
        return result

    async def send_many(
        self, records: Iterable[tuple[str, bytes | None, bytes]]
    ) -> list[asyncio.Future[Any]]:
        """Send ``(topic, key, value)`` records as JSON, pipelined, and return the futures of
        their acknowledgements (wait with :func:`acknowledged`).

        The same producer and guarantees as :meth:`publish` (acks=all, idempotent, a wedged
        producer replaced first), without FastStream's per-message middleware: the outbox
        relay and the webhook send thousands of records a second, and that middleware was
        most of their cost per record. Whether an acknowledgement failed in a way that
        wedges the producer is read off the earlier calls' futures when the next call comes
        (a caller's retry), not by a callback per future: a callback per record, scheduled
        on the event loop when its batch is acknowledged, cost as much as the send itself.
        """
        unsettled = []
        for future in self._unsettled:
            if not future.done():
                unsettled.append(future)
            elif _wedging(future):
                self._wedged = True
        self._unsettled = tuple(unsettled)
        if self._wedged or self.producer_dead():
            await self._renew_producer()
        producer = self._aiokafka_producer()
        if producer is None:  # not connected the way this version of FastStream does it
            return [
                await self.publish(
                    value, topic=topic, key=key, headers=_JSON_HEADER, no_confirm=True
                )
                for topic, key, value in records
            ]
        futures: list[asyncio.Future[Any]] = []
        try:
            for topic, key, value in records:
                futures.append(await producer.send(topic, value, key=key, headers=_JSON_HEADERS))
        except _WEDGING:
            self._wedged = True
            raise
        finally:
            self._unsettled += tuple(futures)
        return futures

    def _aiokafka_producer(self) -> AIOKafkaProducer | None:
        state = getattr(self.config.broker_config.producer, "_producer", None)
        producer = getattr(state, "producer", None)
        return producer if isinstance(producer, AIOKafkaProducer) else None

    def _note_wedging(self, future: asyncio.Future[Any]) -> None:
        if _wedging(future):
            self._wedged = True

    def producer_dead(self) -> bool:
        """Whether the connected producer's sender has stopped (it can no longer send)."""
        sender = getattr(self._aiokafka_producer(), "_sender", None)
        task = getattr(sender, "sender_task", None)
        return task is not None and task.done()

    async def _renew_producer(self) -> None:
        if self._renewing is None:
            self._renewing = asyncio.Lock()
        async with self._renewing:
            if not (self._wedged or self.producer_dead()):
                return  # another publish renewed it meanwhile
            config = self.config.broker_config
            # The old producer's pending batches fail with it; closing must not hang.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(config.producer.disconnect(), timeout=10)
            await config.producer.connect(
                AIOKafkaProducer(**self._connection_kwargs),
                serializer=config.fd_config._serializer,
                codec=config.broker_codec or DefaultCodec(),
            )
            self._wedged = False
        log.warning("kafka.producer_renewed")


def kafka_security(settings: ServiceSettings) -> SASLScram512 | None:
    """The SASL/SCRAM-SHA-512 credentials (and TLS) the settings ask for; ``None`` for
    ``PLAINTEXT``."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    tls = settings.kafka_security_protocol == "SASL_SSL"
    return SASLScram512(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        # Verifies the brokers' certificates and host names against the CA bundle.
        ssl_context=ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if tls else None,
        use_ssl=tls,
    )


def kafka_client_kwargs(settings: ServiceSettings) -> dict[str, Any]:
    """Where and how to connect, as keyword arguments of any aiokafka client
    (``AIOKafkaProducer``, ``AIOKafkaConsumer``, ``AIOKafkaAdminClient``)."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        **parse_security(kafka_security(settings)),
    }


_DEFAULT_PARTITIONER = DefaultPartitioner()


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF  # type: ignore[no-any-return]


def partition_for(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (the Java client's murmur2 of the key), with each
    key's hash remembered: the hash is pure Python, and a call's events all carry its id
    as their key, so the relay hashed the same few bytes for every event of a call."""
    if key is None:
        return _DEFAULT_PARTITIONER(key, all_partitions, available)  # type: ignore[no-any-return]
    return all_partitions[_key_hash(key) % len(all_partitions)]


def make_broker(settings: ServiceSettings) -> Broker:
    """The service's FastStream Kafka broker (one producer, any number of subscribers)."""
    return Broker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=f"switchboard-{settings.service_name}",
        acks="all",
        enable_idempotence=True,
        # A few milliseconds of batching multiplies throughput at negligible latency.
        linger_ms=2,
        # Bytes of one partition's record batch (aiokafka's default is 16 KiB): a relay
        # round of 2 000 events is then a few batches and produce requests, not dozens.
        # Far below the broker's 1 MB message limit; it adds no waiting, only room.
        max_batch_size=256 * 1024,
        partitioner=partition_for,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
        graceful_timeout=10.0,
        # Through the root logger, so FastStream's lines are JSON and scrubbed like ours;
        # its per-message lines are DEBUG: at thousands of events a second they are noise.
        logger=logging.getLogger("faststream.switchboard"),
        log_level=logging.DEBUG,
    )


def _wedging(future: asyncio.Future[Any]) -> bool:
    """Whether ``future`` (an acknowledgement) failed in a way that wedges the producer."""
    return future.done() and not future.cancelled() and isinstance(future.exception(), _WEDGING)


async def acknowledged(futures: Iterable[Awaitable[Any]]) -> None:
    """Wait for every send's acknowledgement (futures of ``publish(..., no_confirm=True)``
    or :meth:`Broker.send_many`); raise the first failure only once all have settled, so
    none is left unretrieved.

    One after the other, in order: the records of one producer batch are acknowledged
    together, so this waits once per batch, where ``asyncio.gather`` put a callback on
    every future (one event-loop callback per record when its batch is acknowledged).
    """
    failed: BaseException | None = None
    for awaitable in futures:
        future = asyncio.ensure_future(awaitable)
        if not future.done():
            await asyncio.wait([future])
        outcome = asyncio.CancelledError() if future.cancelled() else future.exception()
        if failed is None:
            failed = outcome
    if failed is not None:
        raise failed


async def ensure_topics(
    settings: ServiceSettings,
    topics: Iterable[str],
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
) -> None:
    """Create the topics that do not exist yet (idempotent, safe to race)."""
    wanted = sorted(set(topics))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(**kafka_client_kwargs(settings), request_timeout_ms=30_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        # Another process may create the same topic at the same moment: that is fine.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(name=t, num_partitions=partitions, replication_factor=replication)
                    for t in missing
                ]
            )
        log.info("kafka.topics_created", topics=missing)
    finally:
        await admin.close()


class CatchUp:
    """Has consumer ``group`` read ``topic`` up to where the topic ended a moment ago?

    A process that acts on time passing (deadlines, timeouts) must not act, after a
    restart, on events its consumer has not read yet: while it was down the topic kept
    filling. :meth:`reached` compares the group's committed offsets with the end offsets
    the topic had at the previous call (so a steady stream cannot keep it from ever
    arriving); once reached it stays reached for the life of the process. Kafka
    unreachable counts as not reached.
    """

    def __init__(self, settings: ServiceSettings, topic: str, group: str) -> None:
        self._connection = kafka_client_kwargs(settings)
        self._topic = topic
        self._group = group
        self._targets: dict[int, int] | None = None
        self.done = False

    async def reached(self) -> bool:
        if self.done:
            return True
        try:
            ends, committed = await self._offsets()
        except Exception as exc:
            log.info("kafka.catch_up_unknown", topic=self._topic, error=repr(exc))
            return False
        targets, self._targets = self._targets, ends
        if targets is None:
            return False
        self.done = all(committed.get(p, 0) >= end for p, end in targets.items())
        if self.done:
            log.info("kafka.caught_up", topic=self._topic, group=self._group)
        return self.done

    async def _offsets(self) -> tuple[dict[int, int], dict[int, int]]:
        """The topic's end offset and the group's committed offset, per partition."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        admin = AIOKafkaAdminClient(**self._connection, request_timeout_ms=5_000)
        consumer = AIOKafkaConsumer(
            **self._connection, enable_auto_commit=False, request_timeout_ms=5_000
        )
        await admin.start()
        try:
            await consumer.start()
            try:
                [described] = await admin.describe_topics([self._topic])
                partitions = [
                    TopicPartition(self._topic, p["partition"]) for p in described["partitions"]
                ]
                ends = await consumer.end_offsets(partitions)
            finally:
                await consumer.stop()
            offsets = await admin.list_consumer_group_offsets(self._group, partitions=partitions)
        finally:
            await admin.close()
        return (
            {tp.partition: end for tp, end in ends.items()},
            {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0},
        )
