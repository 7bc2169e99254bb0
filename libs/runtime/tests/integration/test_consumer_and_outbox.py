"""The runtime's consumption and outbox guarantees, against real Kafka and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber
from aiokafka.structs import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import CallTagged, Envelope, make_envelope
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.db import ensure_database, make_metadata
from switchboard_runtime.kafka import acknowledged, ensure_topics, make_broker, partition_for
from switchboard_runtime.outbox import add_events
from switchboard_runtime.service import ServiceRuntime
from switchboard_runtime.settings import ServiceSettings, service_config
from switchboard_runtime.testing import fail_next_publish, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

metadata = make_metadata()
items = sa.Table(
    "items",
    metadata,
    sa.Column("item_id", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "runtime-probe"
    model_config = service_config("PROBE_")


async def _runtime(topic: str) -> ServiceRuntime:
    settings = ProbeSettings()
    await ensure_database(settings.service_database_url)
    runtime = ServiceRuntime(settings, migrations_dir=None, topics=[topic], configure_logs=False)
    async with runtime.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)

    def parse(delivery: Delivery) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(delivery.value)
        if value.get("value") == "poison":
            raise PermanentError("poison", "the test said so")
        return value

    async def handle(session: AsyncSession, value: dict[str, Any]) -> None:
        await session.execute(sa.insert(items).values(item_id=value["id"], value=value["value"]))

    runtime.subscribe(
        topics=[topic], group="probe", parse=parse, dedupe_key=lambda v: v["id"], handle=handle
    )
    return runtime


async def _count(runtime: ServiceRuntime, prefix: str) -> int:
    async with runtime.sessions() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(items)
                .where(items.c.item_id.like(f"{prefix}%"))
            )
            or 0
        )


async def test_duplicates_are_applied_once_and_bad_messages_are_dead_lettered(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    topic = f"probe.{uuid.uuid4().hex[:6]}"
    prefix = uuid.uuid4().hex[:6]
    physical = settings_env["TOPIC_PREFIX"] + topic
    runtime = await _runtime(topic)
    dlq = await topic_reader(f"{topic}.dlq.probe")
    producer = AIOKafkaProducer(bootstrap_servers=settings_env["KAFKA_BOOTSTRAP_SERVERS"])
    await producer.start()
    await runtime.start()
    try:
        messages = [
            {"id": f"{prefix}-1", "value": "a"},
            {"id": f"{prefix}-2", "value": "b"},
            {"id": f"{prefix}-1", "value": "a"},  # the same message delivered twice
            {"id": f"{prefix}-3", "value": "poison"},
            {"id": f"{prefix}-4", "value": "d"},
        ]
        for m in messages:
            await producer.send_and_wait(physical, json.dumps(m).encode(), key=b"k")
        await producer.send_and_wait(physical, b"{not json", key=b"k")

        await wait_until(lambda: _is(runtime, prefix, 3), message="3 items applied")
        records = await dlq.wait_for(lambda r: len(r) >= 2, message="2 dead letters")
        reasons = sorted(dict(r.headers)["x-dlq-reason"].decode() for r in records)
        assert reasons == ["poison", "unparseable"]
        assert {r.value for r in records} == {json.dumps(messages[3]).encode(), b"{not json"}
    finally:
        await runtime.stop()
    # Restarting resumes after the committed offsets: nothing is applied again.
    again = await _runtime(topic)
    await again.start()
    try:
        await producer.send_and_wait(
            physical, json.dumps({"id": f"{prefix}-5", "value": "e"}).encode(), key=b"k"
        )
        await wait_until(lambda: _is(again, prefix, 4), message="the new item applied")
        assert len(dlq.records) == 2
    finally:
        await again.stop()
        await producer.stop()


async def _is(runtime: ServiceRuntime, prefix: str, expected: int) -> bool:
    return await _count(runtime, prefix) == expected


def _tagged(call_id: str, tag: str) -> Envelope[CallTagged]:
    """An event to stage in the outbox (any contract event would do)."""
    return make_envelope(
        CallTagged(call_id=call_id, tags=[tag], source="test", tagged_at=datetime.now(UTC)),
        producer="test",
        occurred_at=datetime.now(UTC),
        correlation_id=call_id,
    )


async def test_outbox_publishes_committed_events_only(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    topic = f"probe.{uuid.uuid4().hex[:6]}"
    runtime = await _runtime(topic)
    reader = await topic_reader(topic)
    await runtime.start()
    try:
        committed = _tagged("c-1", "booked")
        rolled_back = _tagged("c-2", "lost")
        async with runtime.sessions() as session, session.begin():
            await add_events(session, runtime.settings, [(topic, "c-1", committed)])
        with pytest.raises(RuntimeError):
            async with runtime.sessions() as session, session.begin():
                await add_events(session, runtime.settings, [(topic, "c-2", rolled_back)])
                raise RuntimeError("the handler failed after staging its event")
        runtime.relay.wake()
        records = await reader.wait_for(lambda r: len(r) >= 1, message="the committed event")
        assert [json.loads(r.value)["event_id"] for r in records] == [str(committed.event_id)]
        assert records[0].key == b"c-1"

        # The relay deletes the row once the broker acknowledged it, so just after the
        # record is readable the row may still be there for a moment.
        async def outbox_empty() -> bool:
            async with runtime.sessions() as session:
                return await session.scalar(sa.text("SELECT count(*) FROM outbox")) == 0

        await wait_until(outbox_empty, message="the published row deleted")
    finally:
        await runtime.stop()


async def test_a_relay_whose_publish_failed_publishes_once_kafka_answers_again(
    settings_env: dict[str, str], topic_reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka away longer than the producer's timeout fails a publish; the relay must lead
    again on its next attempt, even though a busy service's pool hands it another
    connection than the one that took the advisory lock."""
    topic = f"probe.{uuid.uuid4().hex[:6]}"
    runtime = await _runtime(topic)
    reader = await topic_reader(topic)
    await runtime.start()
    try:
        # Idle connections in the pool besides the relay's, as a service's consumers and
        # API leave them: the relay's next connection is one of these (the pool is FIFO).
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(3):
                conn = await stack.enter_async_context(runtime.engine.connect())
                await conn.execute(sa.text("SELECT 1"))

        failures = fail_next_publish(runtime.broker, monkeypatch)
        event = _tagged("c-3", "later")
        async with runtime.sessions() as session, session.begin():
            await add_events(session, runtime.settings, [(topic, "c-3", event)])
        runtime.relay.wake()
        records = await reader.wait_for(
            lambda r: len(r) >= 1, timeout=20, message="the event, after the failed publish"
        )
        assert failures == [settings_env["TOPIC_PREFIX"] + topic]
        assert [json.loads(r.value)["event_id"] for r in records] == [str(event.event_id)]
    finally:
        await runtime.stop()


