"""The call state machine through real Kafka and PostgreSQL: PBX webhook → ``pbx.events.raw``
→ telephony → ``telephony.calls``.

Expected values are computed here from the events the test sends, not by the code under test.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GRACE_SECONDS = 2.0
NO_END_TIMEOUT_SECONDS = 3.0
FAST = {
    "TELEPHONY_REORDER_GRACE_SECONDS": str(GRACE_SECONDS),
    "TELEPHONY_NO_END_TIMEOUT_SECONDS": str(NO_END_TIMEOUT_SECONDS),
}
CANONICAL = ["CallStarted", "CallAnswered", "CallEnded"]


def _answered_call(
    helpers: Any, call_id: str, start: datetime, wait: int, talk: int, caller: str, **extra: Any
) -> dict[str, dict[str, Any]]:
    """An incoming call to the clinic's number, ringing 101, answered, then hung up."""
    return {
        "started": {
            "type": "call.started",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start),
            "from": caller,
            "to": "+7 (495) 123-45-67",
            "extension": "101",
            **extra,
        },
        "answered": {
            "type": "call.answered",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start + timedelta(seconds=wait)),
            "extension": "101",
            "operator_id": "op-anna",
            **extra,
        },
        "ended": {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": helpers.pbx_time(start + timedelta(seconds=wait + talk)),
            "status": "answered",
            "recording_url": f"https://pbx.example/rec/{call_id}.mp3",
            **extra,
        },
    }


def _ended_once(calls: dict[str, list[dict[str, Any]]], call_ids: Any) -> bool:
    return all(
        [e["event_type"] for e in calls.get(c, [])].count("CallEnded") >= 1 for c in call_ids
    )


async def test_every_order_of_start_answer_end_gives_one_of_each_in_order(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    base = helpers.recent_second(minutes_ago=30)
    batch: list[dict[str, Any]] = []
    expected: dict[str, dict[str, Any]] = {}
    orders = list(itertools.permutations(["started", "answered", "ended"]))
    assert len(orders) == 6
    for i, order in enumerate(orders):
        call_id = f"perm-{i}-{uuid.uuid4().hex[:8]}"
        start = base + timedelta(minutes=i)
        wait, talk = 3 + i, 40 + 7 * i
        events = _answered_call(helpers, call_id, start, wait, talk, f"8 916 555-00-0{i}")
        batch += [events[kind] for kind in order]
        expected[call_id] = {
            "order": order,
            "caller": f"+791655500{i:02d}",
            "started_at": start,
            "answered_at": start + timedelta(seconds=wait),
            "ended_at": start + timedelta(seconds=wait + talk),
            "durations": (wait, talk, wait + talk),
        }

    async with start_telephony(helpers.unique_tag("perm"), **FAST) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        response = await telephony.post_events(batch)
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 18}
        await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), expected),
            timeout=30,
            message="CallEnded of every permutation",
        )

    calls = helpers.by_call(calls_topic.records)
    for call_id, want in expected.items():
        envs = calls[call_id]
        assert helpers.event_types(envs) == CANONICAL, (want["order"], helpers.event_types(envs))
        started = helpers.one(envs, "CallStarted")
        answered = helpers.one(envs, "CallAnswered")
        ended = helpers.one(envs, "CallEnded")
        assert started["direction"] == "incoming"
        assert started["caller"] == want["caller"]
        assert started["callee"] == "+74951234567"
        assert started["extension"] == "101"
        assert helpers.parse_time(started["started_at"]) == want["started_at"]
        assert helpers.parse_time(answered["answered_at"]) == want["answered_at"]
        assert answered["operator_id"] == "op-anna"
        assert helpers.parse_time(ended["ended_at"]) == want["ended_at"]
        assert ended["disposition"] == "answered"
        got = (ended["wait_seconds"], ended["talk_seconds"], ended["total_seconds"])
        assert got == want["durations"], want["order"]
        assert ended["recording_url"] == f"https://pbx.example/rec/{call_id}.mp3"
        # Every event of the call carries the same envelope correlation id, the call id.
        assert {e["correlation_id"] for e in envs} == {call_id}


