"""``CatchUp`` against real Kafka: reached only once the group has committed everything the
topic held at the previous look, and reached for good after that."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from switchboard_runtime.kafka import CatchUp, ensure_topics
from switchboard_runtime.settings import ServiceSettings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _commit_up_to(bootstrap: str, topic: str, group: str, offsets: dict[int, int]) -> None:
    """Commit ``offsets`` for ``group`` as its consumer would after processing."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        await consumer.commit({TopicPartition(topic, p): o for p, o in offsets.items()})
    finally:
        await consumer.stop()


async def test_reached_once_the_group_has_read_what_the_topic_held(
    settings_env: dict[str, str],
) -> None:
    bootstrap = settings_env["KAFKA_BOOTSTRAP_SERVERS"]
    topic = f"{settings_env['TOPIC_PREFIX']}catchup.{uuid.uuid4().hex[:6]}"
    group = f"{settings_env['TOPIC_PREFIX']}catchup-group"
    await ensure_topics(ServiceSettings(kafka_bootstrap_servers=bootstrap), [topic], partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, b"x", partition=i % 2)
    finally:
        await producer.stop()
    # Partition 0 holds 3 records, partition 1 holds 2.
    catch_up = CatchUp(ServiceSettings(kafka_bootstrap_servers=bootstrap), topic, group)

    assert not await catch_up.reached()  # the first look only notes where the topic ends
    assert not await catch_up.reached()  # nothing committed yet
    await _commit_up_to(bootstrap, topic, group, {0: 3, 1: 1})
    assert not await catch_up.reached()  # partition 1 still has a record to read
    await _commit_up_to(bootstrap, topic, group, {1: 2})
    assert await catch_up.reached()
    assert catch_up.done

    # Reached for good: later records do not take it back.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"y", partition=0)
    finally:
        await producer.stop()
    assert await catch_up.reached()


async def test_kafka_out_of_reach_is_not_reached() -> None:
    catch_up = CatchUp(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:9"), "nowhere", "nobody")
    assert not await catch_up.reached()
    assert not await catch_up.reached()
    assert not catch_up.done
