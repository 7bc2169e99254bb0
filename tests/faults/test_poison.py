"""Poison messages on every topic a service consumes: dead-lettered with the reason, and
the partition moves on.

Telephony, crm-touch, analytics and notify run for real (in this process, on topics and
databases of their own: prefix ``t<run>.poison.``). For every (topic, consumer group) pair
they subscribe, the test produces onto that topic, all with one key (so on one partition,
in this order): bytes that are not JSON, JSON that fails validation, then a valid event.
The two bad records must arrive on ``<topic>.dlq.<group>`` with their original bytes and
an ``x-dlq-reason`` header; the valid record behind them must be processed by that group.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from switchboard_contracts import (
    ANALYTICS_WORKLIST,
    BOOKING_APPOINTMENTS,
    BOOKING_CLIENTS,
    BOOKING_DIRECTORY,
    CRM_TOUCHES,
    PBX_EVENTS_RAW,
    PLATFORM_AUDIT,
    TELEPHONY_CALLS,
    TELEPHONY_DIRECTORY,
    TELEPHONY_SETTINGS,
    AppointmentBooked,
    AuditRecorded,
    CallStarted,
    ClientRegistered,
    DidChanged,
    Event,
    IntegrationSettingsChanged,
    OperatorChanged,
    TouchCreated,
    WorklistChanged,
    dlq_topic,
    make_envelope,
    message_key,
)
from switchboard_runtime.messaging import CONSUMING_SERVICES
from switchboard_runtime.testing import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="session"),
]

NOT_JSON = b"{this is not json \xff"


@dataclass(frozen=True)
class Valid:
    """The valid record produced after the poison, and how to tell it was processed."""

    key: str
    value: bytes
    #: The envelope's event id, for consumers idempotent on it (``None`` for raw PBX input).
    event_id: str | None = None
    #: For raw PBX input: the call whose CallStarted proves the record was processed.
    call_id: str | None = None


@dataclass(frozen=True)
class Case:
    """One (topic, consumer group) pair and the poison it gets."""

    service: str
    topic: str
    group: str
    valid: Callable[[], Valid]
    #: Valid JSON that the group's parser rejects.
    invalid: Callable[[], bytes]
    #: ``x-dlq-reason`` of the not-JSON record and of the invalid one.
    reasons: tuple[str, str]
    #: Words ``x-dlq-detail`` of the invalid record must contain (what was wrong).
    invalid_detail: str

    @property
    def id(self) -> str:
        return f"{self.topic}@{self.group}"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _envelope_case(
    event: Callable[[], Event], drop: str
) -> tuple[Callable[[], Valid], Callable[[], bytes]]:
    """A valid envelope of ``event()``, and the same envelope with payload field ``drop``
    removed (which the contracts require)."""

    def valid() -> Valid:
        env = make_envelope(event(), producer="test", occurred_at=_now())
        return Valid(key=message_key(env.payload), value=env.to_bytes(), event_id=str(env.event_id))

    def invalid() -> bytes:
        body = json.loads(make_envelope(event(), producer="test", occurred_at=_now()).to_bytes())
        del body["payload"][drop]
        return json.dumps(body).encode()

    return valid, invalid


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _call_started() -> CallStarted:
    return CallStarted(
        call_id=_uid("call"),
        direction="incoming",
        caller=f"+7916{uuid.uuid4().int % 10**7:07d}",
        callee="101",
        extension="101",
        clinic_id="clinic-msk",
        started_at=_now(),
    )


def _touch_created() -> TouchCreated:
    return TouchCreated(touch_id=_uid("touch"), call_id=_uid("call"), created_at=_now())


def _operator_changed() -> OperatorChanged:
    return OperatorChanged(operator_id=_uid("op"), name="Poison Test", role="call_centre")


def _client_registered() -> ClientRegistered:
    return ClientRegistered(
        client_id=str(uuid.uuid4()),
        display_name="Poison Test",
        phones=[f"+7916{uuid.uuid4().int % 10**7:07d}"],
    )


def _appointment_booked() -> AppointmentBooked:
    starts = _now() + timedelta(days=3)
    return AppointmentBooked(
        appointment_id=_uid("appt"),
        client_id=str(uuid.uuid4()),
        clinic_id="clinic-msk",
        practitioner_id="pr-1",
        service_id="svc-1",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
    )


def _settings_changed() -> IntegrationSettingsChanged:
    return IntegrationSettingsChanged(integration="calltouch", enabled=False, changed_at=_now())


def _did_changed() -> DidChanged:
    return DidChanged(did="+74957770000", description="poison test", changed_at=_now())


def _worklist_changed() -> WorklistChanged:
    return WorklistChanged(call_id=_uid("call"), change="missed", changed_at=_now())


def _audit_recorded() -> AuditRecorded:
    return AuditRecorded(
        actor_id=_uid("op"),
        actor_role="admin",
        action="client.viewed",
        subject_type="client",
        subject_id=str(uuid.uuid4()),
        occurred_at=_now(),
    )


def _pbx_valid() -> Valid:
    call_id = _uid("poison")
    started = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    value = {
        "type": "call.started",
        "call_id": call_id,
        "timestamp": started.isoformat(),
        "from": "+79165550111",
        "to": "101",
    }
    return Valid(key=call_id, value=json.dumps(value).encode(), call_id=call_id)


def _pbx_invalid() -> bytes:
    return json.dumps({"type": "call.started", "timestamp": _now().isoformat()}).encode()


#: Logical event builders per topic, with a payload field the contracts require.
ENVELOPES: dict[str, tuple[Callable[[], Event], str]] = {
    TELEPHONY_CALLS: (_call_started, "direction"),
    CRM_TOUCHES: (_touch_created, "created_at"),
    BOOKING_DIRECTORY: (_operator_changed, "role"),
    BOOKING_CLIENTS: (_client_registered, "display_name"),
    BOOKING_APPOINTMENTS: (_appointment_booked, "starts_at"),
    TELEPHONY_SETTINGS: (_settings_changed, "enabled"),
    ANALYTICS_WORKLIST: (_worklist_changed, "change"),
    PLATFORM_AUDIT: (_audit_recorded, "action"),
    TELEPHONY_DIRECTORY: (_did_changed, "changed_at"),
}

#: Every (service, topic, consumer group) the services subscribe (their subscription tables).
SUBSCRIPTIONS: list[tuple[str, str, str]] = [
    ("telephony", BOOKING_DIRECTORY, "telephony.directory"),
    ("booking", BOOKING_APPOINTMENTS, "booking.notifications"),
    ("crm-touch", TELEPHONY_SETTINGS, "crm-touch"),
    ("crm-touch", BOOKING_DIRECTORY, "crm-touch"),
    ("crm-touch", BOOKING_CLIENTS, "crm-touch"),
    ("crm-touch", TELEPHONY_CALLS, "crm-touch"),
    ("crm-touch", BOOKING_APPOINTMENTS, "crm-touch"),
    ("analytics", TELEPHONY_CALLS, "analytics.calls"),
    ("analytics", CRM_TOUCHES, "analytics.calls"),
    ("analytics", BOOKING_DIRECTORY, "analytics.calls"),
    ("analytics", BOOKING_APPOINTMENTS, "analytics.calls"),
    ("analytics", TELEPHONY_DIRECTORY, "analytics.calls"),
    ("analytics", PLATFORM_AUDIT, "analytics.audit"),
    ("notify", TELEPHONY_CALLS, "notify"),
    ("notify", CRM_TOUCHES, "notify"),
    ("notify", BOOKING_DIRECTORY, "notify"),
    ("notify", ANALYTICS_WORKLIST, "notify"),
]


def _cases() -> list[Case]:
    cases = [
        Case(
            service="telephony",
            topic=PBX_EVENTS_RAW,
            group="telephony.pbx-ingest",
            valid=_pbx_valid,
            invalid=_pbx_invalid,
            reasons=("not_json", "missing_call_id"),
            invalid_detail="call_id",
        )
    ]
    for service, topic, group in SUBSCRIPTIONS:
        event, drop = ENVELOPES[topic]
        valid, invalid = _envelope_case(event, drop)
        cases.append(
            Case(
                service=service,
                topic=topic,
                group=group,
                valid=valid,
                invalid=invalid,
                reasons=("invalid_event", "invalid_event"),
                invalid_detail=drop,
            )
        )
    return cases


CASES = _cases()

SETTINGS: dict[str, tuple[str, str]] = {
    "telephony": ("switchboard_telephony", "TelephonySettings"),
    "booking": ("switchboard_booking", "BookingSettings"),
    "crm-touch": ("switchboard_crm_touch", "CrmTouchSettings"),
    "analytics": ("switchboard_analytics", "AnalyticsSettings"),
    "notify": ("switchboard_notify", "NotifySettings"),
}


@dataclass
class Running:
    """The services under test and a producer onto their topics."""

    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]
    producer: AIOKafkaProducer
    prefix: str


def _build(service: str, settings_env: dict[str, str]) -> FastAPI:
    import importlib

    package, cls = SETTINGS[service]
    settings_cls = getattr(importlib.import_module(f"{package}.settings"), cls)
    values: dict[str, Any] = {
        "topic_prefix": f"{settings_env['TOPIC_PREFIX']}poison.",
        "database_suffix": f"_poison{settings_env['DATABASE_SUFFIX']}",
        "log_json": False,
    }
    if service == "notify":
        values["redis_key_prefix"] = f"{settings_env['TOPIC_PREFIX']}poison:"
    app: FastAPI = importlib.import_module(f"{package}.bootstrap").build_app(settings_cls(**values))
    return app


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(
    settings_env: dict[str, str], running_service: Any, infra: Any
) -> AsyncIterator[Running]:
    """Every consuming service, started for real on this module's topics and databases."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        clients: dict[str, httpx.AsyncClient] = {}
        for service in CONSUMING_SERVICES:
            apps[service] = _build(service, settings_env)
            clients[service] = await stack.enter_async_context(running_service(apps[service]))
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
        await producer.start()
        stack.push_async_callback(producer.stop)
        yield Running(apps, clients, producer, f"{settings_env['TOPIC_PREFIX']}poison.")


