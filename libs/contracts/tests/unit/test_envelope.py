"""The envelope: building, serialising and parsing, and the errors consumers get."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from switchboard_contracts import (
    EVENT_TYPES,
    AppointmentBooked,
    CallEnded,
    CallStarted,
    ClientRegistered,
    ClientsMerged,
    ContractError,
    Envelope,
    TouchContact,
    TouchCreated,
    event_class,
    make_envelope,
    parse_envelope,
)

MOSCOW = timezone(timedelta(hours=3))
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _call_started() -> CallStarted:
    return CallStarted(
        call_id="call-1",
        direction="incoming",
        caller="+79161234567",
        callee="+74951234567",
        extension="101",
        clinic_id="clinic-1",
        started_at=T0,
        did="+74951234567",
    )


def _wire(payload: Any = None, **envelope: Any) -> dict[str, Any]:
    """A valid message as a consumer would decode it, with overrides."""
    message: dict[str, Any] = json.loads(
        make_envelope(_call_started(), producer="telephony", occurred_at=T0).to_bytes()
    )
    if payload is not None:
        message["payload"] = payload
    message.update(envelope)
    return message


def test_make_envelope_fills_the_header_from_the_event() -> None:
    event = _call_started()
    envelope = make_envelope(event, producer="telephony", occurred_at=T0)
    assert envelope.event_type == "CallStarted"
    assert envelope.schema_version == 1
    assert isinstance(envelope.event_id, UUID)
    assert envelope.correlation_id == "call-1", "defaults to the payload's call_id"
    assert envelope.recorded_at.tzinfo is not None
    assert abs(datetime.now(UTC) - envelope.recorded_at) < timedelta(minutes=1)
    assert envelope.payload is event
    assert envelope.topic == "telephony.calls"
    assert envelope.key == "call-1"


def test_make_envelope_keeps_given_ids() -> None:
    event_id = uuid4()
    envelope = make_envelope(
        _call_started(),
        producer="telephony",
        occurred_at=T0,
        correlation_id="corr",
        event_id=event_id,
        recorded_at=T0,
    )
    assert (envelope.event_id, envelope.correlation_id, envelope.recorded_at) == (
        event_id,
        "corr",
        T0,
    )


def test_make_envelope_builds_what_validating_the_same_fields_builds() -> None:
    event, event_id = _call_started(), uuid4()
    envelope = make_envelope(
        event, producer="telephony", occurred_at=T0.astimezone(MOSCOW), event_id=event_id
    )
    validated = Envelope[CallStarted].model_validate(
        {
            "event_id": event_id,
            "event_type": "CallStarted",
            "schema_version": 1,
            "occurred_at": T0,
            "recorded_at": envelope.recorded_at,
            "producer": "telephony",
            "correlation_id": "call-1",
            "payload": event,
        }
    )
    assert envelope.model_dump() == validated.model_dump()
    assert envelope.to_bytes() == validated.to_bytes()
    assert envelope.model_fields_set == validated.model_fields_set
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        envelope.producer = "other"  # type: ignore[misc]


def test_envelope_round_trips_through_json() -> None:
    envelope = make_envelope(_call_started(), producer="telephony", occurred_at=T0)
    parsed = parse_envelope(envelope.to_bytes())
    assert isinstance(parsed.payload, CallStarted)
    assert parsed.payload == envelope.payload
    assert parsed.event_id == envelope.event_id
    assert parsed.to_bytes() == envelope.to_bytes()
    assert parse_envelope(envelope.model_dump_json()) == parsed
    assert parse_envelope(json.loads(envelope.to_bytes())) == parsed


def test_every_event_type_parses_to_its_class() -> None:
    samples = [
        _call_started(),
        CallEnded(
            call_id="c",
            ended_at=T0,
            disposition="missed",
            wait_seconds=20,
            talk_seconds=0,
            total_seconds=20,
            end_reason="timeout",
        ),
        AppointmentBooked(
            appointment_id="a",
            client_id="cl",
            clinic_id="k",
            practitioner_id="p",
            service_id="s",
            starts_at=T0,
            ends_at=T0 + timedelta(minutes=30),
        ),
        ClientRegistered(
            client_id="cl",
            display_name="Anna P.",
            phones=["+79161234567"],
            key_details={"next visit": "2025-03-02"},
        ),
        TouchCreated(
            touch_id="t",
            call_id="c",
            created_at=T0,
            contact=TouchContact(id="cl", kind="lead", display_name="Anna"),
        ),
    ]
    for event in samples:
        parsed = parse_envelope(make_envelope(event, producer="x", occurred_at=T0).to_bytes())
        assert type(parsed.payload) is type(event)
        assert parsed.payload == event


def test_datetimes_are_converted_to_utc() -> None:
    event = CallStarted(
        call_id="c",
        direction="internal",
        caller="101",
        callee="102",
        started_at=datetime(2025, 3, 1, 12, 30, tzinfo=MOSCOW),
    )
    assert event.started_at == T0
    assert event.started_at.utcoffset() == timedelta(0)
    envelope = make_envelope(event, producer="x", occurred_at=event.started_at)
    assert '"started_at":"2025-03-01T09:30:00Z"' in envelope.model_dump_json()


def test_make_envelope_writes_its_own_times_in_utc() -> None:
    occurred = datetime(2025, 3, 1, 12, 30, tzinfo=MOSCOW)
    recorded = datetime(2025, 3, 1, 12, 30, 5, tzinfo=MOSCOW)
    envelope = make_envelope(
        _call_started(), producer="x", occurred_at=occurred, recorded_at=recorded
    )
    wire = json.loads(envelope.model_dump_json())
    assert wire["occurred_at"] == "2025-03-01T09:30:00Z"
    assert wire["recorded_at"] == "2025-03-01T09:30:05Z"
    assert parse_envelope(envelope.to_bytes()) == envelope


def test_make_envelope_refuses_an_empty_producer() -> None:
    with pytest.raises(ValidationError, match="producer"):
        make_envelope(_call_started(), producer="", occurred_at=T0)


def test_naive_datetime_is_rejected_in_events() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        CallStarted(
            call_id="c",
            direction="incoming",
            caller="a",
            callee="b",
            started_at=datetime(2025, 3, 1, 9, 30),
        )


def test_naive_datetime_is_rejected_by_make_envelope() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_envelope(_call_started(), producer="x", occurred_at=datetime(2025, 3, 1))


def test_naive_datetime_is_rejected_when_parsing() -> None:
    payload = _wire()["payload"] | {"started_at": "2025-03-01T09:30:00"}
    with pytest.raises(ContractError, match=r"started_at: .*timezone-aware"):
        parse_envelope(_wire(payload))
    with pytest.raises(ContractError, match=r"invalid envelope: occurred_at"):
        parse_envelope(_wire(occurred_at="2025-03-01T09:30:00"))


def test_unknown_event_type_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="unknown event_type 'CallExploded'") as info:
        parse_envelope(_wire(event_type="CallExploded"))
    assert info.value.event_type == "CallExploded"


def test_unknown_schema_version_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="unsupported schema_version 7 for CallStarted"):
        parse_envelope(_wire(schema_version=7))
    with pytest.raises(ContractError):
        event_class("CallStarted", 7)
    assert event_class("CallStarted") is CallStarted
    assert event_class("CallStarted", 1) is CallStarted


def test_invalid_payload_is_a_contract_error_naming_the_field() -> None:
    payload = _wire()["payload"] | {"direction": "sideways"}
    del payload["caller"]
    with pytest.raises(ContractError) as info:
        parse_envelope(_wire(payload))
    message = str(info.value)
    assert message.startswith("invalid CallStarted v1 payload:")
    assert "direction:" in message and "caller: Field required" in message
    assert "sideways" not in message, "input values (maybe phone numbers) are not echoed"
    assert (info.value.event_type, info.value.schema_version) == ("CallStarted", 1)
    assert isinstance(info.value, ValueError)


def test_invalid_envelope_and_json_are_contract_errors() -> None:
    for raw in (b"not json", b"[]", "{}", b'{"event_type": "CallStarted"}'):
        with pytest.raises(ContractError, match="invalid envelope"):
            parse_envelope(raw)
    message = _wire()
    del message["event_id"]
    with pytest.raises(ContractError, match="event_id: Field required"):
        parse_envelope(message)


def test_extra_fields_are_ignored_in_envelope_and_payload() -> None:
    payload = _wire()["payload"] | {"queue": "vip", "nested": {"a": 1}}
    parsed = parse_envelope(_wire(payload, tenant="chain-1"))
    assert parsed.payload == _call_started()
    dumped = parsed.model_dump_json()
    assert "queue" not in dumped and "tenant" not in dumped


def test_envelope_and_payload_must_agree() -> None:
    with pytest.raises(ValidationError, match="envelope says CallEnded v1 but the payload is"):
        Envelope(
            event_id=uuid4(),
            event_type="CallEnded",
            schema_version=1,
            occurred_at=T0,
            recorded_at=T0,
            producer="x",
            payload=_call_started(),
        )


def test_events_are_immutable() -> None:
    event = _call_started()
    with pytest.raises(ValidationError):
        event.call_id = "other"  # type: ignore[misc]


def test_event_invariants() -> None:
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        AppointmentBooked(
            appointment_id="a",
            client_id="c",
            clinic_id="k",
            practitioner_id="p",
            service_id="s",
            starts_at=T0,
            ends_at=T0,
        )
    with pytest.raises(ValidationError, match="merged into itself"):
        ClientsMerged(primary_client_id="a", duplicate_client_id="a", merged_at=T0)
    with pytest.raises(ValidationError, match=r"phones\.0"):
        ClientRegistered(client_id="c", display_name="X", phones=["8 916 123-45-67"])
    with pytest.raises(ValidationError, match="wait_seconds"):
        CallEnded(
            call_id="c",
            ended_at=T0,
            disposition="answered",
            wait_seconds=-1,
            talk_seconds=0,
            total_seconds=0,
        )


def test_registry_names_match_classes() -> None:
    for event_type, cls in EVENT_TYPES.items():
        assert cls.event_type == event_type == cls.__name__
        assert cls.model_config.get("extra") == "ignore"
        assert cls.model_config.get("frozen") is True
