"""Integration settings (Calltouch, Callmarker): admin only, validated, token write-only,
changes published on ``telephony.settings``; and the time lag they set, end to end."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLTOUCH = "/api/telephony/settings/integrations/calltouch"
CALLMARKER = "/api/telephony/settings/integrations/callmarker"
TOKEN = "ct-secret-7f3a9c-never-shown"


def _valid(**changes: Any) -> dict[str, Any]:
    body = {
        "enabled": True,
        "call_data_url": "https://api.calltouch.example/calls",
        "request_data_url": "https://api.calltouch.example/requests",
        "integration_id": "site-4242",
        "token": TOKEN,
        "time_lag_minutes": 0,
    }
    body.update(changes)
    return body


def _error_fields(response: Any) -> list[str]:
    return sorted(e["field"] for e in response.json()["errors"])


async def test_settings_are_admin_only_validated_and_never_show_the_token(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    async with start_telephony(helpers.unique_tag("settings")) as telephony:
        client = telephony.client
        admin = telephony.auth("admin")
        settings_topic = await topic_reader(telephony.logical("telephony.settings"))

        for role, code in ((None, 401), ("call_centre", 403), ("clinic_staff", 403)):
            headers = telephony.auth(role)
            assert (await client.get(CALLTOUCH, headers=headers)).status_code == code, role
            put = await client.put(CALLTOUCH, json=_valid(), headers=headers)
            assert put.status_code == code, role

        fresh = await client.get(CALLTOUCH, headers=admin)
        assert fresh.status_code == 200
        assert fresh.json()["enabled"] is False
        assert fresh.json()["token_set"] is False
        assert fresh.json()["pbx_time_lag"] == {"minutes": 0, "source": "environment"}
        assert (
            await client.get("/api/telephony/settings/integrations/x", headers=admin)
        ).status_code == 404

        # Enabled needs every field; each missing one is named.
        response = await client.put(CALLTOUCH, json={"enabled": True}, headers=admin)
        assert response.status_code == 422, response.text
        assert _error_fields(response) == [
            "call_data_url",
            "integration_id",
            "request_data_url",
            "time_lag_minutes",
            "token",
        ]
        response = await client.put(
            CALLTOUCH,
            json=_valid(
                call_data_url="ftp://files.example/calls",
                request_data_url="not a url",
                time_lag_minutes=5000,
            ),
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert _error_fields(response) == ["call_data_url", "request_data_url", "time_lag_minutes"]
        for lag in ("5", 5.5, True):
            response = await client.put(CALLTOUCH, json=_valid(time_lag_minutes=lag), headers=admin)
            assert response.status_code == 422, (lag, response.text)
            assert _error_fields(response) == ["time_lag_minutes"]
        response = await client.put(CALLTOUCH, json=_valid(colour="red"), headers=admin)
        assert response.status_code == 422
        # A too-long token is refused without being echoed back.
        response = await client.put(CALLTOUCH, json=_valid(token="t" * 600), headers=admin)
        assert response.status_code == 422
        assert "t" * 600 not in response.text

        saved = await client.put(CALLTOUCH, json=_valid(time_lag_minutes=-30), headers=admin)
        assert saved.status_code == 200, saved.text
        assert saved.json()["token_set"] is True
        assert saved.json()["pbx_time_lag"] == {"minutes": -30, "source": "calltouch"}
        read = await client.get(CALLTOUCH, headers=admin)
        assert read.json()["enabled"] is True
        assert read.json()["integration_id"] == "site-4242"
        assert "token" not in read.json()
        # Omitting the token keeps it; null clears it, which an enabled integration refuses.
        body = _valid()
        del body["token"]
        kept = await client.put(CALLTOUCH, json=body, headers=admin)
        assert kept.status_code == 200 and kept.json()["token_set"] is True
        cleared = await client.put(CALLTOUCH, json=_valid(token=None), headers=admin)
        assert cleared.status_code == 422
        assert _error_fields(cleared) == ["token"]
        off = await client.put(CALLTOUCH, json={"enabled": False, "token": None}, headers=admin)
        assert off.status_code == 200, off.text
        assert off.json()["token_set"] is False
        assert off.json()["pbx_time_lag"] == {"minutes": 0, "source": "environment"}
        for response in (fresh, saved, read, kept, off):
            assert TOKEN not in response.text

        await settings_topic.wait_for(
            lambda records: len(records) >= 3, message="IntegrationSettingsChanged events"
        )

    published = helpers.envelopes(settings_topic.records)
    assert {e["event_type"] for e in published} == {"IntegrationSettingsChanged"}
    assert {r.key for r in settings_topic.records} == {b"calltouch"}
    assert [e["payload"]["enabled"] for e in published] == [True, True, False]
    assert all(TOKEN.encode() not in r.value for r in settings_topic.records)
    assert set(published[0]["payload"]) == {"integration", "enabled", "changed_at"}


async def test_the_time_lag_corrects_pbx_times_from_the_environment_or_an_integration(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    pbx_start = helpers.recent_second(minutes_ago=30)
    suffix = uuid.uuid4().hex[:6]

    def call(name: str) -> tuple[str, list[dict[str, Any]]]:
        call_id = f"lag-{name}-{suffix}"
        return call_id, [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": helpers.pbx_time(pbx_start),
                "from": "+79165550131",
                "to": "101",
            },
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": helpers.pbx_time(pbx_start + timedelta(seconds=20)),
                "status": "no_answer",
            },
        ]

    def marker_body(enabled: bool, lag: int) -> dict[str, Any]:
        return {
            "enabled": enabled,
            "call_data_url": "http://127.0.0.1:9/calls",
            "request_data_url": "http://127.0.0.1:9/requests",
            "integration_id": "cm-1",
            "token": "cm-token",
            "time_lag_minutes": lag,
        }

    # (what the admin sets before the call, the lag expected on it, its source)
    steps: list[tuple[str, dict[str, Any] | None, str | None, int, str]] = [
        ("env", None, None, -90, "environment"),
        ("calltouch", _valid(time_lag_minutes=15), CALLTOUCH, 15, "calltouch"),
        ("both", marker_body(True, 40), CALLMARKER, 15, "calltouch"),
        ("callmarker", {"enabled": False}, CALLTOUCH, 40, "callmarker"),
        ("neither", marker_body(False, 40), CALLMARKER, -90, "environment"),
    ]
    async with start_telephony(
        helpers.unique_tag("lag"), TELEPHONY_TIME_LAG_MINUTES="-90"
    ) as telephony:
        admin = telephony.auth("admin")
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        expected: dict[str, timedelta] = {}
        for name, body, url, minutes, source in steps:
            if body is not None and url is not None:
                response = await telephony.client.put(url, json=body, headers=admin)
                assert response.status_code == 200, response.text
                assert response.json()["pbx_time_lag"] == {"minutes": minutes, "source": source}
            call_id, events = call(name)
            expected[call_id] = timedelta(minutes=minutes)
            assert (await telephony.post_events(events)).status_code == 202
            # One call at a time: each must be processed under the lag set before it.
            await calls_topic.wait_for(
                lambda records, c=call_id: (
                    "CallEnded" in helpers.event_types(helpers.by_call(records)[c])
                ),
                timeout=30,
                message=f"the {name} call",
            )

    calls = helpers.by_call(calls_topic.records)
    for call_id, lag in expected.items():
        started = helpers.one(calls[call_id], "CallStarted")
        ended = helpers.one(calls[call_id], "CallEnded")
        assert helpers.parse_time(started["started_at"]) == pbx_start + lag, call_id
        assert helpers.parse_time(ended["ended_at"]) == pbx_start + lag + timedelta(seconds=20)
        assert ended["total_seconds"] == 20
