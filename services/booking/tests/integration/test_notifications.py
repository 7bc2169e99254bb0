"""Notifications really sent: to a real SMTP server process and an HTTP SMS gateway stand-in.

Booking plans them from its own appointment events (through the outbox and Kafka); the
delivery worker of each test sends what is due at the test's clock, which the test moves.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

API = "/api/booking"


def secret() -> str:
    """A private note no sent text may contain."""
    return f"PRIVATE-{uuid.uuid4().hex[:10]}"


async def new_client(b: Any, **fields: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body = {"first_name": "Olga", "last_name": f"N{tag}", "email": f"olga-{tag}@example.com"}
    response = await b.post("anna", f"{API}/clients", {**body, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def book(b: Any, starts_at: str, **fields: Any) -> dict[str, Any]:
    body = {
        "service_id": "svc-consult",
        "clinic_id": "clinic-msk-center",
        "practitioner_id": "pr-ivanova",
        "meeting_method": "in_person",
        "starts_at": starts_at,
        **fields,
    }
    response = await b.post("anna", f"{API}/appointments", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def cancel(b: Any, appointment_id: str, reason_id: str) -> None:
    response = await b.post(
        "anna", f"{API}/appointments/{appointment_id}/cancel", {"reason_id": reason_id}
    )
    assert response.status_code == 200, response.text


async def notifications(b: Any, appointment_id: str) -> list[dict[str, Any]]:
    response = await b.get("anna", f"{API}/appointments/{appointment_id}/notifications")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def planned(b: Any, appointment_id: str, kind: str, count: int) -> list[dict[str, Any]]:
    """The appointment's notifications of ``kind``, once booking has planned ``count``."""

    async def probe() -> list[dict[str, Any]] | None:
        rows = [n for n in await notifications(b, appointment_id) if n["kind"] == kind]
        return rows if len(rows) >= count else None

    return await wait_until(probe, timeout=30, message=f"{count} {kind} notifications planned")


def to(messages: list[dict[str, Any]], address: str) -> list[dict[str, Any]]:
    """The emails (``to`` header) or SMS (``to``) sent to ``address``."""
    return [m for m in messages if address in m["to"]]


async def test_booked_rescheduled_cancelled_are_sent_once_each_in_each_language(
    booking: Any, delivery: Any, smtp_catcher: Any, sms_gateway: Any, clock: Any
) -> None:
    day = booking.monday()
    private = secret()
    client = await new_client(booking, mobile="+7 916 555-12-34", sms_consent=True)
    attendee = await new_client(booking, first_name="Misha", language="en")
    appointment = await book(
        booking,
        booking.msk(day, 10),
        client_id=client["client_id"],
        attendees=[{"client_id": attendee["client_id"]}],
        attendee_notes="Bring the vaccination card",
        private_notes=private,
        answers={},
    )
    aid = appointment["appointment_id"]
    worker = delivery()

    rows = await planned(booking, aid, "booked", 4)
    assert {(r["client_id"], r["channel"], r["status"]) for r in rows} == {
        (client["client_id"], "email", "queued"),
        (client["client_id"], "sms", "queued"),
        (attendee["client_id"], "email", "queued"),
        (attendee["client_id"], "sms", "skipped"),
    }
    await worker.run_once()
    [email] = to(smtp_catcher.emails(), client["email"])
    [sms] = to(sms_gateway.sms(), client["mobile"])
    assert email["subject"].startswith("Вы записаны: General consultation")
    assert "Dr Elena Ivanova" in email["body"] and "10:00" in email["body"]
    assert "Bring the vaccination card" in email["body"] and "Moscow Center" in email["body"]
    assert email["list_unsubscribe"].startswith("<http://console.example/api/booking/unsubscribe/")
    assert sms["text"].startswith("Вы записаны: General consultation") and "10:00" in sms["text"]
    [english] = to(smtp_catcher.emails(), attendee["email"])
    assert english["subject"].startswith("Your appointment is booked")
    assert "Hello Misha" in english["body"] and "Bring the vaccination card" in english["body"]
    rows = [r for r in await notifications(booking, aid) if r["kind"] == "booked"]
    assert sorted(r["status"] for r in rows) == ["sent", "sent", "sent", "skipped"]
    [skipped] = [r for r in rows if r["status"] == "skipped"]
    assert skipped["status_reason"] == "no mobile number"

    moved = await booking.post(
        "anna", f"{API}/appointments/{aid}/reschedule", {"starts_at": booking.msk(day, 14, 30)}
    )
    assert moved.status_code == 200, moved.text
    await planned(booking, aid, "rescheduled", 4)
    await worker.run_once()
    [email] = to(
        [m for m in smtp_catcher.emails() if "перенесена" in m["subject"]], client["email"]
    )
    assert "10:00" in email["body"] and "14:30" in email["body"]
    [sms] = to([m for m in sms_gateway.sms() if "перенесена" in m["text"]], client["mobile"])
    assert "было" in sms["text"] and "10:00" in sms["text"] and "14:30" in sms["text"]

    await cancel(booking, aid, "practitioner-unavailable")
    await planned(booking, aid, "cancelled", 4)
    await worker.run_once()
    [email] = to([m for m in smtp_catcher.emails() if "отменена" in m["subject"]], client["email"])
    assert "Practitioner unavailable" in email["body"]
    [english] = to(
        [m for m in smtp_catcher.emails() if "cancelled" in m["subject"]], attendee["email"]
    )
    assert "Reason: Practitioner unavailable" in english["body"]

    # Each message once; the reminders of the moved and cancelled versions never.
    await worker.run_once()
    assert len(to(smtp_catcher.emails(), client["email"])) == 3
    assert len(to(smtp_catcher.emails(), attendee["email"])) == 3
    assert len(to(sms_gateway.sms(), client["mobile"])) == 3
    reminders = [r for r in await notifications(booking, aid) if r["kind"] == "reminder"]
    assert reminders and {r["status"] for r in reminders} == {"skipped"}
    sent_text = [m["subject"] + m["body"] for m in smtp_catcher.emails()]
    sent_text += [m["text"] for m in sms_gateway.sms()]
    assert not [t for t in sent_text if private in t], "a private note was sent"


