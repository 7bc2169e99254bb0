"""Booking through its HTTP API against real PostgreSQL and Kafka: every operation, the
ownership rules per role, and the events (with their keys) each one publishes."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

API = "/api/booking"


async def new_client(b: Any, user: str = "anna", **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Test", "last_name": "Client", "mobile": "+7 916 000-00-01", **fields}
    response = await b.post(user, f"{API}/clients", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _notifications(b: Any, client_id: str, kind: str, count: int) -> list[dict[str, Any]]:
    """The client's notifications of ``kind`` once booking has planned ``count`` of them."""

    async def probe() -> list[dict[str, Any]] | None:
        response = await b.get("anna", f"{API}/clients/{client_id}/notifications")
        rows = [n for n in response.json()["items"] if n["kind"] == kind]
        return rows if len(rows) >= count else None

    return await wait_until(probe, timeout=30, message=f"{count} {kind} notifications")


async def book(b: Any, user: str, starts_at: str, **fields: Any) -> Any:
    body = {
        "service_id": "svc-consult",
        "clinic_id": "clinic-msk-center",
        "practitioner_id": "pr-ivanova",
        "meeting_method": "in_person",
        "starts_at": starts_at,
        **fields,
    }
    return await b.post(user, f"{API}/appointments", body)


# --- auth ----------------------------------------------------------------------------------


async def test_login_sets_the_session_cookie_and_every_endpoint_needs_a_session(
    booking: Any,
) -> None:
    client = booking.client
    response = await client.post(f"{API}/auth/login", json={"username": "anna", "password": "anna"})
    assert response.status_code == 200
    body = response.json()
    assert body["operator"] == {
        "operator_id": "op-anna",
        "name": "Anna Smirnova",
        "role": "call_centre",
        "call_center_id": "cc-central",
        "extension": "101",
    }
    assert "sb_session" in response.cookies
    client.cookies.set("sb_session", response.cookies["sb_session"])
    me = await client.get(f"{API}/auth/me")
    assert me.status_code == 200 and me.json()["operator_id"] == "op-anna"
    client.cookies.clear()
    wrong = await client.post(f"{API}/auth/login", json={"username": "anna", "password": "nope"})
    assert wrong.status_code == 401
    unknown = await client.post(f"{API}/auth/login", json={"username": "ghost", "password": "x"})
    assert unknown.status_code == 401 and unknown.json() == wrong.json()
    for url in (
        "/clients?name=a",
        "/clinics",
        "/appointments?date=2030-01-01&clinic_id=x",
        "/auth/me",
    ):
        assert (await client.get(f"{API}{url}")).status_code == 401, url
    forged = await client.get(f"{API}/clinics", headers={"Authorization": "Bearer abc.def.g"})
    assert forged.status_code == 401


async def test_the_session_cookie_is_http_only_and_secure_over_tls(booking: Any) -> None:
    client = booking.client
    credentials = {"username": "anna", "password": "anna"}

    def attributes(response: Any) -> set[str]:
        (cookie,) = response.headers.get_list("set-cookie")
        assert cookie.startswith("sb_session=")
        return {part.strip().lower() for part in cookie.split(";")[1:] if "=" not in part}

    plain = await client.post(f"{API}/auth/login", json=credentials)
    assert attributes(plain) == {"httponly"}
    assert "samesite=lax" in plain.headers["set-cookie"].lower()
    tls = {"X-Forwarded-Proto": "https"}
    secure = await client.post(f"{API}/auth/login", json=credentials, headers=tls)
    assert attributes(secure) == {"httponly", "secure"}
    token = secure.json()["token"]
    out = await client.post(
        f"{API}/auth/logout", headers={**tls, "Authorization": f"Bearer {token}"}
    )
    assert out.status_code == 204
    assert attributes(out) == {"httponly", "secure"}
    client.cookies.clear()


# --- directory -----------------------------------------------------------------------------


