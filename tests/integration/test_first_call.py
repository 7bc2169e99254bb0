"""The first slice, end to end through real Kafka and PostgreSQL.

PBX webhook → ``pbx.events.raw`` → telephony's state machine → ``telephony.calls``
→ analytics' projection → ``GET /api/analytics/calls``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until
from switchboard_telephony.domain.signing import signed_json

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "dev-pbx-token"


def _manager_session() -> dict[str, str]:
    """The headers of a logged-in manager (the call log is not public)."""
    from switchboard_analytics.settings import AnalyticsSettings

    secret = AnalyticsSettings().auth_secret.get_secret_value()
    maria = Principal(operator_id="op-maria", name="Maria", role="manager")
    return {"Authorization": f"Bearer {issue_token(maria, secret)}"}


def _events(call_id: str) -> list[dict[str, Any]]:
    # An incoming call from a Moscow mobile written the way a PBX writes it, ringing
    # extension 101: answered after 7 s, then 90 s of talk.
    return [
        {
            "type": "call.started",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:00:00+03:00",
            "from": "8 (916) 123-45-67",
            "to": "101",
            "extension": "101",
        },
        {
            "type": "call.answered",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:00:07+03:00",
            "extension": "101",
            "operator_id": "op-anna",
        },
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:01:37+03:00",
            "status": "answered",
            "recording_url": "https://pbx.example/rec/1.mp3",
        },
    ]


async def test_a_call_travels_from_the_webhook_to_the_call_log(
    settings_env: dict[str, str],
    running_service: Any,
    topic_reader: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Topics, consumer groups and databases of its own: no time lag saved by another test,
    # and no other package's long-lived analytics sharing the consumer group.
    monkeypatch.setenv("DATABASE_SUFFIX", f"_first{settings_env['DATABASE_SUFFIX']}")
    monkeypatch.setenv("TOPIC_PREFIX", f"{settings_env['TOPIC_PREFIX']}first.")
    from switchboard_analytics.bootstrap import build_app as build_analytics
    from switchboard_telephony.bootstrap import build_app as build_telephony

    call_id = f"it-{uuid.uuid4().hex[:10]}"
    events = _events(call_id)
    calls_topic = await topic_reader("first.telephony.calls")

    async with (
        running_service(build_telephony()) as telephony,
        running_service(build_analytics()) as analytics,
    ):
        body, headers = signed_json(TOKEN, events)
        first = await telephony.post("/api/telephony/pbx/events", content=body, headers=headers)
        assert first.status_code == 202, first.text
        assert first.json() == {"accepted": 3}
        # The PBX delivers the answer again: one call, one row, one CallAnswered.
        body, headers = signed_json(TOKEN, events[1])
        again = await telephony.post("/api/telephony/pbx/events", content=body, headers=headers)
        assert again.status_code == 202, again.text

        async def logged() -> list[dict[str, Any]]:
            response = await analytics.get(
                "/api/analytics/calls", params={"limit": 500}, headers=_manager_session()
            )
            assert response.status_code == 200, response.text
            page = response.json()
            return [row for row in page["items"] if row["call_id"] == call_id]

        rows = await wait_until(logged, timeout=20, message="call in the call log")

        def canonical(records: list[Any]) -> Counter[str]:
            import json

            return Counter(
                json.loads(r.value)["event_type"] for r in records if r.key == call_id.encode()
            )

        await calls_topic.wait_for(
            lambda recs: canonical(recs)["CallEnded"] == 1, message="CallEnded"
        )

    assert len(rows) == 1
    row = rows[0]
    assert row["call_type"] == "incoming"
    assert row["src"] == "+79161234567"
    assert row["dst"] == "101"
    assert row["disposition"] == "answered"
    assert row["admin_id"] == "op-anna"
    assert (row["wait_seconds"], row["talk_seconds"], row["total_seconds"]) == (7, 90, 97)
    assert row["has_recording"] is True
    assert row["recording"] == f"/api/analytics/calls/{call_id}/recording"
    assert row["started_at"].startswith("2026-11-25T07:00:00")
    counts = canonical(calls_topic.records)
    assert [counts[k] for k in ("CallStarted", "CallAnswered", "CallEnded")] == [1, 1, 1]


async def test_the_webhook_refuses_a_wrong_token(
    settings_env: dict[str, str], running_service: Any
) -> None:
    from switchboard_telephony.bootstrap import build_app as build_telephony

    async with running_service(build_telephony()) as telephony:
        body, headers = signed_json("wrong", _events("x")[0])
        response = await telephony.post("/api/telephony/pbx/events", content=body, headers=headers)
    assert response.status_code == 401
