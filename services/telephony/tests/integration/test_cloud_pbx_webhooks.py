"""Mango Office and Twilio deliveries, through real Kafka, PostgreSQL and Redis.

Each provider's documented call sequences (``tests/data/mango``, ``tests/data/twilio``; not
captures, see the READMEs there) are signed as the provider signs them and posted to its
own endpoint; the same calls, written by hand in the generic webhook format, go through the
generic webhook under other call ids. The canonical events of each pair must be identical
but for the call id. Unsigned, wrongly signed, stale and replayed deliveries are refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DATA = Path(__file__).resolve().parents[1] / "data"
KEY, SALT, TOKEN = "it-vpbx-key", "it-vpbx-salt-Pq3", "it-twilio-token-Mv6"
PUBLIC = "https://hooks.clinic.example"
T = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
"""When the data's first call starts; the others start 5, 10 and 15 minutes later."""
ENV = {
    "TELEPHONY_MANGO_API_KEY": KEY,
    "TELEPHONY_MANGO_API_SALT": SALT,
    "TELEPHONY_TWILIO_AUTH_TOKEN": TOKEN,
    "TELEPHONY_PUBLIC_BASE_URL": PUBLIC,
    "TELEPHONY_REORDER_GRACE_SECONDS": "3",
}
SCENARIOS = {
    "mango": ["answered-incoming", "missed-incoming", "transfer-consultative", "outgoing"],
    "twilio": ["answered-incoming", "missed-incoming", "transfer", "outgoing"],
}
_MANGO_TIMES = ("timestamp", "create_time", "forward_time", "talk_time", "end_time")


def deliveries(provider: str, name: str, shift: timedelta) -> list[dict[str, Any]]:
    """A scenario's deliveries with every time moved by ``shift`` (providers' times must be
    recent: the replay window refuses stale ones)."""
    items = json.loads((DATA / provider / f"{name}.json").read_text())["deliveries"]
    for item in items:
        if provider == "mango":
            event = item["json"]
            for key in _MANGO_TIMES:
                if event.get(key):
                    event[key] = int(event[key] + shift.total_seconds())
        else:
            stamp = parsedate_to_datetime(item["params"]["Timestamp"]) + shift
            item["params"]["Timestamp"] = format_datetime(stamp)
    return list(items)


async def post(client: Any, provider: str, item: dict[str, Any]) -> Any:
    """Sign ``item`` as the provider does and post it to its endpoint."""
    from switchboard_telephony.adapters.pbx import mango, twilio

    base = f"{PUBLIC}/api/telephony/pbx/{provider}"
    if provider == "mango":
        request = mango.signed_request(base, KEY, SALT, item["path"], item["json"])
    else:
        request = twilio.signed_request(base, TOKEN, item["params"], item["query"])
    path = request.url.removeprefix(PUBLIC)
    return await client.post(path, content=request.body, headers=request.headers)


