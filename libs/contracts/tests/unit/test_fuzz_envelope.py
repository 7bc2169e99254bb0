"""Fuzzing the event parser: whatever arrives on a topic, ``parse_envelope`` either returns an
envelope or raises :class:`ContractError` (which consumers route to the dead-letter topic).

Any other exception would be retried as if transient and then dead-lettered with a
misleading reason, or crash a consumer; and anything accepted must survive being published
again (a round trip through ``to_bytes``), or accepted data would be lost.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from switchboard_contracts import ContractError, Envelope, parse_envelope
from switchboard_contracts.registry import EVENT_TYPES, EVENT_VERSIONS

FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "2026-11-25T10:00:00+03:00", "2026-11-25T10:00:00", "+74951234567"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def header(event_type: str, version: int, payload: Any) -> dict[str, Any]:
    """A valid envelope header around ``payload``."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": "2026-11-25T07:00:00Z",
        "recorded_at": "2026-11-25T07:00:01Z",
        "producer": "fuzz",
        "correlation_id": None,
        "payload": payload,
    }


def parsed_or_refused(raw: Any) -> Envelope[Any] | None:
    """The parse result, None when refused with a ContractError; anything else propagates."""
    try:
        return parse_envelope(raw)
    except ContractError as exc:
        assert str(exc), "a refusal says what was wrong"
        return None


def assert_round_trips(envelope: Envelope[Any]) -> None:
    """What was accepted parses again, unchanged, from the bytes it would be published as."""
    again = parse_envelope(envelope.to_bytes())
    assert again == envelope
    assert type(again.payload) is type(envelope.payload)


@FUZZ
@given(raw=st.binary(max_size=300))
@example(raw=b"")
@example(raw=b"\xff\xfe")
@example(raw=b"[" * 5000 + b"]" * 5000)
@example(raw=b'{"payload": ' * 3000 + b"1" + b"}" * 3000)
@example(raw=b"1" * 5000)
@example(raw=b'"\\ud800"')
def test_arbitrary_bytes_are_refused_with_a_contract_error(raw: bytes) -> None:
    assert parsed_or_refused(raw) is None


@FUZZ
@given(value=json_values)
def test_arbitrary_json_is_an_envelope_or_a_contract_error(value: Any) -> None:
    envelope = parsed_or_refused(json.dumps(value))
    if envelope is not None:
        assert_round_trips(envelope)


@FUZZ
@given(
    envelope=st.fixed_dictionaries(
        {},
        optional={
            "event_id": st.uuids().map(str) | json_scalars,
            "event_type": st.sampled_from(sorted(EVENT_TYPES)) | json_scalars,
            "schema_version": st.integers(min_value=-2, max_value=3) | json_scalars,
            "occurred_at": json_scalars,
            "recorded_at": json_scalars,
            "producer": json_scalars,
            "correlation_id": json_scalars,
            "payload": json_values,
        },
    )
)
def test_envelopes_with_wrong_field_types_are_refused_cleanly(envelope: dict[str, Any]) -> None:
    # Both doors: the bytes of a record and an already decoded mapping.
    from_bytes = parsed_or_refused(json.dumps(envelope).encode())
    from_mapping = parsed_or_refused(envelope)
    assert (from_bytes is None) == (from_mapping is None)


def _payload_fields(cls: type[Any]) -> dict[str, Any]:
    """Every field of the event (by its JSON name), each with arbitrary JSON or nothing."""
    names = [info.alias or name for name, info in cls.model_fields.items()]
    return {name: json_values for name in names}


@pytest.mark.parametrize(
    ("event_type", "version"),
    sorted(EVENT_VERSIONS),
    ids=[f"{t}.v{v}" for t, v in sorted(EVENT_VERSIONS)],
)
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_each_event_parses_from_any_payload_or_names_what_is_wrong(
    event_type: str, version: int, data: st.DataObject
) -> None:
    cls = EVENT_VERSIONS[(event_type, version)]
    payload = data.draw(st.fixed_dictionaries({}, optional=_payload_fields(cls)))
    envelope = parsed_or_refused(json.dumps(header(event_type, version, payload)))
    if envelope is None:
        return
    assert isinstance(envelope.payload, cls)
    assert envelope.event_type == event_type and envelope.schema_version == version
    assert_round_trips(envelope)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_payload_of_the_wrong_shape_is_a_contract_error(event_type: str) -> None:
    version = EVENT_TYPES[event_type].schema_version
    wrong_shapes: list[Any] = [[], "x", 1, None, {}]
    for payload in wrong_shapes:
        with pytest.raises(ContractError) as refused:
            parse_envelope(json.dumps(header(event_type, version, payload)))
        assert refused.value.reason
