"""The operator console in headless Chromium against the real running platform.

Every service and the console gateway run as processes (``platform`` fixture), booking is
seeded (admin, anna + boris sharing extension 101 at Central, petr at Partner, maria the
manager), and calls enter through telephony's PBX webhook exactly as a PBX sends them.
Screenshots of each page go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

# Olga Kuznetsova, a seeded client, calls from her mobile.
OLGA_MOBILE = "+79161234567"


def _call_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _wait_live(page: Any) -> None:
    """Wait until the page's notify WebSocket is connected."""
    expect(page.get_by_test_id("notify-state")).to_have_text(
        re.compile("Live calls on"), timeout=30_000
    )


def test_login_and_role_aware_navigation(open_session: Any) -> None:
    page = open_session(None)
    expect(page.get_by_role("heading", name="Switchboard")).to_be_visible()
    screenshot(page, "01-login")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill("anna")
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(page.get_by_test_id("whoami")).to_contain_text("Anna Smirnova")
    expect(page.get_by_test_id("whoami")).to_contain_text("ext. 101")
    # Call-backs carries the count of numbers waiting (whatever earlier tests left there).
    callbacks = re.compile(r"^Call-backs")
    expect(nav.get_by_role("link")).to_have_text(["Call log", callbacks, "Clients", "Booking"])

    admin = open_session("admin")
    expect(admin.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Call log", callbacks, "Reports", "Clients", "Booking", "Settings"]
    )
    manager = open_session("maria")
    expect(manager).to_have_url(re.compile("/reports$"))
    # Settings: the manager reads the directory (test_directory_booking.py).
    expect(manager.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Call log", callbacks, "Reports", "Clients", "Booking", "Settings"]
    )
    manager.goto("/settings")
    expect(manager.get_by_role("tab", name="Clinics", exact=True)).to_be_visible()
    expect(manager.get_by_role("tab", name="Integrations")).to_have_count(0)
    # A page the role may not open says so instead of showing it.
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Not available")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Username")).to_be_visible()


