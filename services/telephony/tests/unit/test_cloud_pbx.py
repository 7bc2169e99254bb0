"""The Mango Office and Twilio adapters: their signatures, and what their deliveries mean.

The deliveries (``tests/data/mango``, ``tests/data/twilio``) follow each provider's
documentation; they are not captures (see the READMEs there). The HTTP path — refusals,
replays, real Kafka — is ``tests/integration/test_cloud_pbx_webhooks.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from switchboard_telephony.adapters.pbx.base import (
    DeliveryRejected,
    InvalidDelivery,
    WebhookDelivery,
)
from switchboard_telephony.adapters.pbx.mango import (
    MangoAdapter,
    disconnect_status,
    sign,
    signed_request,
)
from switchboard_telephony.adapters.pbx.twilio import (
    TwilioAdapter,
    endpoint_extension,
    signature,
)
from switchboard_telephony.adapters.pbx.twilio import (
    signed_request as twilio_request,
)

DATA = Path(__file__).resolve().parents[1] / "data"
KEY, SALT, TOKEN = "vpbx-key-1", "vpbx-salt-Qw8", "twilio-token-Zr4"
HOOKS = "https://hooks.clinic.example/api/telephony/pbx"
MANGO = MangoAdapter(SecretStr(KEY), SecretStr(SALT))
TWILIO = TwilioAdapter(SecretStr(TOKEN))


def scenario(provider: str, name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / provider / name).read_text())["deliveries"])


def delivery(url: str, body: bytes, headers: dict[str, str], base: str) -> WebhookDelivery:
    return WebhookDelivery(
        url=url,
        path=urlsplit(url).path.removeprefix(urlsplit(base).path).strip("/"),
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
    )


def mango_deliveries(name: str) -> list[WebhookDelivery]:
    out = []
    for item in scenario("mango", name):
        request = signed_request(f"{HOOKS}/mango", KEY, SALT, item["path"], item["json"])
        out.append(delivery(request.url, request.body, request.headers, f"{HOOKS}/mango"))
    return out


def twilio_deliveries(name: str) -> list[WebhookDelivery]:
    out = []
    for item in scenario("twilio", name):
        request = twilio_request(f"{HOOKS}/twilio", TOKEN, item["params"], item["query"])
        out.append(delivery(request.url, request.body, request.headers, f"{HOOKS}/twilio"))
    return out


def brief(adapter: Any, deliveries: list[WebhookDelivery]) -> list[tuple[Any, ...]]:
    """(type, seconds from the first event, the fields that matter) of what they mean."""
    out = [e for d in deliveries for e in adapter.translate(d)]
    start = datetime.fromisoformat(out[0]["timestamp"])
    keys = ("from", "to", "did", "extension", "to_extension", "status")
    return [
        (
            e["type"].removeprefix("call."),
            int((datetime.fromisoformat(e["timestamp"]) - start).total_seconds()),
            *[f"{k}={e[k]}" for k in keys if k in e],
        )
        for e in out
    ]


# --- Mango ------------------------------------------------------------------------------------


def test_mango_sign_is_sha256_of_key_json_and_salt() -> None:
    assert sign("k", '{"a":1}', "s") == hashlib.sha256(b'k{"a":1}s').hexdigest()


def test_mango_answered_incoming_call() -> None:
    assert brief(MANGO, mango_deliveries("answered-incoming.json")) == [
        ("started", 0, "from=79161234567", "to=74951230101", "did=74951230101"),
        ("started", 6, "from=79161234567", "to=74951230101", "did=74951230101"),
        ("ringing", 6, "extension=101"),
        ("answered", 14, "extension=101"),
        ("ended", 104, "status=answered"),
    ]


def test_mango_missed_call_ringing_a_group() -> None:
    out = brief(MANGO, mango_deliveries("missed-incoming.json"))
    assert [e for e in out if e[0] != "started"] == [
        ("ringing", 5, "extension=101"),
        ("ringing", 5, "extension=102"),
        ("ended", 30, "status=cancel"),
    ]


def test_mango_consultative_transfer_shows_when_the_caller_reaches_the_new_phone() -> None:
    out = brief(MANGO, mango_deliveries("transfer-consultative.json"))
    assert [e for e in out if e[0] != "started"] == [
        ("ringing", 0, "extension=101"),
        ("answered", 7, "extension=101"),
        ("answered", 40, "extension=102"),  # the state machine reads it as the move
        ("ended", 160, "status=answered"),
    ]


def test_mango_outgoing_call() -> None:
    assert brief(MANGO, mango_deliveries("outgoing.json")) == [
        ("started", 0, "from=101", "to=79161234567", "extension=101"),
        ("answered", 9, "extension=101"),
        ("ended", 70, "status=answered"),
    ]


def test_mango_event_ids_are_stable_and_other_kinds_mean_nothing() -> None:
    first = mango_deliveries("answered-incoming.json")
    again = mango_deliveries("answered-incoming.json")
    assert [MANGO.translate(d) for d in first] == [MANGO.translate(d) for d in again]
    request = signed_request(f"{HOOKS}/mango", KEY, SALT, "events/recording", {"entry_id": "x"})
    assert MANGO.translate(delivery(request.url, request.body, {}, f"{HOOKS}/mango")) == []


def test_mango_verification() -> None:
    good = mango_deliveries("outgoing.json")[0]
    verified = MANGO.verify(good)
    assert verified.sent_at == scenario("mango", "outgoing.json")[0]["json"]["timestamp"]
    wrong_salt = MangoAdapter(SecretStr(KEY), SecretStr("another-salt"))
    wrong_key = MangoAdapter(SecretStr("another-key"), SecretStr(SALT))
    with pytest.raises(DeliveryRejected, match="sign does not match"):
        wrong_salt.verify(good)
    with pytest.raises(DeliveryRejected, match="vpbx_api_key"):
        wrong_key.verify(good)
    unsigned = WebhookDelivery(good.url, good.path, {}, b"json=%7B%7D")
    with pytest.raises(DeliveryRejected, match="unsigned"):
        MANGO.verify(unsigned)
    for refusal in (wrong_salt, wrong_key):
        with pytest.raises(DeliveryRejected) as caught:
            refusal.verify(good)
        assert SALT not in caught.value.reason and KEY not in caught.value.reason


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (1110, "cancel"),
        (1100, "no_answer"),
        ("4201", "busy"),
        (3200, "failed"),
        (None, "no_answer"),
    ],
)
def test_mango_disconnect_reasons(reason: Any, status: str) -> None:
    assert disconnect_status(reason) == status


def test_mango_unreadable_events_are_invalid_not_errors() -> None:
    for event in ({"call_state": "Appeared"}, {"entry_id": "e", "call_state": "Appeared"}):
        request = signed_request(f"{HOOKS}/mango", KEY, SALT, "events/call", event)
        with pytest.raises(InvalidDelivery):
            MANGO.translate(delivery(request.url, request.body, {}, f"{HOOKS}/mango"))


# --- Twilio -----------------------------------------------------------------------------------


def test_twilio_signature_matches_twilios_published_example() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilio_answered_incoming_call() -> None:
    assert brief(TWILIO, twilio_deliveries("answered-incoming.json")) == [
        (
            "started",
            0,
            "from=+79161234567",
            "to=+74951230101",
            "did=+74951230101",
            "extension=101",
        ),
        ("ringing", 1, "extension=101"),
        ("answered", 8, "extension=101"),
        ("started", 0, "from=+79161234567", "to=+74951230101", "did=+74951230101"),
        ("ended", 98),
    ]
    ended = [e for d in twilio_deliveries("answered-incoming.json") for e in TWILIO.translate(d)]
    assert ended[-1]["recording_url"].startswith("https://api.twilio.com/")


def test_twilio_transfer_is_another_leg_answering() -> None:
    out = brief(TWILIO, twilio_deliveries("transfer.json"))
    assert [e for e in out if e[0] in ("answered", "ringing")] == [
        ("ringing", 1, "extension=101"),
        ("answered", 6, "extension=101"),
        ("ringing", 41, "extension=102"),
        ("answered", 45, "extension=102"),
    ]


def test_twilio_outgoing_call_from_a_client() -> None:
    assert brief(TWILIO, twilio_deliveries("outgoing.json")) == [
        ("started", 0, "from=101", "to=+79161234567", "extension=101"),
        ("answered", 10, "extension=101"),
        ("started", 0, "from=101", "to=+79161234567", "extension=101"),
        ("ended", 71),
    ]


def test_twilio_final_statuses() -> None:
    items = scenario("twilio", "answered-incoming.json")
    final = items[-1]["params"]
    for status, word in [("busy", "busy"), ("no-answer", "no_answer"), ("canceled", "cancel")]:
        request = twilio_request(f"{HOOKS}/twilio", TOKEN, {**final, "CallStatus": status})
        out = TWILIO.translate(delivery(request.url, request.body, {}, f"{HOOKS}/twilio"))
        assert out[-1]["status"] == word


def test_twilio_verification() -> None:
    good = twilio_deliveries("answered-incoming.json")[0]
    assert TWILIO.verify(good).sent_at is not None
    with pytest.raises(DeliveryRejected, match="does not match"):
        TwilioAdapter(SecretStr("another-token")).verify(good)
    moved = WebhookDelivery(good.url.replace("did=", "did=1"), good.path, good.headers, good.body)
    with pytest.raises(DeliveryRejected):
        TWILIO.verify(moved)  # the query is signed too
    with pytest.raises(DeliveryRejected, match="unsigned"):
        TWILIO.verify(WebhookDelivery(good.url, good.path, {}, good.body))
    # The URL as a proxy may spell it: the default port written out.
    ported = good.url.replace("hooks.clinic.example/", "hooks.clinic.example:443/")
    assert TWILIO.verify(WebhookDelivery(ported, good.path, good.headers, good.body))


@pytest.mark.parametrize(
    ("endpoint", "extension"),
    [
        ("client:101", "101"),
        ("sip:102@clinic.sip.twilio.com", "102"),
        ("client:anna", None),
        ("+79161234567", None),
        (None, None),
    ],
)
def test_twilio_endpoint_extension(endpoint: str | None, extension: str | None) -> None:
    assert endpoint_extension(endpoint) == extension


def test_twilio_callbacks_it_cannot_read_are_invalid() -> None:
    for params in ({"CallStatus": "ringing"}, {"CallSid": "CA1", "Timestamp": "yesterday"}):
        request = twilio_request(f"{HOOKS}/twilio", TOKEN, params)
        with pytest.raises(InvalidDelivery):
            TWILIO.translate(delivery(request.url, request.body, {}, f"{HOOKS}/twilio"))
