"""Bad input at both doors: the webhook answers 401/413/422 (accepting a batch's valid
items), and malformed records on ``pbx.events.raw`` go to the dead-letter topic with their
reason while the partition keeps moving."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _call(helpers: Any, call_id: str) -> list[dict[str, Any]]:
    start = helpers.recent_second(minutes_ago=15)
    return [
        {
            "type": "call.started",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start),
            "from": "+79165550111",
            "to": "101",
        },
        {
            "type": "call.answered",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start + timedelta(seconds=4)),
        },
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start + timedelta(seconds=64)),
            "status": "answered",
        },
    ]


async def test_the_webhook_says_what_is_wrong_and_keeps_the_valid_items(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    call_id = f"wh-{uuid.uuid4().hex[:8]}"
    started, answered, ended = _call(helpers, call_id)
    batch = [
        started,
        {"type": "call.exploded", "call_id": call_id, "timestamp": started["timestamp"]},
        answered,
        {"type": "call.ringing", "timestamp": started["timestamp"], "extension": "101"},
        "not an object",
        {"type": "call.ringing", "call_id": call_id, "timestamp": "2026-01-01T10:00:00"},
        {"type": "call.ringing", "call_id": call_id, "timestamp": "1970-01-01T00:00:00Z"},
        ended,
    ]
    env = {"TELEPHONY_WEBHOOK_MAX_EVENTS": "10", "TELEPHONY_WEBHOOK_MAX_BYTES": "4096"}

    async with start_telephony(helpers.unique_tag("webhook"), **env) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        client = telephony.client
        url = "/api/telephony/pbx/events"

        started_body = json.dumps(started).encode()
        missing = await client.post(url, content=started_body)
        wrong = await client.post(
            url, content=started_body, headers=helpers.signed(started_body, token="nope")
        )
        assert (missing.status_code, wrong.status_code) == (401, 401)
        assert "nope" not in wrong.text

        too_many = await telephony.post_events([started] * 11)
        assert too_many.status_code == 413, too_many.text
        assert "10 events" in too_many.json()["detail"]
        too_big = await telephony.post_events([{**started, "pad": "x" * 5000}])
        assert too_big.status_code == 413, too_big.text

        not_json = await client.post(
            url, content=b"{nope", headers={**helpers.signed(b"{nope"), "content-type": "x"}
        )
        assert not_json.status_code == 400

        response = await telephony.post_events(batch)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["accepted"] == 3
        rejected = {item["index"]: item for item in body["rejected"]}
        assert sorted(rejected) == [1, 3, 4, 5, 6]
        fields = {i: [e["field"] for e in item["errors"]] for i, item in rejected.items()}
        assert fields[1] == ["type"] and rejected[1]["reason"] == "unknown_type"
        assert fields[3] == ["call_id"] and rejected[3]["reason"] == "missing_call_id"
        assert rejected[4]["reason"] == "not_an_object"
        assert fields[5] == ["timestamp"] and rejected[5]["reason"] == "invalid_timestamp"
        assert fields[6] == ["timestamp"] and rejected[6]["reason"] == "impossible_timestamp"

        # The three valid items of the refused batch made a whole call.
        await calls_topic.wait_for(
            lambda records: "CallEnded" in helpers.event_types(helpers.by_call(records)[call_id]),
            timeout=30,
            message="the call from the valid items",
        )
    envs = helpers.by_call(calls_topic.records)[call_id]
    assert helpers.event_types(envs) == ["CallStarted", "CallAnswered", "CallEnded"]
    ended_payload = envs[-1]["payload"]
    assert (ended_payload["wait_seconds"], ended_payload["talk_seconds"]) == (4, 60)


def _dead_lettered(metrics_text: str, topic: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "switchboard_events_dead_lettered":
            continue
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_total")
                and labels.get("topic") == topic
                and labels.get("group") == "telephony.pbx-ingest"
            ):
                counts[labels["reason"]] = sample.value
    return counts


async def test_malformed_raw_events_are_dead_lettered_and_the_partition_moves_on(
    start_telephony: Any, topic_reader: Any, infra: Any, helpers: Any
) -> None:
    from aiokafka import AIOKafkaProducer

    call_id = f"dlq-{uuid.uuid4().hex[:8]}"
    good_start = _call(helpers, call_id)[0]
    when = good_start["timestamp"]
    bad: list[tuple[bytes, str]] = [
        (b"{this is not json", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b'["an", "array"]', "not_an_object"),
        (
            json.dumps({"type": "call.exploded", "call_id": call_id, "timestamp": when}).encode(),
            "unknown_type",
        ),
        (json.dumps({"type": "call.started", "timestamp": when}).encode(), "missing_call_id"),
        (
            json.dumps(
                {"type": "call.started", "call_id": call_id, "timestamp": "1970-01-02T00:00:00Z"}
            ).encode(),
            "impossible_timestamp",
        ),
        (
            json.dumps(
                {"type": "call.started", "call_id": call_id, "timestamp": "2999-01-01T00:00:00Z"}
            ).encode(),
            "impossible_timestamp",
        ),
    ]

    async with start_telephony(helpers.unique_tag("dlq")) as telephony:
        raw_topic = telephony.topic("pbx.events.raw")
        dlq = await topic_reader(telephony.logical("pbx.events.raw.dlq.telephony.pbx-ingest"))
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
        await producer.start()
        try:
            # One key: one partition, so the good event is behind every bad one.
            for value, _reason in bad:
                await producer.send_and_wait(raw_topic, value, key=call_id.encode())
            await producer.send_and_wait(
                raw_topic, json.dumps(good_start).encode(), key=call_id.encode()
            )
        finally:
            await producer.stop()

        await dlq.wait_for(lambda records: len(records) >= len(bad), message="dead letters")
        await calls_topic.wait_for(
            lambda records: "CallStarted" in helpers.event_types(helpers.by_call(records)[call_id]),
            message="the good event after the bad ones",
        )
        metrics = (await telephony.client.get("/metrics")).text

    letters = [(r.value, dict(r.headers)) for r in dlq.records]
    assert [value for value, _ in letters] == [value for value, _ in bad]
    for (_value, headers), (_, reason) in zip(letters, bad, strict=True):
        assert headers["x-dlq-reason"].decode() == reason
        assert headers["x-original-topic"].decode() == raw_topic
        assert headers["x-consumer-group"].decode() == "telephony.pbx-ingest"
        assert headers["x-dlq-detail"]
    expected_counts: dict[str, float] = {}
    for _, reason in bad:
        expected_counts[reason] = expected_counts.get(reason, 0) + 1
    assert _dead_lettered(metrics, raw_topic) == expected_counts
