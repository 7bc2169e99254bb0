"""Injected failures for tests that exercise a recovery path against real infrastructure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from switchboard_runtime.kafka import Broker


def fail_next_publish(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``broker``'s next send (``publish`` or ``send_many``) fail as a Kafka outage
    longer than the producer's timeout does (``KafkaTimeoutError``); later sends reach the
    real broker. Returns the list the failed send's topic is appended to, so a test can
    check it happened."""
    publish, send_many = broker.publish, broker.send_many
    failed: list[str] = []

    def fail(topic: str) -> None:
        failed.append(topic)
        raise KafkaTimeoutError("the broker did not acknowledge in time")

    async def publish_failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            fail(kwargs["topic"])
        return await publish(*args, **kwargs)

    async def send_many_failing_once(records: Iterable[tuple[str, bytes | None, bytes]]) -> Any:
        records = list(records)
        if not failed and records:
            fail(records[0][0])
        return await send_many(records)

    monkeypatch.setattr(broker, "publish", publish_failing_once)
    monkeypatch.setattr(broker, "send_many", send_many_failing_once)
    return failed