def test_pop_up_on_shared_extension_then_booking_and_the_slot_refused_to_another_call_center(
    open_session: Any, platform: Any
) -> None:
    day = platform.booking_day
    anna = open_session("anna")
    boris = open_session("boris")
    petr = open_session("petr")
    for page in (anna, boris):
        page.goto("/clients")
        _wait_live(page)

    # Petr (Partner) looks at Dr Ivanova's free times before anyone books 14:00.
    petr.goto("/booking?clinic_id=clinic-msk-center")
    petr.get_by_label("Service").select_option("svc-consult")
    petr.get_by_label("Practitioner").select_option("pr-ivanova")
    petr.get_by_label("Day", exact=True).fill(day.isoformat())
    # The day's own 14:00 (slots carry their UTC start): not a slot still shown from before.
    petr_slot = petr.locator(
        f'[role=option][data-starts-at^="{day.isoformat()}"]', has_text="14:00"
    )
    expect(petr_slot).to_be_visible()

    call_id = _call_id("e2e-popup")
    started = datetime.now(UTC)
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(started),
                "from": "8 (916) 123-45-67",
                "to": "101",
                "extension": "101",
            }
        ],
    )
    popups = [
        page.locator(f'[data-testid="call-popup"][data-call-id="{call_id}"]')
        for page in (anna, boris)
    ]
    for popup in popups:
        expect(popup).to_be_visible(timeout=20_000)
        # crm-touch identifies the caller; the open pop-up is updated in place.
        expect(popup).to_contain_text("Olga Kuznetsova", timeout=20_000)
        expect(popup).to_contain_text("+7 916 123-45-67")
    screenshot(anna, "02-incoming-call-pop-up")
    # Petr is on extension 201: nothing about this call reaches him.
    expect(petr.get_by_test_id("call-popup")).to_have_count(0)

    # Anna opens a booking from the pop-up: the client is preselected, the call linked.
    popups[0].get_by_role("button", name="Book appointment").click()
    expect(anna).to_have_url(re.compile(r"/booking\?.*call_id="))
    expect(anna.get_by_test_id("chosen-client")).to_contain_text("Olga Kuznetsova")

    # Anna answers on her phone: the pop-up closes on both sessions.
    send_pbx(
        platform,
        [
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": iso(started + timedelta(seconds=6)),
                "extension": "101",
                "operator_id": "op-anna",
            }
        ],
    )
    for popup in popups:
        expect(popup).to_have_count(0, timeout=20_000)

    anna.get_by_label("Service").select_option("svc-consult")
    anna.get_by_label("Location").select_option("clinic-msk-center")
    anna.get_by_label("Practitioner").select_option("pr-ivanova")
    anna.get_by_label("Day", exact=True).fill(day.isoformat())
    anna.locator(f'[role=option][data-starts-at^="{day.isoformat()}"]', has_text="14:00").click()
    anna.get_by_label("Notes for the attendees").fill("Bring the referral")
    anna.get_by_role("button", name="Book 14:00").click()
    message = anna.get_by_test_id("booking-message")
    expect(message).to_contain_text("Booked: Olga Kuznetsova")
    expect(message).to_contain_text("14:00")
    own = anna.locator('.appt[data-editable="true"]', has_text="Olga Kuznetsova")
    # The day calendar reloads after the booking; on a loaded machine that takes a while.
    expect(own).to_be_visible(timeout=20_000)
    screenshot(anna, "03-booking-from-pop-up")
    booked = api_get(
        platform,
        f"/api/booking/appointments?date={day.isoformat()}&practitioner_id=pr-ivanova",
        "anna",
    )["items"]
    assert [a["call_id"] for a in booked if a["client_name"] == "Olga Kuznetsova"] == [call_id]

    # Petr still shows 14:00 as free; booking it is refused with a clear message.
    petr_slot.click()
    petr.get_by_label("Find client").fill("Emma")
    petr.get_by_role("button", name=re.compile("Emma Brown")).click()
    petr.get_by_role("button", name="Book 14:00").click()
    refusal = petr.get_by_test_id("booking-message")
    expect(refusal).to_contain_text("no longer free")
    expect(refusal).to_contain_text("Central")
    # Central's appointment shows in Petr's calendar greyed out, without the actions that
    # change it (its notifications can still be read).
    foreign = petr.locator('.appt-foreign[data-editable="false"]', has_text="Olga Kuznetsova")
    expect(foreign).to_be_visible()
    expect(foreign.get_by_role("button", name=re.compile("Reschedule|Cancel"))).to_have_count(0)
    expect(foreign.get_by_role("button")).to_have_text(["Notifications"])
    screenshot(petr, "04-slot-refused-to-partner")


def test_take_closes_the_pop_up_for_everyone_on_the_extension(
    open_session: Any, platform: Any
) -> None:
    anna = open_session("anna")
    boris = open_session("boris")
    for page in (anna, boris):
        _wait_live(page)
    call_id = _call_id("e2e-take")
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(datetime.now(UTC)),
                "from": "+74957654321",
                "to": "101",
                "extension": "101",
            }
        ],
    )
    popups = [
        page.locator(f'[data-testid="call-popup"][data-call-id="{call_id}"]')
        for page in (anna, boris)
    ]
    for popup in popups:
        expect(popup).to_be_visible(timeout=20_000)
    popups[1].get_by_role("button", name="I'll take it").click()
    expect(popups[0]).to_contain_text("Boris", timeout=20_000)
    for popup in popups:
        expect(popup).to_have_count(0, timeout=20_000)


