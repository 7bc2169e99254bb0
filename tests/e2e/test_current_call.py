"""The current-call panel in the browser: a known patient calls, Anna answers on her phone,
the panel shows the patient's card on every page and through a reload, the call ends into
wrap-up, Anna sets the touch's result in place and books from the panel — the appointment
linked to the call.

Touches exist because the e2e platform records them (``CRM_TOUCH_CALLTOUCH_ENABLED_DEFAULT``
true, as ``make run``; the Calltouch form test saves it enabled).
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

# Sergey Morozov, a seeded client (mobile "8 (912) 555-01-02"), has Central's 11:00 visit
# to Dr Elena Ivanova on the seed's day.
SERGEY_MOBILE = "+79125550102"
SERGEY_DISPLAY = "+7 912 555-01-02"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console" / "current-call.png"


def _wait_live(page: Any) -> None:
    expect(page.get_by_test_id("notify-state")).to_have_text(
        re.compile("Live calls on"), timeout=30_000
    )


def test_answer_panel_wrap_up_result_and_book_from_it(open_session: Any, platform: Any) -> None:
    anna = open_session("anna")
    boris = open_session("boris")  # shares extension 101, does not answer
    for page in (anna, boris):
        page.goto("/clients")
        _wait_live(page)

    call_id = f"e2e-current-{uuid.uuid4().hex[:10]}"
    started = datetime.now(UTC)
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(started),
                "from": "8 (912) 555-01-02",
                "to": "101",
                "extension": "101",
            }
        ],
    )
    popup = anna.locator(f'[data-testid="call-popup"][data-call-id="{call_id}"]')
    expect(popup).to_contain_text("Sergey Morozov", timeout=20_000)
    send_pbx(
        platform,
        [
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": iso(started + timedelta(seconds=5)),
                "extension": "101",
                "operator_id": "op-anna",
            }
        ],
    )

    panel = anna.get_by_test_id("current-call")
    expect(panel).to_have_attribute("data-call-id", call_id, timeout=20_000)
    expect(panel.get_by_test_id("current-call-state")).to_have_text("On call")
    expect(panel.get_by_role("heading", name=re.compile("Sergey Morozov"))).to_be_visible()
    expect(panel.get_by_test_id("current-phones")).to_contain_text(SERGEY_DISPLAY)
    seeded_visit = f"{platform.seed_day.strftime('%d %b %Y')}, 11:00"
    upcoming = panel.get_by_test_id("current-upcoming")
    expect(upcoming).to_contain_text(seeded_visit)
    expect(upcoming).to_contain_text("Dr Elena Ivanova")
    expect(panel.get_by_test_id("current-timeline")).to_contain_text("Incoming call")
    # It stays on every page.
    anna.get_by_role("navigation", name="Main").get_by_role("link", name="Call log").click()
    expect(anna).to_have_url(re.compile("/calls$"))
    expect(panel).to_have_attribute("data-call-id", call_id)
    # Boris shares the extension but did not answer: no panel for him.
    expect(boris.get_by_test_id("call-popup")).to_have_count(0, timeout=20_000)
    # (A call he took in an earlier test may still be in his wrap-up: not this one.)
    expect(boris.locator(f'[data-testid="current-call"][data-call-id="{call_id}"]')).to_have_count(
        0
    )

    send_pbx(
        platform,
        [
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": iso(started + timedelta(seconds=95)),
                "status": "answered",
            }
        ],
    )
    expect(panel.get_by_test_id("current-call-state")).to_have_text("Wrap-up", timeout=20_000)
    # A reload brings the wrap-up back (notify keeps it until a result or a dismissal).
    anna.reload()
    expect(panel.get_by_test_id("current-call-state")).to_have_text("Wrap-up", timeout=20_000)
    expect(panel.get_by_role("heading", name=re.compile("Sergey Morozov"))).to_be_visible()
    touch_form = panel.get_by_role("form", name="The call's touch")
    expect(touch_form.get_by_label("Result")).to_have_value("")
    touch_form.get_by_label("Notes").fill("Asked about a follow-up visit")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot(anna, "30-current-call-wrap-up"), DOCS_SCREENSHOT)

    # The result, set in place, ends the wrap-up; the card stays until closed.
    touch_form.get_by_label("Status").select_option("done")
    touch_form.get_by_label("Result").select_option("information")
    touch_form.get_by_role("button", name="Save").click()
    expect(panel.get_by_test_id("current-call-state")).to_have_text("Call finished", timeout=20_000)
    touch = api_get(platform, f"/api/crm/touches?call_id={call_id}", "anna")["items"][0]
    assert (touch["status"], touch["result"], touch["notes"]) == (
        "done",
        "information",
        "Asked about a follow-up visit",
    )

    # Book from the panel: the client and the call are prefilled.
    panel.get_by_role("button", name="Book", exact=True).click()
    expect(anna).to_have_url(re.compile(rf"/booking\?.*call_id={call_id}"))
    expect(anna.get_by_test_id("chosen-client")).to_contain_text("Sergey Morozov")
    day = platform.booking_day
    anna.get_by_label("Service").select_option("svc-consult")
    anna.get_by_label("Location").select_option("clinic-msk-center")
    anna.get_by_label("Practitioner").select_option("pr-ivanova")
    anna.get_by_label("Day", exact=True).fill(day.isoformat())
    anna.locator(f'[role=option][data-starts-at^="{day.isoformat()}"]', has_text="15:00").click()
    anna.get_by_role("button", name="Book 15:00").click()
    expect(anna.get_by_test_id("booking-message")).to_contain_text("Booked: Sergey Morozov")
    booked = api_get(
        platform,
        f"/api/booking/appointments?date={day.isoformat()}&practitioner_id=pr-ivanova",
        "anna",
    )["items"]
    assert [a["call_id"] for a in booked if a["client_name"] == "Sergey Morozov"] == [call_id]

    panel.get_by_role("button", name="Close").click()
    expect(anna.get_by_test_id("current-call")).to_have_count(0)
