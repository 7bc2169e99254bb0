"""The PBX webhook accepts only fresh deliveries signed with the integration token, and each
of them once: a captured delivery can be neither replayed nor sent late."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from switchboard_runtime.testing import fail_next_publish
from switchboard_telephony.domain.signing import signed_headers, signed_json

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

URL = "/api/telephony/pbx/events"


def _started(helpers: Any, call_id: str) -> dict[str, Any]:
    return {
        "type": "call.started",
        "call_id": call_id,
        "timestamp": helpers.pbx_time(helpers.recent_second()),
        "from": "+79161234567",
        "to": "101",
        "extension": "101",
    }


async def test_a_replayed_or_late_delivery_is_refused_and_published_once(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    call_id = f"sig-{uuid.uuid4().hex[:8]}"
    env = {"TELEPHONY_PBX_SIGNATURE_TOLERANCE_SECONDS": "60"}
    async with start_telephony(helpers.unique_tag("signing"), **env) as telephony:
        raw_topic = await topic_reader(telephony.logical("pbx.events.raw"))
        client = telephony.client
        body, headers = signed_json(helpers.PBX_TOKEN, [_started(helpers, call_id)])

        first = await client.post(URL, content=body, headers=headers)
        assert first.status_code == 202, first.text
        replay = await client.post(URL, content=body, headers=headers)
        assert replay.status_code == 409, replay.text
        assert "already accepted" in replay.json()["detail"]

        # Signed properly, but 61 s old (or ahead) with a 60 s tolerance.
        now = int(time.time())
        for at in (now - 61, now + 61):
            late = await client.post(
                URL, content=body, headers=signed_headers(helpers.PBX_TOKEN, body, timestamp=at)
            )
            assert late.status_code == 401, late.text
            assert "stale delivery" in late.json()["detail"]
        # Inside the window a fresh signature of the same events is a new delivery.
        resent = await client.post(
            URL, content=body, headers=signed_headers(helpers.PBX_TOKEN, body, timestamp=now - 59)
        )
        assert resent.status_code == 202, resent.text

        await raw_topic.wait_for(
            lambda records: sum(r.key == call_id.encode() for r in records) >= 2,
            message="the two accepted deliveries",
        )
        # One more poll: a wrongly accepted replay would be on the topic by now too.
        sentinel_id = f"{call_id}-end"
        done, done_headers = signed_json(helpers.PBX_TOKEN, _started(helpers, sentinel_id))
        assert (await client.post(URL, content=done, headers=done_headers)).status_code == 202
        await raw_topic.wait_for(
            lambda records: any(r.key == sentinel_id.encode() for r in records),
            message="the sentinel delivery",
        )
    assert sum(r.key == call_id.encode() for r in raw_topic.records) == 2


async def test_unsigned_forged_and_tampered_deliveries_are_refused(
    start_telephony: Any, helpers: Any
) -> None:
    async with start_telephony(helpers.unique_tag("forged")) as telephony:
        client = telephony.client
        body = json.dumps(_started(helpers, "forged-1")).encode()
        good = signed_headers(helpers.PBX_TOKEN, body)
        cases = {
            # An old client that sends the token itself: the token never travels now.
            "token header only": {"X-Integration-Token": helpers.PBX_TOKEN},
            "no signature": {"X-Switchboard-Timestamp": good["X-Switchboard-Timestamp"]},
            "no timestamp": {"X-Switchboard-Signature": good["X-Switchboard-Signature"]},
            "timestamp not a number": {**good, "X-Switchboard-Timestamp": "yesterday"},
            "signed with another token": signed_headers("not-the-token", body),
            "signature of another timestamp": {
                **good,
                "X-Switchboard-Timestamp": str(int(good["X-Switchboard-Timestamp"]) - 1),
            },
        }
        for case, headers in cases.items():
            response = await client.post(URL, content=body, headers=headers)
            assert response.status_code == 401, (case, response.text)
            assert helpers.PBX_TOKEN not in response.text
        tampered = await client.post(URL, content=body.replace(b"101", b"102"), headers=good)
        assert tampered.status_code == 401, tampered.text
        assert "does not match" in tampered.json()["detail"]
        # The untouched delivery still goes through: none of the refusals consumed it.
        accepted = await client.post(URL, content=body, headers=good)
        assert accepted.status_code == 202, accepted.text


async def test_without_redis_the_webhook_asks_the_pbx_to_retry(
    start_telephony: Any, helpers: Any
) -> None:
    # Nothing listens on port 9 of the loopback: the replay check cannot be made.
    env = {"TELEPHONY_REDIS_URL": "redis://127.0.0.1:9/0"}
    async with start_telephony(helpers.unique_tag("noredis"), **env) as telephony:
        body, headers = signed_json(helpers.PBX_TOKEN, _started(helpers, "noredis-1"))
        response = await telephony.client.post(URL, content=body, headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"


async def test_when_kafka_does_not_acknowledge_the_same_delivery_is_accepted_on_retry(
    start_telephony: Any, topic_reader: Any, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_id = f"nokafka-{uuid.uuid4().hex[:8]}"
    async with start_telephony(helpers.unique_tag("nokafka")) as telephony:
        raw_topic = await topic_reader(telephony.logical("pbx.events.raw"))
        refused = fail_next_publish(telephony.app.state.runtime.broker, monkeypatch)
        body, headers = signed_json(helpers.PBX_TOKEN, [_started(helpers, call_id)])
        response = await telephony.client.post(URL, content=body, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert "retry later" in response.json()["detail"]
        # Not accepted, so not remembered as a replay: the PBX's retry goes through.
        retried = await telephony.client.post(URL, content=body, headers=headers)
        assert retried.status_code == 202, retried.text
        await raw_topic.wait_for(
            lambda records: any(r.key == call_id.encode() for r in records),
            message="the retried delivery",
        )
    assert refused == [telephony.settings.topic("pbx.events.raw")]