async def test_a_reminder_is_sent_once_at_the_right_time(
    booking: Any, delivery: Any, smtp_catcher: Any, sms_gateway: Any, clock: Any
) -> None:
    day = booking.monday()
    client = await new_client(booking, mobile="+7 916 555-77-01", sms_consent=True)
    starts = datetime.fromisoformat(booking.msk(day, 11))
    appointment = await book(booking, starts.isoformat(), client_id=client["client_id"])
    aid = appointment["appointment_id"]
    reminders = await planned(booking, aid, "reminder", 2)
    due = starts - timedelta(hours=24)  # the seeded clinics remind 24 h ahead
    assert {datetime.fromisoformat(r["due_at"]) for r in reminders} == {due}
    worker = delivery()

    await worker.run_once()  # the confirmations
    assert len(to(smtp_catcher.emails(), client["email"])) == 1
    clock.move_to(due - timedelta(minutes=1))
    await worker.run_once()
    assert len(to(smtp_catcher.emails(), client["email"])) == 1, "a reminder went out early"
    clock.move_to(due + timedelta(minutes=1))
    await worker.run_once()
    clock.advance(hours=1)
    await worker.run_once()
    [reminder] = [
        m for m in to(smtp_catcher.emails(), client["email"]) if "Напоминание" in m["subject"]
    ]
    assert "11:00" in reminder["body"]
    assert (
        len([m for m in to(sms_gateway.sms(), client["mobile"]) if "Напоминание" in m["text"]]) == 1
    )
    rows = [r for r in await notifications(booking, aid) if r["kind"] == "reminder"]
    assert {r["status"] for r in rows} == {"sent"}


async def subjects_once_the_reminder_is_due(
    clock: Any, delivery: Any, smtp_catcher: Any, starts: datetime, email: str
) -> list[str]:
    """The subjects of every email sent to ``email`` once the clock is at the reminder's
    time (a day before ``starts``) and the delivery worker has run."""
    clock.move_to(starts - timedelta(hours=23))
    await delivery().run_once()
    return [m["subject"] for m in to(smtp_catcher.emails(), email)]


async def test_the_reminder_of_a_cancelled_appointment_is_not_sent(
    booking: Any, delivery: Any, smtp_catcher: Any, clock: Any
) -> None:
    day = booking.monday()
    client = await new_client(booking)
    starts = datetime.fromisoformat(booking.msk(day, 12))
    appointment = await book(booking, starts.isoformat(), client_id=client["client_id"])
    aid = appointment["appointment_id"]
    await planned(booking, aid, "reminder", 2)
    await cancel(booking, aid, "client-request")
    await planned(booking, aid, "cancelled", 2)
    subjects = await subjects_once_the_reminder_is_due(
        clock, delivery, smtp_catcher, starts, client["email"]
    )
    assert len(subjects) == 2 and not [s for s in subjects if "Напоминание" in s]
    rows = [r for r in await notifications(booking, aid) if r["kind"] == "reminder"]
    assert {(r["channel"], r["status"], r["status_reason"]) for r in rows} == {
        ("email", "skipped", "the appointment was cancelled"),
        ("sms", "skipped", "no mobile number"),
    }