async def test_duplicates_are_dropped(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    base = helpers.recent_second(minutes_ago=20)
    suffix = uuid.uuid4().hex[:8]
    # A: the PBX numbers its events; the whole call is delivered twice, the answer thrice.
    with_ids = f"dup-ids-{suffix}"
    a = _answered_call(helpers, with_ids, base, 5, 60, "+79165550101")
    for kind, event in a.items():
        event["event_id"] = f"{with_ids}-{kind}"
    # B: no event ids; the same bytes twice are the same event (content hash).
    no_ids = f"dup-hash-{suffix}"
    b = _answered_call(helpers, no_ids, base + timedelta(minutes=1), 4, 30, "+79165550102")
    # C: the PBX reports the start twice, with different ids and a second's difference.
    restarted = f"dup-start-{suffix}"
    c = _answered_call(helpers, restarted, base + timedelta(minutes=2), 6, 20, "+79165550103")
    second_start = {
        **c["started"],
        "event_id": f"{restarted}-again",
        "timestamp": helpers.pbx_time(base + timedelta(minutes=2, seconds=1)),
    }
    first_delivery = [*a.values(), *b.values(), c["started"], second_start, *c.values()]
    expected_started = {
        with_ids: base,
        no_ids: base + timedelta(minutes=1),
        restarted: base + timedelta(minutes=2),
    }

    async with start_telephony(helpers.unique_tag("dup"), **FAST) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        for body in (first_delivery, [*a.values(), *b.values()], a["answered"]):
            response = await telephony.post_events(body)
            assert response.status_code == 202, response.text
        await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), expected_started),
            timeout=30,
            message="CallEnded of every call",
        )
        # A last marker call: once it is out, every duplicate before it was processed too.
        marker = f"dup-marker-{suffix}"
        marker_events = _answered_call(
            helpers, marker, base + timedelta(minutes=3), 1, 1, "+79165550104"
        )
        response = await telephony.post_events([*a.values(), *marker_events.values()])
        assert response.status_code == 202, response.text
        await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), [marker]),
            timeout=30,
            message="the marker call",
        )

    calls = helpers.by_call(calls_topic.records)
    for call_id, started_at in expected_started.items():
        envs = calls[call_id]
        assert helpers.event_types(envs) == CANONICAL, call_id
        started = helpers.one(envs, "CallStarted")
        assert helpers.parse_time(started["started_at"]) == started_at
        assert len({e["event_id"] for e in envs}) == 3


async def test_an_end_with_no_start_is_closed_after_the_grace(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    call_id = f"no-start-{uuid.uuid4().hex[:8]}"
    ended_at = helpers.recent_second(minutes_ago=5)
    end_only = {
        "type": "call.ended",
        "call_id": call_id,
        "timestamp": helpers.pbx_time(ended_at),
        "from": "+79165550199",
        "to": "+74951234567",
        "status": "no answer",
    }

    async with start_telephony(helpers.unique_tag("nostart"), **FAST) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        posted_at = datetime.now(UTC)
        response = await telephony.post_events(end_only)
        assert response.status_code == 202, response.text
        await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), [call_id]),
            timeout=30,
            message="the closed call",
        )

    envs = helpers.by_call(calls_topic.records)[call_id]
    assert helpers.event_types(envs) == ["CallStarted", "CallEnded"]
    started, ended = envs[0], envs[1]
    # The start was made up from the end (nothing earlier is known) ...
    assert helpers.parse_time(started["payload"]["started_at"]) == ended_at
    assert started["payload"]["caller"] == "+79165550199"
    assert started["payload"]["direction"] == "incoming"
    assert ended["payload"]["disposition"] == "missed"
    assert ended["payload"]["end_reason"] == "no_answer"
    assert (
        ended["payload"]["wait_seconds"],
        ended["payload"]["talk_seconds"],
        ended["payload"]["total_seconds"],
    ) == (0, 0, 0)
    # ... and only once the grace for a late start had run out.
    waited = helpers.parse_time(started["recorded_at"]) - posted_at
    assert waited >= timedelta(seconds=GRACE_SECONDS - 0.05), waited


