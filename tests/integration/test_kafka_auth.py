"""Kafka authentication and ACLs on a real broker: ``scripts/infra.sh`` with
``SB_KAFKA_SCRAM=1`` (SASL/SCRAM-SHA-512, StandardAuthorizer, each service's ACLs derived
from its tables), started here on free ports in a temporary directory and stopped at the end.

What an admin checks: a client without credentials (or with a wrong password) gets nothing;
a service writes its own topics and is refused another service's; it cannot read a topic
it does not consume; and a service built with the runtime's broker factory connects with
its credentials and consumes its topic.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from switchboard_booking.settings import BookingSettings
from switchboard_contracts import BOOKING_DIRECTORY, CRM_TOUCHES, TELEPHONY_CALLS
from switchboard_runtime.kafka import acknowledged, kafka_client_kwargs, make_broker
from switchboard_runtime.testing import wait_until
from switchboard_telephony.settings import TelephonySettings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]
INFRA_SH = REPO / "scripts" / "infra.sh"


def _free_port_pair() -> int:
    """A port that is free, and the next one too (the controller listener's)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as controller:
            try:
                controller.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@pytest.fixture(scope="module")
def scram_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The SCRAM broker's ``scripts/infra.sh env`` settings, while it runs."""
    port = _free_port_pair()
    env = {
        **os.environ,
        "SB_INFRA_DIR": str(tmp_path_factory.mktemp("kafka-scram")),
        "SB_KAFKA_PORT": str(port),
        "SB_KAFKA_SCRAM": "1",
        "SB_PYTHON": sys.executable,
        # The jars of the ordinary local instance (downloaded there once if missing).
        "SB_KAFKA_HOME": os.environ.get(
            "SB_KAFKA_HOME", str(REPO / ".cache" / "infra" / "kafka-3.9.1")
        ),
    }
    subprocess.run([str(INFRA_SH), "start-kafka"], env=env, check=True, timeout=300)
    try:
        printed = subprocess.run(
            [str(INFRA_SH), "env"], env=env, check=True, capture_output=True, text=True
        ).stdout
        settings: dict[str, str] = {}
        for line in printed.splitlines():
            for assignment in shlex.split(line)[1:]:  # after "export"
                name, _, value = assignment.partition("=")
                settings[name] = value
        yield settings
    finally:
        subprocess.run([str(INFRA_SH), "stop-kafka"], env=env, check=True, timeout=120)


def _settings(scram_env: dict[str, str], cls: Any, prefix: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": scram_env["KAFKA_BOOTSTRAP_SERVERS"],
        "kafka_security_protocol": scram_env["KAFKA_SECURITY_PROTOCOL"],
        "kafka_sasl_username": scram_env[f"{prefix}KAFKA_SASL_USERNAME"],
        "kafka_sasl_password": scram_env[f"{prefix}KAFKA_SASL_PASSWORD"],
        "topic_prefix": "",
        "kafka_create_topics": False,
    }
    return cls(**{**values, **overrides})


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(
    scram_env: dict[str, str],
) -> None:
    bootstrap = scram_env["KAFKA_BOOTSTRAP_SERVERS"]
    anonymous = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()

    wrong = TelephonySettings(
        kafka_bootstrap_servers=bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="telephony",
        kafka_sasl_password="not-the-password",
    )
    impostor = AIOKafkaProducer(**kafka_client_kwargs(wrong), request_timeout_ms=5_000)
    with pytest.raises(KafkaError):
        await impostor.start()
    await impostor.stop()


async def test_a_service_writes_its_own_topic_and_is_refused_another_services(
    scram_env: dict[str, str],
) -> None:
    telephony = _settings(scram_env, TelephonySettings, "TELEPHONY_")
    producer = AIOKafkaProducer(**kafka_client_kwargs(telephony), acks="all")
    await producer.start()
    try:
        written = await producer.send_and_wait(TELEPHONY_CALLS, b"{}", key=b"call-1")
        assert written.offset >= 0
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(CRM_TOUCHES, b"{}", key=b"call-1")
    finally:
        await producer.stop()


async def test_a_service_cannot_read_a_topic_it_does_not_consume(
    scram_env: dict[str, str],
) -> None:
    telephony = _settings(scram_env, TelephonySettings, "TELEPHONY_")
    consumer = AIOKafkaConsumer(
        CRM_TOUCHES,
        **kafka_client_kwargs(telephony),
        group_id="telephony.directory",  # its own group: the topic is what is refused
        auto_offset_reset="earliest",
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await consumer.start()  # refused when it asks for the topic's partitions
            await asyncio.wait_for(consumer.getmany(timeout_ms=5_000), timeout=30)
    finally:
        await consumer.stop()


async def test_a_service_built_by_the_runtime_consumes_its_topic_with_its_credentials(
    scram_env: dict[str, str],
) -> None:
    booking = make_broker(_settings(scram_env, BookingSettings, "BOOKING_"))
    telephony = make_broker(_settings(scram_env, TelephonySettings, "TELEPHONY_"))
    marker = uuid.uuid4().hex
    received: list[str] = []

    @telephony.subscriber(  # type: ignore[misc]
        BOOKING_DIRECTORY, group_id="telephony.directory", auto_offset_reset="earliest"
    )
    async def on_directory(body: dict[str, str]) -> None:
        received.append(body["marker"])

    await telephony.start()
    await booking.start()
    try:
        # The outbox relay's path: booking's own producer, pipelined, acknowledged.
        await acknowledged(
            await booking.send_many(
                [(BOOKING_DIRECTORY, b"op-1", json.dumps({"marker": marker}).encode())]
            )
        )

        async def arrived() -> bool:
            return marker in received

        await wait_until(arrived, timeout=30, message="telephony reads booking.directory")
    finally:
        await booking.stop()
        await telephony.stop()