def generic(prefix: str, start: datetime) -> dict[str, list[dict[str, Any]]]:
    """The eight calls as a PBX would post them in the generic format, read off the data."""
    line = {"from": "79161234567", "to": "74951230101", "did": "74951230101"}
    tw_in = {"from": "+79161234567", "to": "+74951230101", "did": "+74951230101"}
    out: dict[str, list[dict[str, Any]]] = {}

    def call(key: str, minutes: int, *events: tuple[str, float, dict[str, Any]]) -> None:
        base = start + timedelta(minutes=minutes)
        out[f"{prefix}{key}"] = [
            {
                "type": f"call.{kind}",
                "call_id": f"{prefix}{key}",
                "timestamp": (base + timedelta(seconds=s)).isoformat(),
                **fields,
            }
            for kind, s, fields in events
        ]

    ext = {"extension": "101"}
    call(
        "mango-answered-incoming",
        0,
        ("started", 0, line),
        ("ringing", 6, ext),
        ("answered", 14, ext),
        ("ended", 104, {"status": "answered"}),
    )
    call(
        "mango-missed-incoming",
        5,
        ("started", 0, line),
        ("ringing", 5, ext),
        ("ringing", 5, {"extension": "102"}),
        ("ended", 30, {"status": "cancel"}),
    )
    call(
        "mango-transfer-consultative",
        10,
        ("started", 0, line),
        ("ringing", 0, ext),
        ("answered", 7, ext),
        ("transferred", 40, {"extension": "101", "to_extension": "102"}),
        ("ended", 160, {"status": "answered"}),
    )
    dialling = {"from": "101", "extension": "101"}
    call(
        "mango-outgoing",
        15,
        ("started", 0, {**dialling, "to": "79161234567"}),
        ("answered", 9, ext),
        ("ended", 70, {"status": "answered"}),
    )
    recording = (
        "https://api.twilio.com/2010-04-01/Accounts/AC3f1c8e2a9b7d4c6e0f1a2b3c4d5e6f70"
        "/Recordings/RE000000000000000000000000000000a1"
    )
    call(
        "twilio-answered-incoming",
        0,
        ("started", 0, {**tw_in, **ext}),
        ("ringing", 1, ext),
        ("answered", 8, ext),
        ("ended", 98, {"recording_url": recording}),
    )
    call(
        "twilio-missed-incoming",
        5,
        ("started", 0, {**tw_in, **ext}),
        ("ringing", 1, ext),
        ("ringing", 1, {"extension": "102"}),
        ("ended", 25, {}),
    )
    call(
        "twilio-transfer",
        10,
        ("started", 0, {**tw_in, **ext}),
        ("ringing", 1, ext),
        ("answered", 6, ext),
        ("ringing", 41, {"extension": "102"}),
        ("transferred", 45, {"extension": "101", "to_extension": "102"}),
        ("ended", 150, {}),
    )
    call(
        "twilio-outgoing",
        15,
        ("started", 0, {**dialling, "to": "+79161234567"}),
        ("answered", 10, ext),
        ("ended", 71, {}),
    )
    return out


def canonical(envelopes: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e["event_type"], {k: v for k, v in e["payload"].items() if k != "call_id"})
        for e in envelopes
    ]


