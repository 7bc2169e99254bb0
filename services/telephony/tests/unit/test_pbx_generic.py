"""The generic JSON format: each kind of bad event gets its own dead-letter reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, decode_raw, parse_generic
from switchboard_telephony.domain.errors import InvalidRequest
from switchboard_telephony.handlers import canonical_did, canonical_extension

NOW = datetime.now(UTC).replace(microsecond=0)
GOOD: dict[str, Any] = {
    "type": "call.started",
    "call_id": "c-1",
    "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
    "from": "+74951234567",
    "to": "101",
}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{oops", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"call.started"', "not_an_object"),
        (json.dumps({**GOOD, "type": None}).encode(), "missing_type"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "type"}).encode(), "missing_type"),
        (json.dumps({**GOOD, "type": "call.exploded"}).encode(), "unknown_type"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "call_id"}).encode(), "missing_call_id"),
        (json.dumps({**GOOD, "call_id": "  "}).encode(), "missing_call_id"),
        (json.dumps({**GOOD, "call_id": None}).encode(), "missing_call_id"),
        (json.dumps({**GOOD, "call_id": 12}).encode(), "invalid_call_id"),
        (json.dumps({**GOOD, "timestamp": None}).encode(), "missing_timestamp"),
        (
            json.dumps({**GOOD, "timestamp": "1970-01-01T00:00:00Z"}).encode(),
            "impossible_timestamp",
        ),
        (
            json.dumps({**GOOD, "timestamp": "2999-01-01T00:00:00Z"}).encode(),
            "impossible_timestamp",
        ),
        (json.dumps({**GOOD, "timestamp": 1.7e12}).encode(), "impossible_timestamp"),
        (json.dumps({**GOOD, "timestamp": "2026-01-01T10:00:00"}).encode(), "invalid_timestamp"),
        (json.dumps({**GOOD, "timestamp": "yesterday"}).encode(), "invalid_timestamp"),
        (json.dumps({**GOOD, "extension": "1" * 40}).encode(), "invalid_event"),
    ],
)
def test_each_kind_of_bad_event_has_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidPbxEvent) as exc:
        decode_raw(raw)
    assert exc.value.reason == reason
    assert exc.value.errors and all(e["field"] and e["message"] for e in exc.value.errors)


def test_the_type_is_the_reason_when_several_fields_are_wrong() -> None:
    with pytest.raises(InvalidPbxEvent) as exc:
        parse_generic({"type": "nope"})
    assert exc.value.reason == "unknown_type"
    assert [e["field"] for e in exc.value.errors] == ["type", "call_id", "timestamp"]


def test_the_source_key_is_the_event_id_or_the_content_hash() -> None:
    with_id = decode_raw(json.dumps({**GOOD, "event_id": "e-1"}).encode())
    assert with_id.source_key == "id:e-1"
    once = decode_raw(json.dumps(GOOD).encode())
    reordered = decode_raw(json.dumps(dict(reversed(list(GOOD.items())))).encode())
    assert once.source_key == reordered.source_key
    assert once.source_key.startswith("sha256:")


def test_the_lag_is_added_to_the_pbx_time() -> None:
    event = decode_raw(json.dumps(GOOD).encode()).to_pbx_event(timedelta(minutes=-90))
    assert event.at == NOW - timedelta(minutes=91)


@pytest.mark.parametrize(
    ("raw", "did"),
    [("+7 (495) 123-45-67", "+74951234567"), ("84951234567", "+74951234567")],
)
def test_dids_are_stored_in_e164(raw: str, did: str) -> None:
    assert canonical_did(raw, "RU") == did


@pytest.mark.parametrize("raw", ["101", "not a number", ""])
def test_a_did_must_be_a_public_number(raw: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        canonical_did(raw, "RU")
    assert [e.field for e in exc.value.errors] == ["did"]


@pytest.mark.parametrize("raw", ["1a", "", "1" * 17, "+101"])
def test_an_extension_is_digits(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        canonical_extension(raw)
    assert canonical_extension(" 0101 ") == "0101"
