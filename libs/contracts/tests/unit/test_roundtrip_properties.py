"""Property tests: any valid CallStarted/CallEnded survives the trip through JSON unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from switchboard_contracts import (
    CallDirection,
    CallDisposition,
    CallEnded,
    CallStarted,
    Event,
    make_envelope,
    parse_envelope,
)

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)
ids = st.text(min_size=1, max_size=40)
texts = st.text(max_size=40)
optional_texts = st.none() | texts
seconds = st.integers(min_value=0, max_value=10**7)
directions = st.sampled_from(get_args(CallDirection))

call_started = st.builds(
    CallStarted,
    call_id=ids,
    direction=directions,
    caller=texts,
    callee=texts,
    extension=optional_texts,
    clinic_id=optional_texts,
    started_at=aware_datetimes,
    did=optional_texts,
)

call_ended = st.builds(
    CallEnded,
    call_id=ids,
    ended_at=aware_datetimes,
    disposition=st.sampled_from(get_args(CallDisposition)),
    wait_seconds=seconds,
    talk_seconds=seconds,
    total_seconds=seconds,
    recording_url=optional_texts,
    end_reason=optional_texts,
    direction=st.none() | directions,
    caller=optional_texts,
    callee=optional_texts,
    extension=optional_texts,
    clinic_id=optional_texts,
    started_at=st.none() | aware_datetimes,
    answered_at=st.none() | aware_datetimes,
    operator_id=optional_texts,
)


def _assert_utc(event: Event) -> None:
    for value in event.__dict__.values():
        if isinstance(value, datetime):
            assert value.utcoffset() == timedelta(0)


@given(event=call_started | call_ended, occurred_at=aware_datetimes, producer=ids)
def test_envelope_json_round_trip(
    event: CallStarted | CallEnded, occurred_at: datetime, producer: str
) -> None:
    envelope = make_envelope(event, producer=producer, occurred_at=occurred_at)
    parsed = parse_envelope(envelope.to_bytes())
    assert type(parsed.payload) is type(event)
    assert parsed.payload == event
    assert parsed.occurred_at == occurred_at
    assert parsed.occurred_at.tzinfo is UTC
    assert parsed.to_bytes() == envelope.to_bytes()
    _assert_utc(parsed.payload)


@given(event=call_started | call_ended)
def test_payload_json_round_trip(event: CallStarted | CallEnded) -> None:
    assert type(event).model_validate_json(event.model_dump_json()) == event
    _assert_utc(event)