async def test_cloud_pbx_deliveries_give_the_same_canonical_calls_as_the_webhook(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    tag = helpers.unique_tag("cloud")
    start = helpers.recent_second(40)
    shift = start - T
    wh_prefix = f"wh-{tag}-"
    hooks = generic(wh_prefix, start)

    async with start_telephony(tag, **ENV) as t:
        response = await t.client.post(
            "/api/telephony/dids",
            json={"did": "+74951230101", "clinic_id": "clinic-msk-arbat"},
            headers=t.auth("admin"),
        )
        assert response.status_code == 201, response.text
        calls = await topic_reader(t.logical("telephony.calls"))
        native_ids: dict[str, str] = {}
        for provider, names in SCENARIOS.items():
            for name in names:
                items = deliveries(provider, name, shift)
                for item in items:
                    response = await post(t.client, provider, item)
                    assert response.status_code == 200, (provider, name, response.text)
                first = items[0].get("json") or items[0]["params"]
                native = first.get("entry_id") or first.get("ParentCallSid") or first["CallSid"]
                native_ids[f"{provider}-{name}"] = f"{provider}:{native}"
        for events in hooks.values():
            response = await t.post_events(events)
            assert response.status_code == 202, response.text
        all_ids = {*native_ids.values(), *hooks}

        def ended(records: list[Any]) -> bool:
            done = {
                r.key.decode() for r in records if json.loads(r.value)["event_type"] == "CallEnded"
            }
            return all_ids <= done

        await calls.wait_for(ended, timeout=60, message="CallEnded of all sixteen calls")

    by_call = helpers.by_call(calls.records)
    for key, native in native_ids.items():
        assert canonical(by_call[native]) == canonical(by_call[wh_prefix + key]), key

    # What they are, read from the provider's deliveries alone.
    for provider in SCENARIOS:
        answered = canonical(by_call[native_ids[f"{provider}-answered-incoming"]])
        started, end = answered[0][1], answered[-1][1]
        assert (started["direction"], started["caller"], started["clinic_id"]) == (
            "incoming",
            "+79161234567",
            "clinic-msk-arbat",
        )
        assert (end["disposition"], end["extension"]) == ("answered", "101")
        missed = canonical(by_call[native_ids[f"{provider}-missed-incoming"]])
        assert missed[-1][1]["disposition"] == "missed"
        transfer_key = "transfer-consultative" if provider == "mango" else "transfer"
        moved = [
            (p["from_extension"], p["to_extension"])
            for kind, p in canonical(by_call[native_ids[f"{provider}-{transfer_key}"]])
            if kind == "CallTransferred"
        ]
        assert moved == [("101", "102")], provider
        outgoing = canonical(by_call[native_ids[f"{provider}-outgoing"]])
        assert (outgoing[0][1]["direction"], outgoing[0][1]["extension"]) == ("outgoing", "101")


async def test_unsigned_wrongly_signed_stale_and_replayed_deliveries_are_refused(
    start_telephony: Any, helpers: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    shift = helpers.recent_second(5) - T
    mango_item = deliveries("mango", "outgoing", shift)[0]
    twilio_item = deliveries("twilio", "outgoing", shift)[0]
    with structlog.testing.capture_logs() as logs:
        async with start_telephony(helpers.unique_tag("cloudrefuse"), **ENV) as t:
            for provider, item in (("mango", mango_item), ("twilio", twilio_item)):
                first = await post(t.client, provider, item)
                assert first.status_code == 200, first.text
                replay = await post(t.client, provider, item)
                assert replay.status_code == 409, replay.text

            # Mango: the right form, a wrong salt; no fields at all.
            from switchboard_telephony.adapters.pbx import mango, twilio

            base = f"{PUBLIC}/api/telephony/pbx"
            forged = mango.signed_request(
                f"{base}/mango", KEY, "not-the-salt", "events/call", mango_item["json"]
            )
            path = forged.url.removeprefix(PUBLIC)
            answer = await t.client.post(path, content=forged.body, headers=forged.headers)
            assert answer.status_code == 401 and "sign" in answer.json()["detail"]
            answer = await t.client.post(path, content=b"json=%7B%7D")
            assert answer.status_code == 401

            # Twilio: signed for another URL, a wrong token, no signature.
            params = {**twilio_item["params"], "SequenceNumber": "9"}
            for request in (
                twilio.signed_request(f"{base}/twilio", TOKEN, params, "did=%2B74950000000"),
                twilio.signed_request(f"{base}/twilio", "not-the-token", params),
            ):
                path = f"/api/telephony/pbx/twilio?{twilio_item['query']}"
                answer = await t.client.post(path, content=request.body, headers=request.headers)
                assert answer.status_code == 401, answer.text
            answer = await t.client.post(
                "/api/telephony/pbx/twilio",
                content=request.body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 401

            # Stale: signed correctly, but a day old.
            old = deliveries("mango", "outgoing", shift - timedelta(days=1))[0]
            answer = await post(t.client, "mango", old)
            assert answer.status_code == 401 and "stale" in answer.json()["detail"]
    out, err = capfd.readouterr()
    written = repr(logs) + out + err
    assert "pbx.webhook_refused" in written
    for secret in (SALT, TOKEN):
        assert secret not in written


async def test_an_adapter_without_its_secrets_is_not_there(
    start_telephony: Any, helpers: Any
) -> None:
    async with start_telephony(helpers.unique_tag("cloudoff")) as t:
        answer = await t.client.post("/api/telephony/pbx/twilio", content=b"CallSid=CA1")
        assert answer.status_code == 401 and "not configured" in answer.json()["detail"]
        answer = await t.client.post("/api/telephony/pbx/mango/events/call", content=b"")
        assert answer.status_code == 401
