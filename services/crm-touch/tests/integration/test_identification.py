"""Caller identification through real Kafka and PostgreSQL: booking's client events in,
``GET /api/crm/identify`` out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts import ClientRegistered, ClientsMerged, ClientUpdated

from .conftest import Crm, random_mobile

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _client(client_id: str, name: str, phones: list[str], **kw: Any) -> ClientRegistered:
    first, last = name.split()
    return ClientRegistered(
        client_id=client_id,
        first_name=first,
        last_name=last,
        display_name=name,
        phones=phones,
        **kw,
    )


def _ways_of_writing(e164: str) -> list[str]:
    nsn = e164[2:]
    return [
        e164,
        f"+7 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}",
        "8" + nsn,
        "7" + nsn,
        f"8 {nsn[:3]} {nsn[3:]}",
    ]


async def test_a_known_caller_is_found_however_the_number_is_written(crm: Crm) -> None:
    mobile, landline = random_mobile(), random_mobile()
    client_id = str(uuid.uuid4())
    registered = await crm.publish(
        _client(
            client_id,
            "Irina Volkova",
            [mobile, landline],
            key_details={"Insurance": "DMS"},
        )
    )
    await crm.wait_processed(registered)

    for number in (mobile, landline):
        for written in _ways_of_writing(number):
            response = await crm.get("/api/crm/identify", phone=written)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["phone"] == number
            assert body["known"] is True and body["ambiguous"] is False
            assert body["contact"]["id"] == client_id
            assert body["contact"]["kind"] == "patient"
            assert body["contact"]["display_name"] == "Irina Volkova"
            assert body["contact"]["key_details"]["Insurance"] == "DMS"
            assert [c["id"] for c in body["candidates"]] == [client_id]

    # A new full state without the landline: the landline no longer finds her.
    updated = await crm.publish(
        ClientUpdated(
            client_id=client_id,
            first_name="Irina",
            last_name="Volkova-Orlova",
            display_name="Irina Volkova-Orlova",
            phones=[mobile],
        )
    )
    await crm.wait_processed(updated)
    body = (await crm.get("/api/crm/identify", phone=landline)).json()
    assert body["known"] is False and body["contact"] is None and body["candidates"] == []
    body = (await crm.get("/api/crm/identify", phone=mobile)).json()
    assert body["contact"]["display_name"] == "Irina Volkova-Orlova"


async def test_an_unknown_number_is_nobody(crm: Crm) -> None:
    body = (await crm.get("/api/crm/identify", phone=random_mobile())).json()
    assert body == {
        "phone": body["phone"],
        "known": False,
        "ambiguous": False,
        "contact": None,
        "candidates": [],
    }


async def test_a_shared_number_is_ambiguous_and_lists_everyone_most_recent_first(
    crm: Crm,
) -> None:
    shared = random_mobile()
    mother, son = str(uuid.uuid4()), str(uuid.uuid4())
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    first = await crm.publish(_client(mother, "Olga Petrova", [shared]), occurred_at=t0)
    # The son was registered later: the most recently active holder is the best guess.
    second = await crm.publish(
        _client(son, "Ivan Petrov", [random_mobile(), shared]),
        occurred_at=t0 + timedelta(minutes=1),
    )
    await crm.wait_processed(first, second)

    body = (await crm.get("/api/crm/identify", phone="8" + shared[2:])).json()
    assert body["ambiguous"] is True
    assert body["contact"]["id"] == son
    assert [c["id"] for c in body["candidates"]] == [son, mother]
    assert [c["display_name"] for c in body["candidates"]] == ["Ivan Petrov", "Olga Petrova"]


async def test_late_events_about_a_merged_client_are_ignored(crm: Crm) -> None:
    phone = random_mobile()
    primary, duplicate = str(uuid.uuid4()), str(uuid.uuid4())
    at = datetime.now(UTC)
    envelopes = [
        await crm.publish(_client(primary, "Anna Primary", [random_mobile()]), occurred_at=at),
        # The merge overtakes the duplicate's registration (they are keyed differently).
        await crm.publish(
            ClientsMerged(primary_client_id=primary, duplicate_client_id=duplicate, merged_at=at)
        ),
    ]
    await crm.wait_processed(*envelopes)
    late = await crm.publish(_client(duplicate, "Anna Duplicate", [phone]), occurred_at=at)
    await crm.wait_processed(late)
    body = (await crm.get("/api/crm/identify", phone=phone)).json()
    assert body["known"] is False
    contact = (await crm.get(f"/api/crm/contacts/{duplicate}")).json()
    assert contact["status"] == "merged" and contact["merged_into"] == primary


@pytest.mark.parametrize("garbage", ["garbage", "12", "+7 (495) abc", "8" * 30])
async def test_garbage_numbers_are_422(crm: Crm, garbage: str) -> None:
    response = await crm.get("/api/crm/identify", phone=garbage)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


async def test_identify_needs_a_session(crm: Crm) -> None:
    response = await crm.client.get("/api/crm/identify", params={"phone": random_mobile()})
    assert response.status_code == 401
    response = await crm.client.get(
        "/api/crm/identify",
        params={"phone": random_mobile()},
        headers={"Authorization": "Bearer forged"},
    )
    assert response.status_code == 401
    # Every role may identify (managers too).
    response = await crm.get("/api/crm/identify", role="manager", phone=random_mobile())
    assert response.status_code == 200