async def test_admin_manages_the_directory_and_others_cannot(
    booking: Any,
    topic_reader: Any,
) -> None:
    directory = await topic_reader("booking.directory")
    bad_zone = await booking.post(
        "admin", f"{API}/clinics", {"name": "Nowhere", "time_zone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422 and "time zone" in bad_zone.json()["detail"]
    clinic = await booking.post(
        "admin",
        f"{API}/clinics",
        {
            "name": "Kazan",
            "city": "Kazan",
            "time_zone": "Europe/Moscow",
            "opening_hours": [{"weekday": 0, "opens": "08:00", "closes": "20:00"}],
        },
    )
    assert clinic.status_code == 201, clinic.text
    clinic_id = clinic.json()["clinic_id"]
    assert (
        await booking.post(
            "admin", f"{API}/clinics", {"name": "Kazan", "time_zone": "Europe/Moscow"}
        )
    ).status_code == 409
    assert (
        await booking.post("anna", f"{API}/clinics", {"name": "X", "time_zone": "Europe/Moscow"})
    ).status_code == 403
    assert (
        await booking.post(
            "maria",
            f"{API}/services",
            {"name": "X", "duration_minutes": 10, "meeting_methods": ["video"]},
        )
    ).status_code == 403
    service = await booking.post(
        "admin",
        f"{API}/services",
        {"name": "Physiotherapy", "duration_minutes": 50, "meeting_methods": ["in_person"]},
    )
    assert service.status_code == 201
    practitioner = await booking.post(
        "admin",
        f"{API}/practitioners",
        {
            "name": "Dr Rustam Galiev",
            "languages": ["ru", "tt"],
            "clinic_ids": [clinic_id],
            "service_ids": [service.json()["service_id"]],
            "working_hours": [
                {"clinic_id": clinic_id, "weekday": 0, "starts": "09:00", "ends": "15:00"}
            ],
        },
    )
    assert practitioner.status_code == 201, practitioner.text
    assert practitioner.json()["working_hours"] == [
        {"clinic_id": clinic_id, "weekday": 0, "starts": "09:00", "ends": "15:00"}
    ]
    stray = await booking.patch(
        "admin",
        f"{API}/practitioners/pr-smith",
        {
            "working_hours": [
                {"clinic_id": clinic_id, "weekday": 0, "starts": "09:00", "ends": "10:00"}
            ]
        },
    )
    assert stray.status_code == 422
    bad_ref = await booking.post(
        "admin", f"{API}/practitioners", {"name": "Dr Nobody", "clinic_ids": ["no-such-clinic"]}
    )
    assert bad_ref.status_code == 422
    operator = await booking.post(
        "admin",
        f"{API}/operators",
        {
            "name": "Vera",
            "username": "vera",
            "password": "s3cret",
            "role": "call_centre",
            "call_center_id": "cc-partner",
            "extension": "202",
        },
    )
    assert operator.status_code == 201, operator.text
    assert "password_hash" not in operator.json()
    operator_id = operator.json()["operator_id"]
    moved = await booking.patch("admin", f"{API}/operators/{operator_id}", {"extension": "203"})
    assert moved.json()["extension"] == "203"
    login = await booking.client.post(
        f"{API}/auth/login", json={"username": "vera", "password": "s3cret"}
    )
    assert login.status_code == 200
    booking.client.cookies.clear()
    records = await directory.wait_for(
        lambda recs: len(booking.events(recs, "OperatorChanged", operator_id=operator_id)) == 2,
        message="OperatorChanged twice",
    )
    changed = booking.events(records, "OperatorChanged", operator_id=operator_id)
    assert [key for key, _ in changed] == [operator_id, operator_id]
    assert changed[-1][1]["payload"] == {
        "operator_id": operator_id,
        "name": "Vera",
        "role": "call_centre",
        "call_center_id": "cc-partner",
        "extension": "203",
        "active": True,
    }
    records = await directory.wait_for(
        lambda recs: bool(booking.events(recs, "ClinicChanged", clinic_id=clinic_id)),
        message="ClinicChanged",
    )
    [(key, envelope)] = booking.events(records, "ClinicChanged", clinic_id=clinic_id)
    assert key == clinic_id and envelope["payload"]["time_zone"] == "Europe/Moscow"
    seeded = booking.events(records, "CallCenterChanged", call_center_id="cc-partner")
    assert seeded and seeded[0][0] == "cc-partner"
    assert seeded[0][1]["payload"]["kind"] == "external"
    assert (await booking.get("petr", f"{API}/clinics")).status_code == 200
    assert (await booking.patch("admin", f"{API}/clinics/nope", {"city": "x"})).status_code == 404


# --- clients -------------------------------------------------------------------------------


async def test_clients_are_registered_searched_and_updated(
    booking: Any,
    topic_reader: Any,
) -> None:
    clients_topic = await topic_reader("booking.clients")
    missing = await booking.post("anna", f"{API}/clients", {"first_name": "A", "last_name": "B"})
    assert missing.status_code == 422 and "email or a mobile" in missing.json()["detail"]
    bad_phone = await booking.post(
        "anna", f"{API}/clients", {"first_name": "A", "last_name": "B", "mobile": "12"}
    )
    assert bad_phone.status_code == 422
    typo = await booking.post(
        "anna",
        f"{API}/clients",
        {"first_name": "A", "last_name": "B", "email": "a@b.co", "surname": "x"},
    )
    assert typo.status_code == 422
    assert (
        await booking.post(
            "maria", f"{API}/clients", {"first_name": "A", "last_name": "B", "email": "a@b.co"}
        )
    ).status_code == 403

    client = await new_client(
        booking,
        first_name="Zinaida",
        last_name="Quillfeather",
        mobile="8 (903) 777-12-34",
        email="Zina@Example.com",
        sms_consent=True,
        phones=["+7 495 765-43-21"],
    )
    cid = client["client_id"]
    assert client["mobile"] == "+79037771234" and client["email"] == "zina@example.com"
    assert client["phones"] == ["+74957654321"]
    for params in (
        {"name": "quillfeather"},
        {"name": "zina quill"},
        {"phone": "8903777"},
        {"phone": "+7 (903) 777-12-34"},
        {"phone": "7654321"},
        {"email": "zina@"},
    ):
        found = await booking.get("petr", f"{API}/clients", params=params)
        assert found.status_code == 200, found.text
        assert [c["client_id"] for c in found.json()["items"]] == [cid], params
    assert (await booking.get("anna", f"{API}/clients")).status_code == 422
    assert (await booking.get("anna", f"{API}/clients", params={"phone": "--"})).status_code == 422

    updated = await booking.patch("boris", f"{API}/clients/{cid}", {"last_name": "Quill"})
    assert updated.status_code == 200 and updated.json()["last_name"] == "Quill"
    assert updated.json()["mobile"] == "+79037771234"
    assert (
        await booking.patch("boris", f"{API}/clients/nope", {"last_name": "x"})
    ).status_code == 404
    cleared = await booking.patch("boris", f"{API}/clients/{cid}", {"mobile": "", "email": ""})
    assert cleared.status_code == 422

    records = await clients_topic.wait_for(
        lambda recs: len(booking.events(recs, "ClientUpdated", client_id=cid)) == 1,
        message="ClientUpdated",
    )
    registered = booking.events(records, "ClientRegistered", client_id=cid)
    assert len(registered) == 1 and registered[0][0] == cid
    payload = registered[0][1]["payload"]
    assert payload["phones"] == ["+79037771234", "+74957654321"]
    assert payload["display_name"] == "Zinaida Quillfeather" and payload["sms_consent"]
    key, update = booking.events(records, "ClientUpdated", client_id=cid)[0]
    assert key == cid and update["payload"]["last_name"] == "Quill"


# --- appointments --------------------------------------------------------------------------


async def test_booking_with_attendees_notes_and_answers_publishes_and_notifies(
    booking: Any,
    topic_reader: Any,
) -> None:
    appointments_topic = await topic_reader("booking.appointments")
    clients_topic = await topic_reader("booking.clients")
    day = booking.monday()
    client = await new_client(
        booking, first_name="Olesya", last_name="Parent", mobile="+79160000002", sms_consent=True
    )
    response = await booking.post(
        "anna",
        f"{API}/appointments",
        {
            "service_id": "svc-paediatric",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "meeting_method": "video",
            "starts_at": booking.msk(day, 9, 30),
            "client_id": client["client_id"],
            "attendees": [
                {
                    "new_client": {
                        "first_name": "Misha",
                        "last_name": "Parent",
                        "email": "misha@example.com",
                    }
                }
            ],
            "attendee_notes": "Bring the vaccination card",
            "private_notes": "Mother is anxious",
            "answers": {"symptoms": "fever for two days"},
            "call_id": "call-777",
            "touch_id": "touch-777",
        },
    )
    assert response.status_code == 201, response.text
    appointment = response.json()
    aid = appointment["appointment_id"]
    assert appointment["call_center_name"] == "Central" and appointment["editable"] is True
    assert appointment["private_notes"] == "Mother is anxious"
    assert appointment["answers"] == {"symptoms": "fever for two days"}
    assert appointment["ends_at"].startswith(booking.msk(day, 10, 0)[:16])
    [attendee_id] = appointment["attendee_client_ids"]

    records = await appointments_topic.wait_for(
        lambda recs: bool(booking.events(recs, "AppointmentBooked", appointment_id=aid)),
        message="AppointmentBooked",
    )
    [(key, envelope)] = booking.events(records, "AppointmentBooked", appointment_id=aid)
    assert key == aid and envelope["correlation_id"] == "call-777"
    payload = envelope["payload"]
    assert payload["client_id"] == client["client_id"]
    assert payload["attendee_client_ids"] == [attendee_id]
    assert (payload["call_center_id"], payload["operator_id"]) == ("cc-central", "op-anna")
    assert (payload["call_id"], payload["touch_id"]) == ("call-777", "touch-777")
    assert payload["practitioner_id"] == "pr-ivanova" and payload["meeting_method"] == "video"
    assert "private_notes" not in payload and "answers" not in payload
    await clients_topic.wait_for(
        lambda recs: bool(booking.events(recs, "ClientRegistered", client_id=attendee_id)),
        message="attendee ClientRegistered",
    )

    # Booking plans the notifications from its own event: SMS for the client who agreed to
    # it, email for the attendee; the channel each cannot use is recorded with the reason.
    for cid, channel, why_not in (
        (client["client_id"], "sms", "no email address"),
        (attendee_id, "email", "no mobile number"),
    ):
        booked = await _notifications(booking, cid, "booked", 2)
        assert {(n["channel"], n["status"], n["status_reason"]) for n in booked} == {
            (channel, "queued", None),
            ({"sms": "email", "email": "sms"}[channel], "skipped", why_not),
        }
    card = (await booking.get("petr", f"{API}/clients/{attendee_id}")).json()
    assert [a["appointment_id"] for a in card["upcoming"]] == [aid] and card["past"] == []
    assert card["upcoming"][0]["editable"] is False
    assert card["upcoming"][0]["private_notes"] is None
    assert card["upcoming"][0]["answers"] is None

    bad = [
        ({"answers": {}}, 422),  # the required question is not answered
        ({"meeting_method": "phone"}, 422),
        ({"starts_at": booking.msk(day, 7, 0)}, 422),  # before working hours
        ({"starts_at": "2020-01-06T09:00:00+03:00"}, 422),  # in the past
        ({"starts_at": "2030-01-06T09:00:00"}, 422),  # no time zone
        ({"client_id": "nope"}, 404),
        ({"clinic_id": "nope"}, 404),
        ({"practitioner_id": "pr-smith"}, 422),  # works elsewhere
    ]
    for change, code in bad:
        body = {
            "service_id": "svc-paediatric",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "meeting_method": "in_person",
            "starts_at": booking.msk(day, 14, 0),
            "client_id": client["client_id"],
            "answers": {"symptoms": "x"},
            **change,
        }
        result = await booking.post("anna", f"{API}/appointments", body)
        assert result.status_code == code, (change, result.text)
    assert (
        await book(booking, "maria", booking.msk(day, 15), client_id=client["client_id"])
    ).status_code == 403


async def test_availability_honours_hours_duration_and_appointments(booking: Any) -> None:
    day = booking.monday()
    client = await new_client(booking)
    assert (
        await book(booking, "anna", booking.msk(day, 10, 0), client_id=client["client_id"])
    ).status_code == 201
    response = await booking.get(
        "petr",
        f"{API}/availability",
        params={
            "clinic_id": "clinic-msk-center",
            "service_id": "svc-consult",
            "date": day.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    ivanova = [s["starts_at"][:16] for s in body["slots"] if s["practitioner_id"] == "pr-ivanova"]
    assert ivanova[0] == booking.msk(day, 9, 0)[:16]  # 09:00 MSK = 06:00 UTC
    assert ivanova[-1] == booking.msk(day, 17, 30)[:16]  # 30 minutes before 18:00
    for taken in ((9, 45), (10, 0), (10, 15)):
        assert booking.msk(day, *taken)[:16] not in ivanova
    assert booking.msk(day, 10, 30)[:16] in ivanova
    pool = {s["starts_at"][:16]: s["practitioner_ids"] for s in body["anyone_available"]}
    assert pool[booking.msk(day, 10, 0)[:16]] == ["pr-petrov"]
    assert pool[booking.msk(day, 10, 30)[:16]] == ["pr-ivanova", "pr-petrov"]
    english = (
        await booking.get(
            "petr",
            f"{API}/availability",
            params={
                "clinic_id": "clinic-msk-center",
                "service_id": "svc-consult",
                "date": day.isoformat(),
                "language": "en",
            },
        )
    ).json()
    assert {s["practitioner_id"] for s in english["slots"]} == {"pr-ivanova"}
    ekb = (
        await booking.get(
            "petr",
            f"{API}/availability",
            params={
                "clinic_id": "clinic-ekb",
                "service_id": "svc-consult",
                "date": day.isoformat(),
                "practitioner_id": "pr-sokolova",
            },
        )
    ).json()
    # 08:00 in Yekaterinburg (UTC+5) is 03:00 UTC.
    assert ekb["time_zone"] == "Asia/Yekaterinburg"
    assert ekb["slots"][0]["starts_at"].startswith(f"{day.isoformat()}T03:00")
    assert (
        await booking.get(
            "petr",
            f"{API}/availability",
            params={
                "clinic_id": "clinic-msk-center",
                "service_id": "svc-consult",
                "date": "not-a-date",
            },
        )
    ).status_code == 422


async def test_anyone_available_books_a_free_practitioner(booking: Any) -> None:
    day = booking.monday()
    client = await new_client(booking)
    first = await book(
        booking, "anna", booking.msk(day, 11), client_id=client["client_id"], practitioner_id=None
    )
    second = await book(
        booking, "petr", booking.msk(day, 11), client_id=client["client_id"], practitioner_id=None
    )
    third = await book(
        booking, "petr", booking.msk(day, 11), client_id=client["client_id"], practitioner_id=None
    )
    assert first.status_code == second.status_code == 201
    assert {first.json()["practitioner_id"], second.json()["practitioner_id"]} == {
        "pr-ivanova",
        "pr-petrov",
    }
    assert third.status_code == 409 and "held_by" in third.json()
    english = await book(
        booking,
        "anna",
        booking.msk(day, 12),
        client_id=client["client_id"],
        practitioner_id=None,
        language="en",
    )
    assert english.json()["practitioner_id"] == "pr-ivanova"
    nobody = await book(
        booking,
        "anna",
        booking.msk(day, 12),
        client_id=client["client_id"],
        practitioner_id=None,
        language="de",
    )
    assert nobody.status_code == 422


async def test_a_chosen_practitioner_is_checked_against_the_clinic_service_and_hours(
    booking: Any,
) -> None:
    """Booking or moving to a named practitioner: who they are, where they work, what they
    give and their hours at that clinic (the demo chain's, from the seed)."""
    day = booking.monday()
    client = {"client_id": (await new_client(booking))["client_id"]}

    async def refused(status: int, detail: str, **fields: Any) -> None:
        response = await book(booking, "anna", booking.msk(day, 11), **client, **fields)
        assert response.status_code == status, response.text
        assert detail in response.json()["detail"]

    await refused(404, "no practitioner 'pr-nobody'", practitioner_id="pr-nobody")
    await refused(404, "no clinic 'clinic-nowhere'", clinic_id="clinic-nowhere")
    await refused(404, "no service 'svc-nothing'", service_id="svc-nothing")
    # Smith works at the northern clinic only; Ivanova gives consultations and paediatrics.
    await refused(422, "does not work at this clinic", practitioner_id="pr-smith")
    await refused(422, "does not give this service", service_id="svc-dental")
    # Ivanova works Mondays at the centre, Saturdays only at the northern clinic.
    await refused(422, "outside the practitioner's working hours", clinic_id="clinic-msk-north")
    booked = await book(booking, "anna", booking.msk(day, 11), **client)
    assert booked.status_code == 201, booked.text
    assert booked.json()["practitioner_name"] and booked.json()["attendee_client_ids"] == []
    moved = await booking.post(
        "anna",
        f"{API}/appointments/{booked.json()['appointment_id']}/reschedule",
        {"starts_at": booking.msk(day, 12), "practitioner_id": "pr-smith"},
    )
    assert moved.status_code == 422 and "does not work at this clinic" in moved.json()["detail"]


async def test_ownership_per_role_and_the_day_view(booking: Any, topic_reader: Any) -> None:
    appointments_topic = await topic_reader("booking.appointments")
    day = booking.monday()
    client = await new_client(booking, first_name="Owned", last_name="ByCentral")
    central = await book(
        booking,
        "anna",
        booking.msk(day, 9),
        client_id=client["client_id"],
        private_notes="central only",
        attendee_notes="shared",
    )
    partner = await book(booking, "petr", booking.msk(day, 12), client_id=client["client_id"])
    assert central.status_code == partner.status_code == 201
    aid, pid = central.json()["appointment_id"], partner.json()["appointment_id"]

    # The day view: everyone sees both; editable and private notes only for the owner.
    for user, editable in (
        ("anna", {aid: True, pid: False}),
        ("petr", {aid: False, pid: True}),
        ("admin", {aid: True, pid: True}),
        ("maria", {aid: False, pid: False}),
    ):
        view = await booking.get(
            user,
            f"{API}/appointments",
            params={"date": day.isoformat(), "clinic_id": "clinic-msk-center"},
        )
        assert view.status_code == 200, view.text
        items = {i["appointment_id"]: i for i in view.json()["items"]}
        assert {k: items[k]["editable"] for k in (aid, pid)} == editable, user
        assert items[aid]["client_name"] == "Owned ByCentral"
        assert items[aid]["service_name"] == "General consultation"
        assert items[aid]["call_center_name"] == "Central"
        assert items[aid]["private_notes"] == ("central only" if editable[aid] else None)
    by_practitioner = await booking.get(
        "anna",
        f"{API}/appointments",
        params={"date": day.isoformat(), "practitioner_id": "pr-ivanova"},
    )
    assert {aid, pid} <= {i["appointment_id"] for i in by_practitioner.json()["items"]}
    assert (
        await booking.get("anna", f"{API}/appointments", params={"date": day.isoformat()})
    ).status_code == 422

    move = {"starts_at": booking.msk(day, 14)}
    assert (
        await booking.post("petr", f"{API}/appointments/{aid}/reschedule", move)
    ).status_code == 403
    assert (
        await booking.post("petr", f"{API}/appointments/{aid}/cancel", {"reason_id": "other"})
    ).status_code == 403
    assert (
        await booking.post("maria", f"{API}/appointments/{aid}/cancel", {"reason_id": "other"})
    ).status_code == 403
    # Boris shares Anna's call center: he may move it.
    moved = await booking.post("boris", f"{API}/appointments/{aid}/reschedule", move)
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"][:16] == booking.msk(day, 14)[:16]
    # The admin may change any call center's appointment.
    by_admin = await booking.post(
        "admin",
        f"{API}/appointments/{pid}/reschedule",
        {"starts_at": booking.msk(day, 15), "practitioner_id": "pr-petrov"},
    )
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["call_center_id"] == "cc-partner"

    # Both moves' events (the topic may hold other tests' reschedules too).
    records = await appointments_topic.wait_for(
        lambda recs: all(
            booking.events(recs, "AppointmentRescheduled", appointment_id=moved_id)
            for moved_id in (aid, pid)
        ),
        message="AppointmentRescheduled",
    )
    [(key, envelope)] = booking.events(records, "AppointmentRescheduled", appointment_id=aid)
    assert key == aid
    assert envelope["payload"]["operator_id"] == "op-boris"
    assert envelope["payload"]["previous_starts_at"][:16] == booking.msk(day, 9)[:16]
    [(key, envelope)] = booking.events(records, "AppointmentRescheduled", appointment_id=pid)
    assert key == pid and envelope["payload"]["practitioner_id"] == "pr-petrov"
    moved = await _notifications(booking, client["client_id"], "rescheduled", 4)
    assert {n["appointment_id"] for n in moved} == {aid, pid}


async def test_reschedule_onto_a_taken_slot_answers_409_with_the_holder(booking: Any) -> None:
    day = booking.monday()
    client = await new_client(booking)
    held = await book(booking, "petr", booking.msk(day, 10), client_id=client["client_id"])
    mine = await book(booking, "anna", booking.msk(day, 11), client_id=client["client_id"])
    assert held.status_code == mine.status_code == 201
    clash = await booking.post(
        "anna",
        f"{API}/appointments/{mine.json()['appointment_id']}/reschedule",
        {"starts_at": booking.msk(day, 10, 15)},
    )
    assert clash.status_code == 409
    assert clash.json()["held_by"] == {
        "call_center_id": "cc-partner",
        "call_center_name": "Partner",
    }
    assert "Test" not in clash.text and "Client" not in clash.json()["detail"]
    direct = await book(booking, "anna", booking.msk(day, 10, 15), client_id=client["client_id"])
    assert direct.status_code == 409 and direct.json()["held_by"]["call_center_name"] == "Partner"
    outside = await booking.post(
        "anna",
        f"{API}/appointments/{mine.json()['appointment_id']}/reschedule",
        {"starts_at": booking.msk(day, 20)},
    )
    assert outside.status_code == 422
    assert (
        await booking.post(
            "anna", f"{API}/appointments/nope/reschedule", {"starts_at": booking.msk(day, 12)}
        )
    ).status_code == 404


async def test_cancel_needs_a_reason_frees_the_slot_and_publishes(
    booking: Any,
    topic_reader: Any,
) -> None:
    appointments_topic = await topic_reader("booking.appointments")
    day = booking.monday()
    client = await new_client(booking)
    booked = await book(
        booking,
        "anna",
        booking.msk(day, 13),
        client_id=client["client_id"],
        call_id="call-cancel-1",
    )
    aid = booked.json()["appointment_id"]
    url = f"{API}/appointments/{aid}/cancel"
    assert (await booking.post("anna", url, {})).status_code == 422
    assert (await booking.post("anna", url, {"reason_id": "made-up"})).status_code == 422
    done = await booking.post("anna", url, {"reason_id": "client-request", "note": "moving"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled" and done.json()["editable"] is False
    assert done.json()["cancellation_reason"] == "Client asked to cancel"
    assert (await booking.post("anna", url, {"reason_id": "other"})).status_code == 409
    again = await book(booking, "petr", booking.msk(day, 13), client_id=client["client_id"])
    assert again.status_code == 201  # the cancelled appointment no longer holds the slot
    records = await appointments_topic.wait_for(
        lambda recs: bool(booking.events(recs, "AppointmentCancelled", appointment_id=aid)),
        message="AppointmentCancelled",
    )
    [(key, envelope)] = booking.events(records, "AppointmentCancelled", appointment_id=aid)
    assert key == aid and envelope["correlation_id"] == "call-cancel-1"
    assert envelope["payload"]["reason"] == "Client asked to cancel"
    assert envelope["payload"]["operator_id"] == "op-anna"
    day_view = await booking.get(
        "anna",
        f"{API}/appointments",
        params={
            "date": day.isoformat(),
            "clinic_id": "clinic-msk-center",
            "include_cancelled": True,
        },
    )
    statuses = {i["appointment_id"]: i["status"] for i in day_view.json()["items"]}
    assert statuses[aid] == "cancelled"
    card = (await booking.get("anna", f"{API}/clients/{client['client_id']}")).json()
    assert [a["appointment_id"] for a in card["past"]] == [aid]


async def test_merging_duplicates_moves_everything_in_one_go(
    booking: Any,
    topic_reader: Any,
) -> None:
    clients_topic = await topic_reader("booking.clients")
    day = booking.monday()
    primary = await new_client(
        booking, first_name="Irina", last_name="Merge", email="irina@example.com", mobile=None
    )
    duplicate = await new_client(
        booking, first_name="Ira", last_name="Merge", mobile="+79165550011", sms_consent=True
    )
    pid, did = primary["client_id"], duplicate["client_id"]
    booked = await book(booking, "anna", booking.msk(day, 16), client_id=did)
    assert booked.status_code == 201
    shared = await book(
        booking, "anna", booking.msk(day, 17), client_id=pid, attendees=[{"client_id": did}]
    )
    assert shared.status_code == 201

    same = await booking.post(
        "anna", f"{API}/clients/merge", {"primary_client_id": pid, "duplicate_client_id": pid}
    )
    assert same.status_code == 422 and "itself" in same.json()["detail"]
    preview = await booking.get(
        "anna",
        f"{API}/clients/merge-preview",
        params={"primary_client_id": pid, "duplicate_client_id": did},
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["result"]["first_name"] == "Irina" and body["result"]["mobile"] == "+79165550011"
    assert (body["appointments_to_move"], body["attendances_to_move"]) == (1, 1)
    assert (await booking.get("anna", f"{API}/clients/{did}")).status_code == 200
    assert (
        await booking.post(
            "maria", f"{API}/clients/merge", {"primary_client_id": pid, "duplicate_client_id": did}
        )
    ).status_code == 403

    merged = await booking.post(
        "anna", f"{API}/clients/merge", {"primary_client_id": pid, "duplicate_client_id": did}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["appointments_moved"] == 1
    assert merged.json()["client"]["mobile"] == "+79165550011"
    assert (await booking.get("anna", f"{API}/clients/{did}")).status_code == 404
    card = (await booking.get("anna", f"{API}/clients/{pid}")).json()
    assert {a["appointment_id"] for a in card["upcoming"]} == {
        booked.json()["appointment_id"],
        shared.json()["appointment_id"],
    }
    view = (
        await booking.get("anna", f"{API}/appointments/{shared.json()['appointment_id']}")
    ).json()
    assert view["attendee_client_ids"] == []  # the primary is already its client
    found = (await booking.get("anna", f"{API}/clients", params={"phone": "9165550011"})).json()
    assert [c["client_id"] for c in found["items"]] == [pid]
    again = await booking.post(
        "anna", f"{API}/clients/merge", {"primary_client_id": pid, "duplicate_client_id": did}
    )
    assert again.status_code == 404

    records = await clients_topic.wait_for(
        lambda recs: bool(booking.events(recs, "ClientsMerged", duplicate_client_id=did)),
        message="ClientsMerged",
    )
    [(key, envelope)] = booking.events(records, "ClientsMerged", duplicate_client_id=did)
    assert key == pid and envelope["payload"]["primary_client_id"] == pid
    updates = booking.events(records, "ClientUpdated", client_id=pid)
    assert updates and updates[-1][1]["payload"]["phones"] == ["+79165550011"]
