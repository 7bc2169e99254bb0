"""The Kafka ACLs of each service, derived from its subscriptions and the contracts."""

from __future__ import annotations

import pytest

from switchboard_runtime.acls import KAFKA_SERVICES, kafka_acls, platform_topics


def test_each_service_reads_its_subscriptions_and_writes_its_topics_and_dead_letters() -> None:
    telephony = kafka_acls("telephony")
    assert telephony.read_topics == ("booking.directory", "pbx.events.raw")
    assert telephony.groups == ("telephony.directory", "telephony.pbx-ingest")
    assert telephony.write_topics == (
        "booking.directory.dlq.telephony.directory",
        "pbx.events.raw",
        "pbx.events.raw.dlq.telephony.pbx-ingest",
        "platform.audit",
        "telephony.calls",
        "telephony.directory",
        "telephony.settings",
    )
    crm = kafka_acls("crm-touch")
    assert crm.read_topics == (
        "booking.appointments",
        "booking.clients",
        "booking.directory",
        "telephony.calls",
        "telephony.settings",
    )
    assert crm.groups == ("crm-touch",)
    assert "crm.touches" in crm.write_topics
    assert "telephony.calls" not in crm.write_topics
    assert kafka_acls("analytics").read_topics == (
        "booking.appointments",
        "booking.directory",
        "crm.touches",
        "platform.audit",
        "telephony.calls",
        "telephony.directory",
    )


def test_every_topic_has_exactly_the_writers_the_contracts_name() -> None:
    writers = {
        topic: {s for s in KAFKA_SERVICES if topic in kafka_acls(s).write_topics}
        for topic in platform_topics()
        if ".dlq." not in topic
    }
    assert writers == {
        "analytics.worklist": {"analytics"},
        "booking.appointments": {"booking"},
        "booking.clients": {"booking"},
        "booking.directory": {"booking"},
        "crm.touches": {"crm-touch"},
        "notify.claims": {"notify"},
        "pbx.events.raw": {"telephony"},
        "platform.audit": set(KAFKA_SERVICES),
        "telephony.calls": {"telephony"},
        "telephony.directory": {"telephony"},
        "telephony.settings": {"telephony"},
    }


def test_a_dead_letter_topic_is_written_only_by_its_group() -> None:
    for service in KAFKA_SERVICES:
        acls = kafka_acls(service)
        for topic in acls.write_topics:
            if ".dlq." in topic:
                assert topic.split(".dlq.")[1] in acls.groups


def test_names_carry_the_deployment_prefix() -> None:
    acls = kafka_acls("notify", prefix="chain1.")
    assert acls.groups == ("chain1.notify",)
    assert all(t.startswith("chain1.") for t in acls.read_topics + acls.write_topics)


def test_an_unknown_service_has_no_acls() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        kafka_acls("console")