def _calls(now: datetime) -> list[tuple[str, str, str, list[dict[str, Any]]]]:
    """(call id, caller, what it is, PBX events): answered and missed incoming calls."""
    out = []
    for index, (caller, answered) in enumerate(
        [
            ("+74951110001", True),
            ("+74951110002", False),
            ("+74951110003", True),
            ("+74959998877", False),
        ]
    ):
        call_id = _call_id(f"e2e-log{index}")
        start = now - timedelta(minutes=30 - index)
        events: list[dict[str, Any]] = [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(start),
                "from": caller,
                "to": "101",
                "extension": "101",
            }
        ]
        if answered:
            events.append(
                {
                    "type": "call.answered",
                    "call_id": call_id,
                    "timestamp": iso(start + timedelta(seconds=5)),
                    "extension": "101",
                    "operator_id": "op-boris",
                }
            )
            events.append(
                {
                    "type": "call.ended",
                    "call_id": call_id,
                    "timestamp": iso(start + timedelta(seconds=65)),
                    "status": "answered",
                    "recording_url": f"http://127.0.0.1:1/rec/{call_id}.mp3",
                }
            )
        else:
            events.append(
                {
                    "type": "call.ended",
                    "call_id": call_id,
                    "timestamp": iso(start + timedelta(seconds=20)),
                    "status": "no_answer",
                }
            )
        out.append((call_id, caller, "answered" if answered else "missed", events))
    return out


def _wait_in_call_log(platform: Any, call_ids: set[str], page: Any) -> None:
    def seen() -> set[str]:
        items = api_get(platform, "/api/analytics/calls?limit=500", "admin")["items"]
        return {row["call_id"] for row in items} & call_ids

    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while seen() != call_ids:
        assert datetime.now(UTC) < deadline, f"calls not in the call log: {call_ids - seen()}"
        page.wait_for_timeout(250)  # polling the API, not synchronising the browser


def test_call_log_filters_search_and_csv(open_session: Any, platform: Any) -> None:
    calls = _calls(datetime.now(UTC))
    send_pbx(platform, [event for _, _, _, events in calls for event in events])
    page = open_session("admin")
    _wait_in_call_log(platform, {c[0] for c in calls}, page)

    page.goto("/calls")
    table = page.get_by_test_id("call-log")
    page.get_by_role("button", name="Refresh").click()
    for call_id, *_ in calls:
        expect(table.locator(f'tr[data-call-id="{call_id}"]')).to_be_visible()
    screenshot(page, "05-call-log")

    # Recording playback in place.
    answered_id = calls[0][0]
    table.locator(f'tr[data-call-id="{answered_id}"]').get_by_role(
        "button", name=re.compile("Play")
    ).click()
    expect(page.get_by_test_id("recording-player")).to_be_visible()

    # Filter: missed only; then search a partial number written another way.
    page.get_by_label("Missed only").check()
    missed_ids = {c[0] for c in calls if c[2] == "missed"}
    answered_ids = {c[0] for c in calls if c[2] == "answered"}
    for call_id in missed_ids:
        expect(table.locator(f'tr[data-call-id="{call_id}"]')).to_be_visible()
    for call_id in answered_ids:
        expect(table.locator(f'tr[data-call-id="{call_id}"]')).to_have_count(0)
    page.get_by_role("searchbox", name="Search calls").fill("999-88")
    target = calls[3][0]
    expect(table.locator("tbody tr[data-call-id]")).to_have_count(1)
    expect(table.locator(f'tr[data-call-id="{target}"]')).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["call_id"] for r in rows] == [target]
    assert rows[0]["src"] == "+74959998877"