async def test_a_cancellation_right_after_the_booking_drops_its_reminder(
    booking: Any, delivery: Any, smtp_catcher: Any, clock: Any
) -> None:
    # Cancelled before booking has planned anything: both events usually reach the planner
    # in one batch. No reminder may be left queued, whichever is planned first.
    day = booking.monday()
    client = await new_client(booking)
    starts = datetime.fromisoformat(booking.msk(day, 15))
    appointment = await book(booking, starts.isoformat(), client_id=client["client_id"])
    aid = appointment["appointment_id"]
    await cancel(booking, aid, "client-request")
    await planned(booking, aid, "cancelled", 2)
    rows = await notifications(booking, aid)
    assert {r["kind"] for r in rows if r["status"] != "skipped"} == {"booked", "cancelled"}
    subjects = await subjects_once_the_reminder_is_due(
        clock, delivery, smtp_catcher, starts, client["email"]
    )
    assert len(subjects) == 2 and not [s for s in subjects if "Напоминание" in s]


async def test_with_the_smtp_server_down_the_email_waits_and_is_sent_once_it_is_up(
    booking: Any, delivery: Any, smtp_catcher: Any, clock: Any
) -> None:
    smtp_catcher.stop()
    client = await new_client(booking)
    appointment = await book(
        booking, booking.msk(booking.monday(), 15), client_id=client["client_id"]
    )
    aid = appointment["appointment_id"]
    await planned(booking, aid, "booked", 2)
    worker = delivery()
    await worker.run_once()
    [row] = [
        n
        for n in await notifications(booking, aid)
        if n["kind"] == "booked" and n["channel"] == "email"
    ]
    assert row["status"] == "queued" and row["attempts"] == 1
    assert "SMTP server unavailable" in row["status_reason"]
    retry_at = datetime.fromisoformat(row["next_attempt_at"])
    # The runtime's RetryPolicy: 30 s after the first failure, ±20 %.
    assert timedelta(seconds=23) <= retry_at - clock.now <= timedelta(seconds=37)

    smtp_catcher.start()
    clock.advance(seconds=10)
    await worker.run_once()
    assert to(smtp_catcher.emails(), client["email"]) == [], "retried before its time"
    clock.move_to(retry_at)
    await worker.run_once()
    clock.advance(minutes=5)
    await worker.run_once()
    assert len(to(smtp_catcher.emails(), client["email"])) == 1
    [row] = [
        n
        for n in await notifications(booking, aid)
        if n["kind"] == "booked" and n["channel"] == "email"
    ]
    assert (row["status"], row["attempts"], row["status_reason"]) == ("sent", 2, None)


async def test_a_client_with_neither_channel_gets_nothing_and_the_record_says_why(
    booking: Any, delivery: Any, smtp_catcher: Any, sms_gateway: Any
) -> None:
    client = await new_client(booking, mobile="+7 916 555-33-22", sms_consent=False)
    unsubscribed = await booking.patch(
        "anna", f"{API}/clients/{client['client_id']}", {"email_consent": False}
    )
    assert unsubscribed.status_code == 200, unsubscribed.text
    appointment = await book(
        booking, booking.msk(booking.monday(), 16), client_id=client["client_id"]
    )
    rows = await planned(booking, appointment["appointment_id"], "booked", 2)
    assert {(r["channel"], r["status"], r["status_reason"]) for r in rows} == {
        ("email", "skipped", "unsubscribed from email"),
        ("sms", "skipped", "no SMS consent"),
    }
    await delivery().run_once()
    assert to(smtp_catcher.emails(), client["email"]) == []
    assert to(sms_gateway.sms(), "+79165553322") == []
    history = await booking.get("anna", f"{API}/clients/{client['client_id']}/notifications")
    assert {n["status"] for n in history.json()["items"]} == {"skipped"}


