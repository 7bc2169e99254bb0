"""Kafka wiring: the one FastStream broker factory, topic creation, and publishing.

Producer settings are chosen once here for every service: ``acks="all"`` with the
idempotent producer, so a retried send never duplicates or reorders a partition.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from switchboard_runtime.logging import get_logger
from switchboard_runtime.settings import ServiceSettings

log = get_logger(__name__)

#: Partitions for topics created by the services themselves (local runs and tests);
#: in Kubernetes the Strimzi KafkaTopic resources decide.
DEFAULT_PARTITIONS = 3


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """The service's FastStream Kafka broker (one producer, any number of subscribers)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"switchboard-{settings.service_name}",
        acks="all",
        enable_idempotence=True,
        # A few milliseconds of batching multiplies throughput at negligible latency.
        linger_ms=2,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
        graceful_timeout=10.0,
        # Through the root logger, so FastStream's lines are JSON and scrubbed like ours;
        # its per-message lines are DEBUG: at thousands of events a second they are noise.
        logger=logging.getLogger("faststream.switchboard"),
        log_level=logging.DEBUG,
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
) -> None:
    """Create the topics that do not exist yet (idempotent, safe to race)."""
    wanted = sorted(set(topics))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000)
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