async def _processed(app: FastAPI, group: str, event_id: str) -> bool:
    """Whether ``group`` committed the handling of ``event_id`` (recorded in the same
    transaction as the handler's changes)."""
    async with app.state.runtime.sessions() as session:
        found = await session.scalar(
            sa.text(
                "SELECT count(*) FROM processed_events "
                "WHERE consumer_group = :group AND event_id = :event_id"
            ),
            {"group": group, "event_id": event_id},
        )
    return bool(found)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_poison_is_dead_lettered_and_the_partition_moves_on(
    case: Case, running: Running, topic_reader: Any
) -> None:
    dlq = await topic_reader(f"poison.{dlq_topic(case.topic, case.group)}")
    valid = case.valid()
    calls = await topic_reader(f"poison.{TELEPHONY_CALLS}") if valid.call_id else None
    key = valid.key.encode()
    invalid = case.invalid()
    physical = running.prefix + case.topic
    for value in (NOT_JSON, invalid, valid.value):
        await running.producer.send_and_wait(physical, value, key=key)

    def ours(records: list[Any]) -> list[Any]:
        return [r for r in records if r.key == key]

    await dlq.wait_for(lambda records: len(ours(records)) >= 2, timeout=30, message="poison")
    app = running.apps[case.service]
    if valid.event_id is not None:
        event_id = valid.event_id

        async def processed() -> bool:
            return await _processed(app, case.group, event_id)

        await wait_until(processed, timeout=30, message=f"{case.group} processed the valid one")
    else:
        assert calls is not None
        await calls.wait_for(
            lambda records: any(
                r.key == key and json.loads(r.value)["event_type"] == "CallStarted" for r in records
            ),
            timeout=30,
            message="CallStarted of the valid raw event",
        )

    letters = ours(dlq.records)
    assert [r.value for r in letters] == [NOT_JSON, invalid], "the bad ones, only, in order"
    for record, reason in zip(letters, case.reasons, strict=True):
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["x-dlq-reason"] == reason
        assert headers["x-original-topic"] == physical
        assert headers["x-consumer-group"] == case.group
        assert headers["x-dlq-detail"]
    assert case.invalid_detail in {k: v.decode() for k, v in letters[1].headers}["x-dlq-detail"]
    offsets = [int(dict(r.headers)["x-original-offset"]) for r in letters]
    assert offsets[1] == offsets[0] + 1, "one partition, consecutive offsets"


async def test_every_subscription_of_every_service_has_a_case(settings_env: dict[str, str]) -> None:
    """A topic a service starts consuming without a poison case above fails here."""
    prefix = f"{settings_env['TOPIC_PREFIX']}poison."
    subscribed = set()
    for service in SETTINGS:
        # Built, not started: the wiring is all this reads.
        for subscriber in _build(service, settings_env).state.runtime.broker.subscribers:
            group = subscriber.group_id.removeprefix(prefix)
            for topic in subscriber.topic_names:
                subscribed.add((service, topic.removeprefix(prefix), group))
    assert subscribed == {(c.service, c.topic, c.group) for c in CASES}
