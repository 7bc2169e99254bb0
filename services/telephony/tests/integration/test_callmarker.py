"""Callmarker: every ended call's data reaches a local HTTP server standing in for Callmarker,
exactly once, though the server is down at first and telephony restarts in between; and the
tags Callmarker sends back are attached to the call and published."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.standins import free_port

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SETTINGS = "/api/telephony/settings/integrations/callmarker"
DELIVERIES = f"{SETTINGS}/deliveries"
TAGS = "/api/telephony/callmarker/tags"
CM_TOKEN = "cm-token-5d1e-secret"
ENV = {
    "TELEPHONY_CALLMARKER_POLL_INTERVAL_SECONDS": "0.2",
    "TELEPHONY_CALLMARKER_BACKOFF_INITIAL_SECONDS": "0.2",
    "TELEPHONY_CALLMARKER_BACKOFF_MAX_SECONDS": "1",
    "TELEPHONY_CALLMARKER_TIMEOUT_SECONDS": "2",
    "TELEPHONY_CALLMARKER_TAGS_MAX_BYTES": "2048",
    "TELEPHONY_REORDER_GRACE_SECONDS": "2",
}


class StandIn:
    """What the Callmarker stand-in received: every accepted delivery, per call."""

    def __init__(self, failures_first: int) -> None:
        self.accepted: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.refused = 0
        self._failures_left = failures_first

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/requests")
        async def receive(request: Request) -> JSONResponse:
            if request.headers.get("x-callmarker-token") != CM_TOKEN:
                return JSONResponse({"error": "token"}, status_code=401)
            if self._failures_left > 0:
                # Up, but not well yet: one 503 before it takes anything.
                self._failures_left -= 1
                self.refused += 1
                return JSONResponse({"error": "warming up"}, status_code=503)
            body = await request.json()
            self.accepted[body["call_id"]].append(
                {"body": body, "idempotency_key": request.headers.get("idempotency-key")}
            )
            return JSONResponse({"ok": True})

        return app


@asynccontextmanager
async def _serve(stand_in: StandIn, port: int) -> AsyncIterator[None]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            stand_in.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await wait_until(started, message="the Callmarker stand-in to listen")
    try:
        yield
    finally:
        server.should_exit = True
        await task


def _calls(helpers: Any, names: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Events of answered and missed calls, and what Callmarker should get for each."""
    start = helpers.recent_second(minutes_ago=40)
    events: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    for i, name in enumerate(names):
        call_id = f"cm-{name}-{uuid.uuid4().hex[:6]}"
        at = start + timedelta(minutes=i)
        answered = i % 2 == 0
        events.append(
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": helpers.pbx_time(at),
                "from": f"+7916555014{i}",
                "to": "101",
            }
        )
        if answered:
            events.append(
                {
                    "type": "call.answered",
                    "call_id": call_id,
                    "timestamp": helpers.pbx_time(at + timedelta(seconds=5)),
                }
            )
        ends = at + timedelta(seconds=65 if answered else 25)
        events.append(
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": helpers.pbx_time(ends),
                "status": "answered" if answered else "no_answer",
            }
        )
        expected[call_id] = {
            "disposition": "answered" if answered else "missed",
            "durations": (5, 60, 65) if answered else (25, 0, 25),
            "caller": f"+7916555014{i}",
        }
    return events, expected


