"""Touches from calls through real Kafka and PostgreSQL: call events published onto this
run's telephony.calls, TouchCreated / TouchUpdated read back from crm.touches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import (
    Crm,
    call_answered,
    call_ended,
    call_started,
    new_call_id,
    random_mobile,
    register_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _types(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["event_type"] for e in events)


async def test_a_known_callers_call_makes_one_touch_with_the_client_then_updates_it(
    crm: Crm,
) -> None:
    phone = random_mobile()
    client_id = await register_client(
        crm, "Maria Ivanova", [phone], key_details={"Next visit": "booking says"}
    )
    # The PBX wrote the number its own way; telephony publishes E.164, but crm-touch must
    # not depend on it.
    started = call_started(new_call_id(), "8" + phone[2:])
    await crm.publish(started)
    created = await crm.touch_created(started.call_id)

    payload = created["payload"]
    assert created["producer"] == "crm-touch"
    assert created["correlation_id"] == started.call_id
    assert payload["channel"] == "call" and payload["direction"] == "incoming"
    assert payload["phone"] == phone
    assert payload["extension"] == "101" and payload["clinic_id"] == "clinic-msk"
    assert datetime.fromisoformat(payload["created_at"]) == started.started_at
    contact = payload["contact"]
    assert contact["id"] == client_id and contact["kind"] == "patient"
    assert contact["display_name"] == "Maria Ivanova"
    assert contact["key_details"]["Next visit"] == "booking says"
    assert contact["ambiguous"] is False and contact["candidates"] == []
    touch_id = payload["touch_id"]
    record = next(
        r
        for r in crm.touches.records
        if b"TouchCreated" in r.value and touch_id.encode() in r.value
    )
    assert record.key == touch_id.encode()

    await crm.publish(call_answered(started))
    await crm.publish(call_ended(started))
    updates = await crm.wait_touch_events(
        lambda evs: any(e["payload"].get("disposition") == "answered" for e in evs),
        "TouchUpdated with the outcome",
        touch_id=touch_id,
        call_id=started.call_id,
    )
    final = [e for e in updates if e["event_type"] == "TouchUpdated"][-1]["payload"]
    assert final["operator_id"] == "op-anna"
    assert (final["wait_seconds"], final["talk_seconds"]) == (6, 75)
    assert final["status"] == "new" and final["result"] is None
    assert final["contact"]["id"] == client_id

    touch = (await crm.get(f"/api/crm/touches/{touch_id}")).json()
    assert touch["contact"] == {"id": client_id, "kind": "patient", "display_name": "Maria Ivanova"}
    assert (touch["disposition"], touch["total_seconds"], touch["operator_id"]) == (
        "answered",
        81,
        "op-anna",
    )


async def test_an_unknown_callers_calls_open_one_lead_and_reuse_it(crm: Crm) -> None:
    phone = random_mobile()
    first = call_started(new_call_id(), phone)
    await crm.publish(first)
    lead = (await crm.touch_created(first.call_id))["payload"]["contact"]
    assert lead["kind"] == "lead"
    nsn = phone[2:]
    assert lead["display_name"] == f"Lead +7 {nsn[:3]} {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}"
    assert lead["key_details"]["Status"] == "Lead: no patient record yet"

    # A missed second call, and an outgoing call back to the same number.
    second = call_started(new_call_id(), "8" + nsn)
    callback = call_started(new_call_id(), "101", direction="outgoing", callee=phone)
    for event in (second, call_ended(second, answered=False), callback):
        await crm.publish(event)
    again = (await crm.touch_created(second.call_id))["payload"]["contact"]
    back = (await crm.touch_created(callback.call_id))["payload"]
    assert again["id"] == lead["id"] and back["contact"]["id"] == lead["id"]
    assert back["direction"] == "outgoing" and back["phone"] == phone
    assert again["key_details"]["Previous calls"] == "1"
    missed = await crm.wait_touch_events(
        lambda evs: any(e["event_type"] == "TouchUpdated" for e in evs),
        "missed call's update",
        call_id=second.call_id,
    )
    assert missed[-1]["payload"]["result"] == "no_answer"
    assert missed[-1]["payload"]["disposition"] == "missed"

    body = (await crm.get("/api/crm/identify", phone=phone)).json()
    assert [c["id"] for c in body["candidates"]] == [lead["id"]]
    contact = (await crm.get(f"/api/crm/contacts/{lead['id']}")).json()
    assert (contact["kind"], contact["origin"], contact["phones"]) == ("lead", "crm", [phone])
    listed = (await crm.get("/api/crm/touches", contact_id=lead["id"])).json()["items"]
    assert {t["call_id"] for t in listed} == {first.call_id, second.call_id, callback.call_id}


async def test_a_call_from_a_shared_number_is_ambiguous(crm: Crm) -> None:
    shared = random_mobile()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    older = await register_client(crm, "Pavel Sidorov", [shared], occurred_at=t0)
    newer = await register_client(
        crm, "Elena Sidorova", [shared], occurred_at=t0 + timedelta(minutes=1)
    )
    started = call_started(new_call_id(), shared)
    await crm.publish(started)
    contact = (await crm.touch_created(started.call_id))["payload"]["contact"]
    assert contact["ambiguous"] is True
    assert contact["id"] == newer
    assert [c["id"] for c in contact["candidates"]] == [newer, older]
    assert [c["display_name"] for c in contact["candidates"]] == ["Elena Sidorova", "Pavel Sidorov"]


async def test_touch_creation_follows_the_calltouch_setting(crm: Crm) -> None:
    phone = random_mobile()
    try:
        await crm.set_calltouch(False)
        off = call_started(new_call_id(), phone)
        envelope = await crm.publish(off)
        await crm.wait_processed(envelope)
        assert await crm.call_decision(off.call_id) == "disabled"
        # Switched on while that call is still going: it stays without a touch.
        await crm.set_calltouch(True)
        ended = await crm.publish(call_ended(off))
        on = call_started(new_call_id(), phone)
        await crm.publish(on)
        await crm.touch_created(on.call_id)
        await crm.wait_processed(ended)
        await crm.caught_up()
    finally:
        await crm.set_calltouch(True)
    assert crm.touch_events(call_id=off.call_id) == []
    assert (await crm.get("/api/crm/touches", call_id=off.call_id)).json()["items"] == []
    touches_on = (await crm.get("/api/crm/touches", call_id=on.call_id)).json()["items"]
    assert touches_on != []
    # Both calls were identified, once each: the first without a touch (and without opening
    # a lead for the unknown number), the second with its touch and the lead it opened.
    [unknown] = crm.identifications(off.call_id)
    assert (unknown["contact"], unknown["touch_id"], unknown["phone"]) == (None, None, phone)
    [with_touch] = crm.identifications(on.call_id)
    assert with_touch["touch_id"] == touches_on[0]["touch_id"]
    assert with_touch["contact"]["kind"] == "lead"


async def test_callers_are_identified_while_touch_creation_is_off(crm: Crm) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Vera Orlova", [phone])
    try:
        await crm.set_calltouch(False)
        call = call_started(new_call_id(), "8" + phone[2:])  # as a PBX in Russia writes it
        await crm.wait_processed(await crm.publish(call))
        await crm.wait_processed(await crm.publish(call))  # re-emitted: identified once
        await crm.caught_up()
    finally:
        await crm.set_calltouch(True)
    [identified] = crm.identifications(call.call_id)
    assert identified["phone"] == phone
    assert identified["touch_id"] is None
    assert identified["direction"] == "incoming"
    assert (identified["contact"]["id"], identified["contact"]["display_name"]) == (
        client_id,
        "Vera Orlova",
    )
    assert crm.touch_events(call_id=call.call_id) == []


async def test_internal_calls_make_no_touch(crm: Crm) -> None:
    started = call_started(new_call_id(), "102", direction="internal", callee="101")
    envelope = await crm.publish(started)
    await crm.wait_processed(envelope)
    assert await crm.call_decision(started.call_id) == "internal"
    assert (await crm.get("/api/crm/touches", call_id=started.call_id)).json()["items"] == []


async def test_duplicated_and_reordered_call_events_still_make_one_touch(crm: Crm) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Boris Kuznetsov", [phone])
    # Call 1: the end first, then the answer, then the start; each delivered twice (the
    # same envelope again) and the start once more as a fresh envelope (a re-emission).
    one = call_started(new_call_id(), phone)
    # Call 2: the answer before the start, then the start twice, then the end twice.
    two = call_started(new_call_id(), phone)
    sent = []
    for event in (call_ended(one), call_answered(one), one):
        envelope = await crm.publish(event)
        await crm.send(envelope)
        sent.append(envelope)
    sent.append(await crm.publish(one))
    answer_two = await crm.publish(call_answered(two, "op-boris"))
    start_two = await crm.publish(two)
    await crm.send(start_two)
    end_two = await crm.publish(call_ended(two))
    await crm.send(end_two)
    await crm.wait_processed(*sent, answer_two, start_two, end_two)
    await crm.caught_up()

    for call, operator in ((one, "op-anna"), (two, "op-boris")):
        events = crm.touch_events(call_id=call.call_id)
        assert _types(events)["TouchCreated"] == 1, events
        assert len({e["payload"]["touch_id"] for e in events}) == 1
        created = next(e for e in events if e["event_type"] == "TouchCreated")["payload"]
        assert created["contact"]["id"] == client_id
        last = [e for e in events if e["event_type"] == "TouchUpdated"][-1]["payload"]
        assert last["disposition"] == "answered" and last["operator_id"] == operator
        assert (last["wait_seconds"], last["talk_seconds"]) == (6, 75)
        listed = (await crm.get("/api/crm/touches", call_id=call.call_id)).json()["items"]
        assert len(listed) == 1


async def test_a_broken_call_event_is_dead_lettered_and_the_next_call_still_gets_its_touch(
    crm: Crm,
) -> None:
    from switchboard_runtime.testing.plugin import TopicReader

    dlq = TopicReader(crm.bootstrap, crm.topic_prefix + "telephony.calls.dlq.crm-touch")
    await dlq.start()
    try:
        await crm.producer.send_and_wait(
            crm.topic_prefix + "telephony.calls", b'{"event_type": "CallStarted"}', key=b"junk"
        )
        started = call_started(new_call_id(), random_mobile())
        await crm.publish(started)
        await crm.touch_created(started.call_id)
        records = await dlq.wait_for(
            lambda recs: any(r.key == b"junk" for r in recs), message="dead-lettered"
        )
        junk = next(r for r in records if r.key == b"junk")
        assert dict(junk.headers)["x-dlq-reason"] == b"invalid_event"
    finally:
        await dlq.stop()
