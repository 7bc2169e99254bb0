"""Log lines never carry full phone numbers or secrets."""

from __future__ import annotations

from switchboard_runtime.logging import mask_phone, scrub_processor


def test_phone_numbers_are_masked_in_any_format() -> None:
    assert mask_phone("call from +7 (916) 123-45-67 to 101") == "call from ***567 to 101"
    assert mask_phone("89161234567") == "***567"


def test_secrets_and_nested_numbers_are_scrubbed_but_ids_are_kept() -> None:
    event = {
        "event": "x",
        "token": "s3cret",
        "payload": {"from": "+79161234567", "Authorization": "Bearer abc"},
        "call_id": "1700000000.1234",
        "extension": "101",
    }
    out = scrub_processor(None, "info", dict(event))
    assert out["token"] == "***"
    assert out["payload"] == {"from": "***567", "Authorization": "***"}
    assert out["call_id"] == "1700000000.1234"
    assert out["extension"] == "101"
