"""Call → booking link through real Kafka and PostgreSQL: AppointmentBooked with a call id
or touch id links the appointment to the touch (result booked); a lead that books is linked
to the client booking registered for them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from switchboard_contracts import AppointmentBooked, ClientRegistered, ClinicChanged

from .conftest import (
    Crm,
    call_started,
    new_call_id,
    random_mobile,
    register_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def booked(client_id: str, **kw: Any) -> AppointmentBooked:
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=7, minute=30, second=0, microsecond=0
    )
    values: dict[str, Any] = {
        "appointment_id": str(uuid.uuid4()),
        "client_id": client_id,
        "clinic_id": "clinic-msk",
        "practitioner_id": "pr-1",
        "service_id": "svc-1",
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=30),
        "call_center_id": "cc-central",
        "operator_id": "op-anna",
    }
    values.update(kw)
    return AppointmentBooked(**values)


def _booked_update(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next(
        (
            e["payload"]
            for e in events
            if e["event_type"] == "TouchUpdated" and e["payload"]["result"] == "booked"
        ),
        None,
    )


async def test_booking_during_a_call_links_the_touch(crm: Crm) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Sergey Orlov", [phone])
    clinic = await crm.publish(
        ClinicChanged(clinic_id="clinic-msk", name="Clinic on Arbat", time_zone="Europe/Moscow")
    )
    await crm.wait_processed(clinic)
    started = call_started(new_call_id(), phone)
    await crm.publish(started)
    touch_id = (await crm.touch_created(started.call_id))["payload"]["touch_id"]

    appointment = booked(client_id, call_id=started.call_id)
    await crm.publish(appointment)
    events = await crm.wait_touch_events(
        lambda evs: _booked_update(evs) is not None, "touch booked", touch_id=touch_id
    )
    update = _booked_update(events)
    assert update is not None
    assert update["appointment_id"] == appointment.appointment_id
    assert update["contact"]["id"] == client_id
    local = appointment.starts_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert update["contact"]["key_details"]["Next visit"] == (
        f"{local:%Y-%m-%d %H:%M}, Clinic on Arbat"
    )

    touch = (await crm.get(f"/api/crm/touches/{touch_id}")).json()
    assert (touch["result"], touch["appointment_id"]) == ("booked", appointment.appointment_id)
    timeline = (await crm.get(f"/api/crm/contacts/{client_id}/timeline")).json()
    kinds = {
        (i["type"], (i["touch"] or {}).get("touch_id") or i["appointment"]["appointment_id"])
        for i in timeline["items"]
    }
    assert kinds == {("touch", touch_id), ("appointment", appointment.appointment_id)}
    entry = next(i for i in timeline["items"] if i["type"] == "appointment")["appointment"]
    assert entry["touch_id"] == touch_id and entry["status"] == "booked"


async def test_booking_from_a_touch_id_links_it(crm: Crm) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Nina Egorova", [phone])
    started = call_started(new_call_id(), phone)
    await crm.publish(started)
    touch_id = (await crm.touch_created(started.call_id))["payload"]["touch_id"]
    appointment = booked(client_id, touch_id=touch_id)
    await crm.publish(appointment)
    events = await crm.wait_touch_events(
        lambda evs: _booked_update(evs) is not None, "touch booked", touch_id=touch_id
    )
    assert _booked_update(events)["appointment_id"] == appointment.appointment_id  # type: ignore[index]


async def test_a_booking_that_overtakes_its_call_is_linked_when_the_call_arrives(
    crm: Crm,
) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Oleg Frolov", [phone])
    started = call_started(new_call_id(), phone)
    appointment = booked(client_id, call_id=started.call_id)
    first = await crm.publish(appointment)
    await crm.wait_processed(first)
    await crm.publish(started)
    touch_id = (await crm.touch_created(started.call_id))["payload"]["touch_id"]
    events = await crm.wait_touch_events(
        lambda evs: _booked_update(evs) is not None, "touch booked", touch_id=touch_id
    )
    assert _booked_update(events)["appointment_id"] == appointment.appointment_id  # type: ignore[index]


async def test_a_lead_that_books_is_linked_to_the_client_booked_for(crm: Crm) -> None:
    phone = random_mobile()
    started = call_started(new_call_id(), phone)
    await crm.publish(started)
    created = (await crm.touch_created(started.call_id))["payload"]
    touch_id, lead_id = created["touch_id"], created["contact"]["id"]
    assert created["contact"]["kind"] == "lead"

    # The operator books for a new client registered with another number; the booking
    # reaches crm-touch before the registration (two topics, no order between them).
    client_id = str(uuid.uuid4())
    appointment = booked(client_id, call_id=started.call_id, touch_id=touch_id)
    await crm.publish(appointment)
    moved = await crm.wait_touch_events(
        lambda evs: any((e["payload"].get("contact") or {}).get("id") == client_id for e in evs),
        "touch moved to the client",
        touch_id=touch_id,
    )
    assert _booked_update(moved) is not None
    await crm.publish(
        ClientRegistered(
            client_id=client_id,
            first_name="Vera",
            last_name="Lebedeva",
            display_name="Vera Lebedeva",
            phones=[random_mobile()],
        )
    )
    named = await crm.wait_touch_events(
        lambda evs: any(
            (e["payload"].get("contact") or {}).get("display_name") == "Vera Lebedeva" for e in evs
        ),
        "touch with the client's name",
        touch_id=touch_id,
    )
    final = named[-1]["payload"]
    assert final["contact"]["kind"] == "patient" and final["result"] == "booked"

    lead = (await crm.get(f"/api/crm/contacts/{lead_id}")).json()
    assert (lead["status"], lead["merged_into"]) == ("converted", client_id)
    # The lead's number now finds the client, and the next call from it is hers.
    body = (await crm.get("/api/crm/identify", phone=phone)).json()
    assert [c["id"] for c in body["candidates"]] == [client_id]
    again = call_started(new_call_id(), phone)
    await crm.publish(again)
    assert (await crm.touch_created(again.call_id))["payload"]["contact"]["id"] == client_id
    # Asking for the lead's timeline gives the client's.
    timeline = (await crm.get(f"/api/crm/contacts/{lead_id}/timeline")).json()
    assert timeline["contact"]["id"] == client_id and timeline["requested_id"] == lead_id
    assert touch_id in {(i["touch"] or {}).get("touch_id") for i in timeline["items"]}


async def test_a_client_registered_with_a_leads_number_claims_the_lead(crm: Crm) -> None:
    phone = random_mobile()
    started = call_started(new_call_id(), phone)
    await crm.publish(started)
    created = (await crm.touch_created(started.call_id))["payload"]
    touch_id, lead_id = created["touch_id"], created["contact"]["id"]

    client_id = await register_client(crm, "Gleb Zaitsev", [phone])
    events = await crm.wait_touch_events(
        lambda evs: any((e["payload"].get("contact") or {}).get("id") == client_id for e in evs),
        "touch moved to the new client",
        touch_id=touch_id,
    )
    assert events[-1]["payload"]["contact"]["display_name"] == "Gleb Zaitsev"
    body = (await crm.get("/api/crm/identify", phone=phone)).json()
    assert body["ambiguous"] is False and body["contact"]["id"] == client_id
    lead = (await crm.get(f"/api/crm/contacts/{lead_id}")).json()
    assert (lead["status"], lead["merged_into"]) == ("converted", client_id)

    # Booked for him later (the call long over): linked by the call id all the same.
    appointment = booked(client_id, call_id=started.call_id)
    await crm.publish(appointment)
    linked = await crm.wait_touch_events(
        lambda evs: _booked_update(evs) is not None, "touch booked", touch_id=touch_id
    )
    assert _booked_update(linked)["contact"]["id"] == client_id  # type: ignore[index]
