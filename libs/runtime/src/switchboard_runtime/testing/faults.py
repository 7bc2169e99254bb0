"""Injected failures for tests that exercise a recovery path against real infrastructure."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from faststream.kafka import KafkaBroker


def fail_next_publish(broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``broker``'s next publish fail as a Kafka outage longer than the producer's
    timeout does (``KafkaTimeoutError``); later publishes reach the real broker. Returns
    the list the failed publish's topic is appended to, so a test can check it happened."""
    publish = broker.publish
    failed: list[str] = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(kwargs["topic"])
            raise KafkaTimeoutError("the broker did not acknowledge in time")
        return await publish(*args, **kwargs)

    monkeypatch.setattr(broker, "publish", failing_once)
    return failed
