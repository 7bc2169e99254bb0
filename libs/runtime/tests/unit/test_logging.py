"""Log lines never carry full phone numbers or secrets, and every logger follows the
latest configuration."""

from __future__ import annotations

import structlog

from switchboard_runtime.logging import (
    configure_logging,
    get_logger,
    mask_phone,
    mask_secrets,
    scrub_processor,
)


def test_phone_numbers_are_masked_in_any_format() -> None:
    assert mask_phone("call from +7 (916) 123-45-67 to 101") == "call from ***567 to 101"
    assert mask_phone("89161234567") == "***567"
    # In a logged URL's query string.
    assert mask_phone('GET /identify?phone=%2B7+916+123+45+67 "HTTP/1.1 200 OK"') == (
        'GET /identify?phone=***567 "HTTP/1.1 200 OK"'
    )
    assert mask_phone("?phone=8+%28916%29+123-45-67&x=1") == "?phone=***567&x=1"
    assert mask_phone("?phone=8%20916%20123%2045%2067") == "?phone=***567"


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


def test_secrets_inside_library_messages_are_masked() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcC1hbm5hIn0.c2lnbmF0dXJlLXBhcnQ"
    lines = {
        # websockets' handshake at DEBUG, httpcore's response headers at DEBUG
        f"< GET /api/notify/ws?token={jwt} HTTP/1.1": "< GET /api/notify/ws?token=*** HTTP/1.1",
        f"[(b'set-cookie', b'sb_session={jwt}; HttpOnly')]": "[(b'set-cookie', b'***; HttpOnly')]",
        "< Authorization: Bearer abc.def": "< Authorization: Bearer ***",
        "(b'x-integration-token', b'dev-pbx-token')": "(b'x-integration-token', b'***')",
        "GET /search?password=hunter2&x=1": "GET /search?password=***&x=1",
    }
    for line, masked in lines.items():
        out = scrub_processor(None, "debug", {"event": line})["event"]
        assert out.startswith(masked), (line, out)
        assert jwt not in out and "hunter2" not in out and "dev-pbx-token" not in out
    assert mask_secrets("token_set=true, 3 calls") == "token_set=***, 3 calls"


def test_a_logger_used_before_logging_is_configured_again_follows_the_new_configuration() -> None:
    log = get_logger("test.reconfigured")
    configure_logging("first")
    log.info("cached.now")  # cached with the first configuration's processors
    configure_logging("second")
    with structlog.testing.capture_logs() as captured:
        log.info("after.second", n=1)
    assert [line for line in captured if line["event"] == "after.second"] == [
        {"event": "after.second", "n": 1, "log_level": "info"}
    ]
