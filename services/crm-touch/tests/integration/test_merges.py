"""Merges through real Kafka and PostgreSQL: ClientsMerged moves the duplicate's touches
(a TouchUpdated each, with the primary as contact) and numbers to the primary."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard_contracts import ClientsMerged, ClientUpdated

from .conftest import Crm, call_started, new_call_id, random_mobile, register_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_merge_moves_the_duplicates_touches_and_numbers(crm: Crm) -> None:
    dup_phone, primary_phone = random_mobile(), random_mobile()
    duplicate = await register_client(crm, "Anna Smirnova", [dup_phone])
    primary = await register_client(crm, "Anna Smirnova-Kim", [primary_phone])
    touch_ids = []
    for _ in range(2):
        started = call_started(new_call_id(), dup_phone)
        await crm.publish(started)
        created = (await crm.touch_created(started.call_id))["payload"]
        assert created["contact"]["id"] == duplicate
        touch_ids.append(created["touch_id"])
    own = call_started(new_call_id(), primary_phone)
    await crm.publish(own)
    own_touch = (await crm.touch_created(own.call_id))["payload"]["touch_id"]

    # What booking publishes for a merge: ClientsMerged, then the primary's new state.
    await crm.publish(
        ClientsMerged(
            primary_client_id=primary, duplicate_client_id=duplicate, merged_at=datetime.now(UTC)
        )
    )
    await crm.publish(
        ClientUpdated(
            client_id=primary,
            first_name="Anna",
            last_name="Smirnova-Kim",
            display_name="Anna Smirnova-Kim",
            phones=[primary_phone, dup_phone],
        )
    )
    for touch_id in touch_ids:
        events = await crm.wait_touch_events(
            lambda evs: any(
                e["event_type"] == "TouchUpdated" and e["payload"]["contact"]["id"] == primary
                for e in evs
            ),
            "TouchUpdated with the primary",
            touch_id=touch_id,
        )
        moved = [e for e in events if e["event_type"] == "TouchUpdated"][-1]["payload"]
        assert moved["contact"]["display_name"] == "Anna Smirnova-Kim"
        assert moved["contact"]["kind"] == "patient"

    listed = (await crm.get("/api/crm/touches", contact_id=primary)).json()["items"]
    assert {t["touch_id"] for t in listed} == {*touch_ids, own_touch}
    assert (await crm.get("/api/crm/touches", contact_id=duplicate)).json()["items"] == []
    # The duplicate's number finds the primary only; the duplicate is a tombstone.
    body = (await crm.get("/api/crm/identify", phone=dup_phone)).json()
    assert body["ambiguous"] is False and body["contact"]["id"] == primary
    gone = (await crm.get(f"/api/crm/contacts/{duplicate}")).json()
    assert (gone["status"], gone["merged_into"], gone["phones"]) == ("merged", primary, [])
    timeline = (await crm.get(f"/api/crm/contacts/{duplicate}/timeline")).json()
    assert timeline["contact"]["id"] == primary
    assert {(i["touch"] or {}).get("touch_id") for i in timeline["items"]} >= set(touch_ids)


async def test_merging_the_two_holders_of_a_shared_number_settles_the_ambiguity(
    crm: Crm,
) -> None:
    shared = random_mobile()
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    first = await register_client(crm, "Ilya Popov", [shared], occurred_at=t0)
    second = await register_client(
        crm, "Ilya Popov", [shared], occurred_at=t0 + timedelta(minutes=1)
    )
    started = call_started(new_call_id(), shared)
    await crm.publish(started)
    created = (await crm.touch_created(started.call_id))["payload"]
    assert created["contact"]["ambiguous"] is True and created["contact"]["id"] == second
    touch_id = created["touch_id"]

    await crm.publish(
        ClientsMerged(primary_client_id=first, duplicate_client_id=second, merged_at=t0)
    )
    events = await crm.wait_touch_events(
        lambda evs: any(e["event_type"] == "TouchUpdated" for e in evs),
        "TouchUpdated after the merge",
        touch_id=touch_id,
    )
    contact = events[-1]["payload"]["contact"]
    assert contact["id"] == first and contact["ambiguous"] is False
    assert contact["candidates"] == []
    assert str(uuid.UUID(touch_id)) == touch_id