def test_report_table_and_chart_in_all_four_groupings(open_session: Any, platform: Any) -> None:
    page = open_session("maria")
    page.goto("/reports")
    groupings = {
        "By days": "day",
        "By hours": "hour",
        "By employees and days": "employee_day",
        "By employees and months": "employee_month",
    }
    for label, group_by in groupings.items():
        page.get_by_role("button", name=label, exact=True).click()
        table = page.get_by_test_id("report-table")
        expect(table).to_have_attribute("data-group-by", group_by)
        expect(table.locator("tbody tr").first).to_be_visible()
        expect(table.locator("td.empty")).to_have_count(0)
    screenshot(page, "06-report-table")
    page.get_by_role("button", name="Chart", exact=True).click()
    for label, group_by in groupings.items():
        page.get_by_role("button", name=label, exact=True).click()
        chart = page.get_by_test_id("report-chart")
        expect(chart).to_have_attribute("data-group-by", group_by)
        box = chart.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
    screenshot(page, "07-report-chart")


def test_calltouch_form_validation(open_session: Any) -> None:
    page = open_session("admin")
    page.goto("/settings")
    form = page.get_by_test_id("calltouch-form")
    form.get_by_label("Enabled").check()
    for name in ("Call Data URL", "Request Data URL", "ID", "Token", "Time lag (minutes)"):
        form.get_by_label(name, exact=False).first.fill("")
    form.get_by_role("button", name="Save Calltouch").click()
    expect(form.get_by_text("Call Data URL is required when Calltouch is enabled.")).to_be_visible()
    expect(
        form.get_by_text("Request Data URL is required when Calltouch is enabled.")
    ).to_be_visible()
    expect(form.get_by_text("ID is required when Calltouch is enabled.")).to_be_visible()
    expect(form.get_by_text("Token is required when Calltouch is enabled.")).to_be_visible()
    expect(form.get_by_role("alert")).to_have_text("Fix the highlighted fields.")

    form.get_by_label("Call Data URL").fill("calltouch dot ru")
    form.get_by_label("Time lag (minutes)").fill("ten")
    expect(
        form.get_by_text("Call Data URL must be a full http:// or https:// address.")
    ).to_be_visible()
    expect(form.get_by_text("Time lag must be a whole number of minutes.")).to_be_visible()
    screenshot(page, "08-settings-calltouch-validation")

    form.get_by_label("Call Data URL").fill("https://api.calltouch.example/calls")
    form.get_by_label("Request Data URL").fill("https://api.calltouch.example/requests")
    form.get_by_label("ID").fill("12345")
    form.get_by_label("Token").fill("ct-secret-token")
    form.get_by_label("Time lag (minutes)").fill("-5")
    form.get_by_role("button", name="Save Calltouch").click()
    expect(form.get_by_role("status")).to_have_text("Calltouch settings saved.")
    page.reload()
    form = page.get_by_test_id("calltouch-form")
    expect(form.get_by_label("Call Data URL")).to_have_value("https://api.calltouch.example/calls")
    expect(form.get_by_label("Time lag (minutes)")).to_have_value("-5")
    # The token is write-only: never shown back.
    expect(form.get_by_label("Token")).to_have_value("")


def test_every_page_at_desktop_and_tablet_width(open_session: Any) -> None:
    page = open_session("admin")
    for path, name in (
        ("/clients?q=Kuznetsova", "09-clients"),
        ("/booking?clinic_id=clinic-msk-center", "10-booking"),
        ("/clients/merge", "11-merge"),
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
    page.goto("/clients?q=Olga")
    page.get_by_role("link", name="Olga Kuznetsova").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    screenshot(page, "12-client-profile")

    tablet = open_session("anna", viewport={"width": 820, "height": 1180})
    for path, name in (("/calls", "13-tablet-call-log"), ("/booking", "14-tablet-booking")):
        tablet.goto(path)
        tablet.wait_for_load_state("networkidle")
        # Nothing overflows the viewport sideways except inside scrollable tables.
        width = tablet.evaluate("document.documentElement.scrollWidth")
        assert width <= 820, f"{path} is {width}px wide at tablet width"
        screenshot(tablet, name)
    # Keyboard: the skip link is the first stop, then the navigation.
    tablet.keyboard.press("Tab")
    expect(tablet.get_by_role("link", name="Skip to content")).to_be_focused()