async def test_the_unsubscribe_link_in_an_email_works(
    booking: Any, delivery: Any, smtp_catcher: Any
) -> None:
    client = await new_client(booking)
    first = await book(booking, booking.msk(booking.monday(), 9), client_id=client["client_id"])
    await planned(booking, first["appointment_id"], "booked", 2)
    await delivery().run_once()
    [email] = to(smtp_catcher.emails(), client["email"])
    link = email["list_unsubscribe"].strip("<>")
    assert link in email["body"]
    path = link.removeprefix("http://console.example")
    page = await booking.client.get(path)  # no session: the token is the authority
    assert page.status_code == 200 and client["email"] in page.text
    card = await booking.get("anna", f"{API}/clients/{client['client_id']}")
    assert card.json()["email_consent"] is True, "opening the link must not unsubscribe"
    done = await booking.client.post(path, content="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "No more appointment emails" in done.text
    card = await booking.get("anna", f"{API}/clients/{client['client_id']}")
    assert card.json()["email_consent"] is False
    forged = await booking.client.post(path[:-3] + "abc")
    assert forged.status_code == 404

    second = await book(booking, booking.msk(booking.monday(), 9), client_id=client["client_id"])
    [row] = [
        r
        for r in await planned(booking, second["appointment_id"], "booked", 2)
        if r["channel"] == "email"
    ]
    assert (row["status"], row["status_reason"]) == ("skipped", "unsubscribed from email")


async def test_templates_are_edited_per_clinic_previewed_and_used(
    booking: Any, delivery: Any, sms_gateway: Any
) -> None:
    url = f"{API}/notification-templates/clinic-msk-north/booked/sms/ru"
    bad = await booking.client.put(
        url, json={"body": "{{ private_notes }}"}, headers=booking.as_("admin")
    )
    assert bad.status_code == 422 and "cannot be used" in bad.text
    refused = await booking.client.put(url, json={"body": "Hi"}, headers=booking.as_("anna"))
    assert refused.status_code == 403
    preview = await booking.post(
        "admin",
        f"{API}/notification-templates/preview",
        {
            "clinic_id": "clinic-msk-north",
            "kind": "booked",
            "channel": "sms",
            "language": "ru",
            "body": "Ждём вас {{ date }} в {{ time }}: {{ clinic_name }}",
        },
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["body"].startswith("Ждём вас понедельник, 2 марта 2026 в 10:00")
    saved = await booking.client.put(
        url, json={"body": "Ждём вас {{ when }}, {{ clinic_name }}"}, headers=booking.as_("admin")
    )
    assert saved.status_code == 200, saved.text
    listed = {(t["kind"], t["channel"], t["language"]): t for t in saved.json()["items"]}
    assert listed[("booked", "sms", "ru")]["customised"] is True
    assert listed[("booked", "sms", "en")]["customised"] is False

    client = await new_client(booking, mobile="+7 916 555-44-11", sms_consent=True)
    saturday = booking.monday() + timedelta(days=5)  # Ivanova works at North on Saturdays
    appointment = await book(
        booking,
        booking.msk(saturday, 11),
        clinic_id="clinic-msk-north",
        client_id=client["client_id"],
    )
    await planned(booking, appointment["appointment_id"], "booked", 2)
    await delivery().run_once()
    [sms] = to(sms_gateway.sms(), "+79165554411")
    assert sms["text"].startswith("Ждём вас суббота") and "Moscow North" in sms["text"]
    reset = await booking.client.delete(url, headers=booking.as_("admin"))
    assert reset.status_code == 200


async def test_the_sms_adapters_against_the_gateway_stand_in(sms_gateway: Any) -> None:
    from booking_standins import delivery_settings

    from switchboard_booking.adapters.sms_gateways import TwilioSms, WebhookSms
    from switchboard_booking.domain.delivery import OutgoingMessage, SendFailed

    key = f"booked-{uuid.uuid4().hex}"
    message = OutgoingMessage("sms", "+79160001122", "", "Hello", key)
    webhook = WebhookSms(delivery_settings(1, sms_gateway.port))
    first = await webhook.send(message)
    # A retry after a crash between sending and recording: the gateway drops it.
    assert await webhook.send(message) == first
    assert len([m for m in sms_gateway.sms() if m["key"] == key]) == 1
    await webhook.aclose()

    twilio = TwilioSms(
        delivery_settings(
            1,
            sms_gateway.port,
            sms_provider="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token="tw1",
            twilio_from="+15005550006",
            twilio_base_url=f"http://127.0.0.1:{sms_gateway.port}",
        )
    )
    sid = await twilio.send(OutgoingMessage("sms", "+79160003344", "", "Twilio hello", key))
    assert sid.startswith("SM")
    with pytest.raises(SendFailed) as refused:
        await twilio.send(OutgoingMessage("sms", "not-a-number", "", "x", key))
    assert not refused.value.temporary and "21211" in refused.value.reason
    await twilio.aclose()
    wrong = TwilioSms(
        delivery_settings(
            1,
            sms_gateway.port,
            twilio_account_sid="AC1",
            twilio_auth_token="wrong",
            twilio_from="+15005550006",
            twilio_base_url=f"http://127.0.0.1:{sms_gateway.port}",
        )
    )
    with pytest.raises(SendFailed) as denied:
        await wrong.send(OutgoingMessage("sms", "+79160003344", "", "x", key))
    assert denied.value.temporary and "wrong" not in denied.value.reason
    await wrong.aclose()
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{sms_gateway.port}/healthz")).status_code == 200