# After a broker restart that outlasted the request timeout with batches in flight,
# aiokafka's idempotent producer can be left with sequence numbers the broker rejects
# (OutOfOrderSequenceNumber) on every later batch of a partition. The test below puts the
# producer in that state the direct way (its next sequence number for a partition moved past
# what the broker expects) and lets the real broker refuse it.


def _aiokafka_producer(broker: Any) -> Any:
    return broker.config.broker_config.producer._producer.producer


@contextlib.asynccontextmanager
async def _probe_broker(topic_reader: Any) -> AsyncIterator[tuple[str, Any, Any]]:
    """A connected broker, a new topic's physical name and a reader of that topic."""
    settings = ProbeSettings()
    topic = f"probe.{uuid.uuid4().hex[:6]}"
    physical = settings.topic(topic)
    await ensure_topics(settings, [physical])
    reader = await topic_reader(topic)
    broker = make_broker(settings)
    await broker.connect()
    try:
        yield physical, reader, broker
    finally:
        await broker.stop()


async def test_a_producer_refused_for_its_sequence_numbers_is_replaced(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    async with _probe_broker(topic_reader) as (physical, reader, broker):
        await broker.publish(b"first", topic=physical, partition=0)
        wedged = _aiokafka_producer(broker)
        wedged._txn_manager.increment_sequence_number(TopicPartition(physical, 0), 5)

        refused = await broker.publish(b"refused", topic=physical, partition=0, no_confirm=True)
        with pytest.raises(OutOfOrderSequenceNumber):
            await refused

        # The caller retries, as every publisher of the platform does.
        await broker.publish(b"retried", topic=physical, partition=0)
        assert _aiokafka_producer(broker) is not wedged
        records = await reader.wait_for(lambda r: len(r) >= 2, message="both accepted events")
        assert [r.value for r in records] == [b"first", b"retried"]


async def test_a_producer_refused_on_the_relays_path_is_replaced_at_the_next_send(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    # send_many (the outbox relay's and the webhook's path) notes the refusal when the
    # caller sends again, as the relay's retry does.
    key = b"call-1"
    partition = partition_for(key, [0, 1, 2], [0, 1, 2])
    async with _probe_broker(topic_reader) as (physical, reader, broker):
        await acknowledged(await broker.send_many([(physical, key, b"first")]))
        wedged = _aiokafka_producer(broker)
        wedged._txn_manager.increment_sequence_number(TopicPartition(physical, partition), 5)

        with pytest.raises(OutOfOrderSequenceNumber):
            await acknowledged(await broker.send_many([(physical, key, b"refused")]))

        await acknowledged(await broker.send_many([(physical, key, b"retried")]))
        assert _aiokafka_producer(broker) is not wedged
        records = await reader.wait_for(lambda r: len(r) >= 2, message="both accepted events")
        assert [r.value for r in records] == [b"first", b"retried"]
