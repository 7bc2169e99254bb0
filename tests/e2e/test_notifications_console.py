"""Patient notifications in the console: statuses on the client's page and the appointment,
and the template editor's preview. Booking sends to the platform's SMTP and SMS stand-ins."""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from live_platform import api_request, screenshot
from playwright.sync_api import expect

MSK = ZoneInfo("Europe/Moscow")


def test_notification_statuses_and_the_template_preview(open_session: Any, platform: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    client = api_request(
        platform,
        "POST",
        "/api/booking/clients",
        "anna",
        {
            "first_name": "Nina",
            "last_name": f"Notify{tag}",
            "email": f"nina-{tag}@example.com",
            "mobile": "+7 916 700-00-01",
            "sms_consent": True,
        },
    )
    starts = datetime.combine(platform.booking_day, time(17, 0), tzinfo=MSK)
    appointment = api_request(
        platform,
        "POST",
        "/api/booking/appointments",
        "anna",
        {
            "service_id": "svc-consult",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "starts_at": starts.isoformat(),
            "client_id": client["client_id"],
            "attendee_notes": "Bring the referral",
            "private_notes": f"SECRET-{tag}",
        },
    )

    admin = open_session("admin")
    table = admin.get_by_role("region", name="Notifications").get_by_test_id("notifications")
    # The confirmations are planned from booking's own event: open the card until they are.
    for _ in range(15):
        admin.goto(f"/clients/{client['client_id']}")
        with contextlib.suppress(AssertionError):
            expect(table.locator('tr[data-kind="booked"]').first).to_be_visible(timeout=3_000)
            break
    # Booking plans them from its own event and its worker sends them; the card follows
    # what is being sent until it settles.
    sent_email = table.locator('tr[data-kind="booked"][data-channel="email"][data-status="sent"]')
    expect(sent_email).to_have_count(1, timeout=45_000)
    expect(table.locator('tr[data-kind="booked"][data-channel="sms"]')).to_contain_text("sent")
    expect(table.locator('tr[data-kind="reminder"]').first).to_contain_text("queued")
    sent_email.get_by_role("button", name="text").click()
    expect(sent_email).to_contain_text("Bring the referral")
    expect(table).not_to_contain_text(f"SECRET-{tag}")
    screenshot(admin, "20-client-notifications", full_page=True)

    # The appointment in the calendar shows the same, for each recipient.
    admin.goto(f"/booking?clinic_id=clinic-msk-center&date={platform.booking_day.isoformat()}")
    card = admin.locator(f'[data-appointment-id="{appointment["appointment_id"]}"]')
    card.get_by_role("button", name="Notifications").click()
    dialog = admin.get_by_role("dialog", name="Notifications")
    expect(dialog.locator('tr[data-kind="booked"][data-status="sent"]')).to_have_count(2)
    expect(dialog).to_contain_text(f"Nina Notify{tag}")
    screenshot(admin, "21-appointment-notifications")
    dialog.get_by_role("button", name="Close").click()

    # Settings > Notifications: edit a template and preview it before saving.
    admin.goto("/settings")
    admin.get_by_role("tab", name="Notifications").click()
    # By role and exact name: a label wrapping the template's text holds the text too, and
    # a template naming {{ clinic_name }} made get_by_label("Clinic") match it as well.
    admin.get_by_role("combobox", name="Clinic", exact=True).select_option("clinic-msk-center")
    admin.get_by_role("combobox", name="Event", exact=True).select_option("reminder")
    admin.get_by_role("combobox", name="Channel", exact=True).select_option("sms")
    admin.get_by_role("combobox", name="Language", exact=True).select_option("en")
    expect(admin.get_by_role("combobox", name="Clinic")).to_have_value("clinic-msk-center")
    expect(admin.get_by_label("Text")).to_have_value(re.compile("Reminder:"))
    admin.get_by_label("Text").fill(
        "See you {{ when }} at {{ clinic_name }}, {{ recipient_name }}!"
    )
    admin.get_by_role("button", name="Preview").click()
    preview = admin.get_by_test_id("template-preview")
    expect(preview).to_contain_text("See you Monday 2 March 2026 at 10:00 at Moscow Center")
    admin.get_by_label("Text").fill("{{ private_notes }}")
    admin.get_by_role("button", name="Preview").click()
    expect(admin.get_by_role("alert")).to_contain_text("cannot be used")
    admin.get_by_label("Text").fill("See you {{ when }}, {{ clinic_name }}.")
    admin.get_by_role("button", name="Save template").click()
    expect(admin.get_by_text("Template saved.")).to_be_visible()
    expect(admin.get_by_text("This clinic's own template")).to_be_visible()
    screenshot(admin, "22-notification-templates", full_page=True)
    admin.get_by_role("button", name="Use the built-in template").click()
    expect(admin.get_by_text("The built-in template.", exact=True)).to_be_visible()
    expect(admin.get_by_label("Text")).to_have_value(re.compile("Reminder:"))
