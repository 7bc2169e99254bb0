"""What each service may do on Kafka, derived from its tables, and granting it.

A service reads the topics of its subscriptions with its own consumer groups, and writes
the topics it publishes (the contracts name the producer of each topic) and the
dead-letter topics of its groups; nothing else. :func:`kafka_acls` derives that from the
services' ``SUBSCRIPTIONS`` and the contracts' :data:`~switchboard_contracts.TOPICS`, so a
new subscription or topic changes the ACLs with it. The Strimzi ``KafkaUser`` resources
of ``deploy/k8s`` are checked against it, and ``scripts/infra.sh kafka-scram`` grants it
on a local broker through :func:`apply` (``python -m switchboard_runtime.acls``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from switchboard_contracts import TOPICS, dlq_topic
from switchboard_contracts import topic_for as contract_topic
from switchboard_runtime.messaging import CONSUMING_SERVICES, platform_consumers
from switchboard_runtime.settings import ServiceSettings

__all__ = ["KAFKA_SERVICES", "KafkaAcls", "apply", "kafka_acls", "platform_topics", "publishers"]

#: Every service with a Kafka user of its own.
KAFKA_SERVICES: tuple[str, ...] = CONSUMING_SERVICES

#: What the contracts write for a topic every service publishes on.
_EVERY_SERVICE = "every service"


@dataclass(frozen=True)
class KafkaAcls:
    """One service's permissions: read ``read_topics`` with ``groups``; write
    ``write_topics``. Names are physical (with the deployment's topic prefix)."""

    service: str
    read_topics: tuple[str, ...]
    groups: tuple[str, ...]
    write_topics: tuple[str, ...]


def publishers(topic: str) -> tuple[str, ...]:
    """The services that publish on ``topic``, from the producer the contracts name
    (``"telephony (PBX webhook / AMI ingest)"`` is telephony; ``"every service"`` all)."""
    producer = TOPICS[topic].producer
    if producer == _EVERY_SERVICE:
        return KAFKA_SERVICES
    service = producer.split()[0]
    if service not in KAFKA_SERVICES:
        raise ValueError(f"topic {topic!r} names an unknown producer {producer!r}")
    return (service,)


def kafka_acls(service: str, prefix: str = "") -> KafkaAcls:
    """The Kafka permissions of ``service`` (e.g. ``"crm-touch"``), its topics and groups
    prefixed with ``prefix`` (the deployment's ``TOPIC_PREFIX``)."""
    if service not in KAFKA_SERVICES:
        raise ValueError(f"unknown service {service!r}")
    read: set[str] = set()
    groups: set[str] = set()
    write = {topic for topic in TOPICS if service in publishers(topic)}
    for consumer in platform_consumers([service]):
        topics = set(consumer.topics) | {contract_topic(t) for t in consumer.event_types}
        read |= topics
        groups.add(consumer.group)
        # The consumer dead-letters what it cannot process onto its group's DLQ topics.
        write |= {dlq_topic(topic, consumer.group) for topic in topics}
    return KafkaAcls(
        service=service,
        read_topics=tuple(sorted(prefix + t for t in read)),
        groups=tuple(sorted(prefix + g for g in groups)),
        write_topics=tuple(sorted(prefix + t for t in write)),
    )


def platform_topics(prefix: str = "") -> tuple[str, ...]:
    """Every topic the platform uses, dead-letter topics included (what a broker without
    automatic topic creation must hold before the services start)."""
    found: set[str] = set()
    for service in KAFKA_SERVICES:
        acls = kafka_acls(service, prefix)
        found |= set(acls.read_topics) | set(acls.write_topics)
    return tuple(sorted(found))


# Kafka protocol codes (org.apache.kafka.common.acl / resource), for CreateAcls.
_TOPIC, _GROUP = 2, 3
_LITERAL = 3
_READ, _WRITE = 3, 4
_ALLOW = 3


def _bindings(acls: KafkaAcls) -> Iterable[tuple[int, str, int]]:
    """(resource type, resource name, operation) of each ACL; READ and WRITE imply
    DESCRIBE, which metadata and offset look-ups need."""
    yield from ((_TOPIC, t, _READ) for t in acls.read_topics)
    yield from ((_GROUP, g, _READ) for g in acls.groups)
    yield from ((_TOPIC, t, _WRITE) for t in acls.write_topics)


async def apply(admin_settings: ServiceSettings, services: Iterable[str] = KAFKA_SERVICES) -> None:
    """As the admin: create the platform's topics and allow each service's Kafka user
    (``User:<service>``) what :func:`kafka_acls` says. Idempotent."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError
    from aiokafka.protocol.admin import CreateAclsRequest

    from switchboard_runtime.kafka import DEFAULT_PARTITIONS, kafka_client_kwargs

    prefix = admin_settings.topic_prefix
    admin = AIOKafkaAdminClient(**kafka_client_kwargs(admin_settings), request_timeout_ms=30_000)
    await admin.start()
    try:
        missing = sorted(set(platform_topics(prefix)) - set(await admin.list_topics()))
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, DEFAULT_PARTITIONS, admin_settings.kafka_topic_replication)
                        for t in missing
                    ]
                )
        for service in services:
            for resource, name, operation in _bindings(kafka_acls(service, prefix)):
                # aiokafka's admin client has no create_acls yet: send the request itself.
                request = CreateAclsRequest(
                    resource, name, _LITERAL, f"User:{service}", "*", operation, _ALLOW
                )
                response = await admin._send_request(request)
                for error_code, error_message in response.creation_responses:
                    if error_code:
                        raise RuntimeError(f"CreateAcls {name}: {error_code} {error_message}")
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m switchboard_runtime.acls``: create the topics and grant every
    service's ACLs, connecting with the ``KAFKA_*`` settings of the environment (the
    broker's super user)."""
    parser = argparse.ArgumentParser(prog="python -m switchboard_runtime.acls")
    parser.add_argument("services", nargs="*", default=list(KAFKA_SERVICES))
    args = parser.parse_args(argv)
    asyncio.run(apply(ServiceSettings(), args.services))


if __name__ == "__main__":
    main()
