"""The test plugin's topic reader against real Kafka: reading a topic up to its end offsets."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from switchboard_runtime.kafka import ensure_topics
from switchboard_runtime.settings import ServiceSettings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_read_to_end_returns_every_record_of_every_partition(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    topic = f"reader.{uuid.uuid4().hex[:6]}"
    physical = settings_env["TOPIC_PREFIX"] + topic
    bootstrap = settings_env["KAFKA_BOOTSTRAP_SERVERS"]
    await ensure_topics(
        ServiceSettings(kafka_bootstrap_servers=bootstrap), [physical], partitions=3
    )
    sent = [f"record-{n}" for n in range(30)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n, record_id in enumerate(sent):
            await producer.send_and_wait(
                physical, json.dumps({"id": record_id}).encode(), partition=n % 3
            )
    finally:
        await producer.stop()

    reader = await topic_reader(topic)
    records = await reader.read_to_end()

    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(sent)
    assert {r.partition for r in records} == {0, 1, 2}


async def test_read_to_end_of_an_empty_topic_returns_nothing_at_once(
    settings_env: dict[str, str], topic_reader: Any
) -> None:
    topic = f"reader.{uuid.uuid4().hex[:6]}"
    await ensure_topics(
        ServiceSettings(kafka_bootstrap_servers=settings_env["KAFKA_BOOTSTRAP_SERVERS"]),
        [settings_env["TOPIC_PREFIX"] + topic],
    )
    reader = await topic_reader(topic)

    assert await reader.read_to_end(timeout=5) == []