async def _status(telephony: Any) -> dict[str, Any]:
    response = await telephony.client.get(DELIVERIES, headers=telephony.auth("admin"))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_ended_calls_reach_callmarker_exactly_once_across_an_outage_and_a_restart(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    port = free_port()
    tag = helpers.unique_tag("cm")
    before, expected_before = _calls(helpers, ["a", "b", "c", "d"])
    after, expected_after = _calls(helpers, ["e", "f"])
    expected = {**expected_before, **expected_after}
    settings_body = {
        "enabled": True,
        "call_data_url": f"http://127.0.0.1:{port}/calls",
        "request_data_url": f"http://127.0.0.1:{port}/requests",
        "integration_id": "cm-42",
        "token": CM_TOKEN,
        "time_lag_minutes": 0,
    }

    # 1. Callmarker is down: calls still flow, deliveries wait and retry.
    async with start_telephony(tag, **ENV) as telephony:
        saved = await telephony.client.put(
            SETTINGS, json=settings_body, headers=telephony.auth("admin")
        )
        assert saved.status_code == 200, saved.text
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        assert (await telephony.post_events(before)).status_code == 202
        await calls_topic.wait_for(
            lambda records: all(
                "CallEnded" in helpers.event_types(helpers.by_call(records).get(c, []))
                for c in expected_before
            ),
            timeout=30,
            message="CallEnded while Callmarker is down",
        )

        async def retried() -> dict[str, Any] | None:
            status = await _status(telephony)
            return status if status["failing"] == len(expected_before) else None

        down = await wait_until(retried, timeout=30, message="every delivery failed once")
        assert down["pending"] == len(expected_before) and down["delivered"] == 0
        assert down["last_error"]
        assert CM_TOKEN not in json.dumps(down)

    # 2. Callmarker comes up (answering 503 once); telephony starts again.
    stand_in = StandIn(failures_first=1)
    async with _serve(stand_in, port), start_telephony(tag, **ENV) as telephony:
        assert (await telephony.post_events(after)).status_code == 202

        async def all_delivered() -> dict[str, Any] | None:
            status = await _status(telephony)
            done = status["pending"] == 0 and status["delivered"] == len(expected)
            return status if done and set(stand_in.accepted) >= set(expected) else None

        await wait_until(all_delivered, timeout=45, message="every call delivered")

    assert stand_in.refused == 1
    assert set(stand_in.accepted) == set(expected)
    for call_id, want in expected.items():
        deliveries = stand_in.accepted[call_id]
        assert len(deliveries) == 1, (call_id, len(deliveries))
        body = deliveries[0]["body"]
        assert deliveries[0]["idempotency_key"] == call_id
        assert body["integration_id"] == "cm-42"
        assert body["disposition"] == want["disposition"]
        assert body["caller"] == want["caller"]
        assert body["extension"] == "101"
        got = (body["wait_seconds"], body["talk_seconds"], body["total_seconds"])
        assert got == want["durations"], call_id
        assert CM_TOKEN not in json.dumps(body)


async def test_callmarker_tags_are_attached_and_published(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    events, expected = _calls(helpers, ["tagged"])
    (call_id,) = expected
    settings_body = {
        "enabled": True,
        "call_data_url": "http://127.0.0.1:9/calls",
        "request_data_url": "http://127.0.0.1:9/requests",
        "integration_id": "cm-42",
        "token": CM_TOKEN,
        "time_lag_minutes": 0,
    }
    good = {"X-Callmarker-Token": CM_TOKEN}
    async with start_telephony(helpers.unique_tag("cmtags"), **ENV) as telephony:
        client = telephony.client
        admin = telephony.auth("admin")
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        body = {"call_id": call_id, "tags": ["lead", "booking"]}

        # Disabled (never configured): no token is right.
        assert (await client.post(TAGS, json=body, headers=good)).status_code == 401
        assert (await client.put(SETTINGS, json=settings_body, headers=admin)).status_code == 200
        assert (await telephony.post_events(events)).status_code == 202
        await calls_topic.wait_for(
            lambda records: "CallEnded" in helpers.event_types(helpers.by_call(records)[call_id]),
            timeout=30,
            message="the call",
        )

        assert (await client.post(TAGS, json=body)).status_code == 401
        wrong = await client.post(TAGS, json=body, headers={"X-Callmarker-Token": "guess"})
        assert wrong.status_code == 401
        unknown = await client.post(
            TAGS, json={"call_id": "no-such-call", "tags": ["x"]}, headers=good
        )
        assert unknown.status_code == 404
        invalid = await client.post(TAGS, json={"call_id": call_id, "tags": "lead"}, headers=good)
        assert invalid.status_code == 422
        assert [e["field"] for e in invalid.json()["errors"]] == ["tags"]
        not_json = await client.post(TAGS, content=b"{", headers=good)
        assert not_json.status_code == 422
        huge = await client.post(
            TAGS, json={"call_id": call_id, "tags": ["x" * 90] * 40}, headers=good
        )
        assert huge.status_code == 413

        tagged = await client.post(
            TAGS, json={"call_id": call_id, "tags": [" lead ", "booking", "lead"]}, headers=good
        )
        assert tagged.status_code == 200, tagged.text
        assert tagged.json() == {"call_id": call_id, "tags": ["lead", "booking"]}
        # The same tags again change nothing; new ones replace them.
        again = await client.post(TAGS, json=body, headers=good)
        assert again.status_code == 200
        changed = await client.post(
            TAGS, json={"call_id": call_id, "tags": ["complaint"]}, headers=good
        )
        assert changed.json()["tags"] == ["complaint"]

        def tag_events(records: list[Any]) -> list[dict[str, Any]]:
            return [
                e["payload"]
                for e in helpers.by_call(records)[call_id]
                if e["event_type"] == "CallTagged"
            ]

        await calls_topic.wait_for(
            lambda records: len(tag_events(records)) >= 2, message="two CallTagged"
        )

    published = tag_events(calls_topic.records)
    assert [p["tags"] for p in published] == [["lead", "booking"], ["complaint"]]
    assert {p["source"] for p in published} == {"callmarker"}
    assert {p["call_id"] for p in published} == {call_id}
