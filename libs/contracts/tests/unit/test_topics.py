"""Topic names, the topic/key registry, and its consistency with the event classes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard_contracts import (
    ALL_TOPICS,
    CURRENT_EVENTS,
    EVENT_TYPES,
    PBX_EVENTS_RAW,
    TELEPHONY_CALLS,
    TOPICS,
    CallEnded,
    ClientsMerged,
    ContractError,
    DidChanged,
    IntegrationSettingsChanged,
    dlq_topic,
    key_field,
    message_key,
    topic_for,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_topic_names() -> None:
    assert set(ALL_TOPICS) == {
        "pbx.events.raw",
        "telephony.calls",
        "booking.appointments",
        "booking.clients",
        "booking.directory",
        "crm.touches",
        "telephony.settings",
        "telephony.directory",
        "notify.claims",
        "analytics.worklist",
        "platform.audit",
    }


def test_dlq_topic() -> None:
    assert dlq_topic(TELEPHONY_CALLS, "analytics") == "telephony.calls.dlq.analytics"
    with pytest.raises(ValueError):
        dlq_topic(TELEPHONY_CALLS, "")


def test_every_event_is_on_exactly_one_topic_with_a_required_string_key() -> None:
    seen: list[str] = []
    for spec in TOPICS.values():
        for event_type, field in spec.keys.items():
            seen.append(event_type)
            info = EVENT_TYPES[event_type].model_fields[field]
            assert info.is_required(), f"{event_type}.{field} must be required to be a key"
    assert sorted(seen) == sorted(cls.event_type for cls in CURRENT_EVENTS)
    assert TOPICS[PBX_EVENTS_RAW].event_types == ()


def test_keys() -> None:
    assert key_field("CallEnded") == "call_id"
    assert key_field("AppointmentCancelled") == "appointment_id"
    assert key_field("ClientUpdated") == "client_id"
    assert key_field("ClientsMerged") == "primary_client_id"
    assert key_field("OperatorChanged") == "operator_id"
    assert key_field("TouchUpdated") == "touch_id"
    ended = CallEnded(
        call_id="c-9",
        ended_at=T0,
        disposition="busy",
        wait_seconds=0,
        talk_seconds=0,
        total_seconds=0,
    )
    assert message_key(ended) == "c-9"
    merged = ClientsMerged(primary_client_id="p", duplicate_client_id="d", merged_at=T0)
    assert message_key(merged) == "p"
    toggled = IntegrationSettingsChanged(integration="calltouch", enabled=True, changed_at=T0)
    assert (topic_for(toggled.event_type), message_key(toggled)) == (
        "telephony.settings",
        "calltouch",
    )
    number = DidChanged(did="+74951234567", description="Spring ads", changed_at=T0)
    assert (topic_for(number.event_type), message_key(number)) == (
        "telephony.directory",
        "+74951234567",
    )


def test_unknown_event_type_has_no_topic() -> None:
    with pytest.raises(ContractError):
        topic_for("Nope")


def test_settings_event_never_carries_credentials() -> None:
    fields = set(IntegrationSettingsChanged.model_fields)
    assert not {name for name in fields if "token" in name or "secret" in name or "url" in name}