async def test_a_call_with_no_end_is_closed_as_failed_after_the_timeout(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    call_id = f"no-end-{uuid.uuid4().hex[:8]}"
    started_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    events = _answered_call(helpers, call_id, started_at, 1, 0, "+79165550198")

    async with start_telephony(helpers.unique_tag("noend"), **FAST) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        began = time.monotonic()
        posted_at = datetime.now(UTC)
        response = await telephony.post_events([events["started"], events["answered"]])
        assert response.status_code == 202, response.text
        await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), [call_id]),
            timeout=30,
            message="the timed-out call",
        )
        assert time.monotonic() - began >= NO_END_TIMEOUT_SECONDS - 0.05

    envs = helpers.by_call(calls_topic.records)[call_id]
    assert helpers.event_types(envs) == CANONICAL
    ended = envs[-1]["payload"]
    assert ended["disposition"] == "failed"
    assert ended["end_reason"] == "timeout"
    closed_at = helpers.parse_time(ended["ended_at"])
    assert closed_at >= posted_at + timedelta(seconds=NO_END_TIMEOUT_SECONDS - 0.05)
    answered_at = started_at + timedelta(seconds=1)
    expected_talk = round((closed_at - answered_at).total_seconds())
    assert (ended["wait_seconds"], ended["talk_seconds"], ended["total_seconds"]) == (
        1,
        expected_talk,
        1 + expected_talk,
    )


async def test_a_backlog_read_after_a_restart_longer_than_the_grace_settles_as_if_read_live(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    """Telephony reads a call's answer (its start not come yet) and stops; the end and
    then the start reach ``pbx.events.raw`` while it is down, for longer than the reorder
    grace. Read after the restart, they were accepted within the grace: the call must come
    out as the PBX told it, not with a start made up from the answer."""
    import asyncio

    import sqlalchemy as sa
    from aiokafka import AIOKafkaProducer

    from switchboard_runtime.testing import wait_until
    from switchboard_telephony.adapters.tables import calls

    grace = 4.0
    env = {"TELEPHONY_REORDER_GRACE_SECONDS": str(grace)}
    tag = helpers.unique_tag("backlog")
    call_id = f"backlog-{uuid.uuid4().hex[:8]}"
    start = helpers.recent_second(minutes_ago=5)
    events = _answered_call(helpers, call_id, start, wait=4, talk=30, caller="8 916 555-44-33")

    async with start_telephony(tag, **env) as telephony:
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        raw_topic = telephony.topic("pbx.events.raw")
        assert (await telephony.post_events([events["answered"]])).status_code == 202

        async def answer_read() -> bool:
            async with telephony.app.state.runtime.sessions() as session:
                found = await session.scalar(
                    sa.select(sa.func.count()).select_from(calls).where(calls.c.call_id == call_id)
                )
            return bool(found)

        await wait_until(answer_read, timeout=grace / 2, interval=0.05, message="answer read")

    # While telephony is down the PBX goes on: the end, then the start, onto the topic.
    producer = AIOKafkaProducer(bootstrap_servers=telephony.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for kind in ("ended", "started"):
            body = json.dumps(events[kind]).encode()
            await producer.send_and_wait(raw_topic, body, key=call_id.encode())
    finally:
        await producer.stop()
    # The outage outlasting the grace is the scenario itself, not a synchronisation.
    await asyncio.sleep(grace * 1.5)

    async with start_telephony(tag, **env):
        records = await calls_topic.wait_for(
            lambda records: _ended_once(helpers.by_call(records), [call_id]),
            timeout=30,
            message="the call settled after the restart",
        )
    story = helpers.by_call(records)[call_id]
    assert helpers.event_types(story) == CANONICAL
    started = helpers.one(story, "CallStarted")
    assert started["caller"] == "+79165554433"
    assert helpers.parse_time(started["started_at"]) == start
    ended = helpers.one(story, "CallEnded")
    assert ended["disposition"] == "answered"
    assert (ended["wait_seconds"], ended["talk_seconds"]) == (4, 30)
