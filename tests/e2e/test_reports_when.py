"""The Reports page's "When the calls come": the heatmap cell of calls the test sent.

Four incoming calls at Central (extension 101, Moscow) in a fixed past week nobody else
uses: on Wednesday 2024-11-13 three at 14:xx Moscow time (one of them missed), and one on
Friday 2024-11-15 at 09:30. The page is read for 2024-11-11 .. 2024-11-17; the Wednesday
14:00 cell shows 3 incoming, and its tooltip the missed third.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
MSK = timedelta(hours=3)  # Moscow keeps UTC+3 all year


def _incoming(platform: Any, start: datetime, answered: bool) -> str:
    call_id = f"e2e-when-{uuid.uuid4().hex[:10]}"
    caller = f"+7916444{uuid.uuid4().int % 10_000:04d}"
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
                "operator_id": "op-anna",
            }
        )
    events.append(
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": iso(start + timedelta(seconds=65 if answered else 20)),
            "status": "answered" if answered else "missed",
        }
    )
    send_pbx(platform, events)
    return call_id


def test_the_heatmap_cell_counts_the_calls_sent(open_session: Any, platform: Any) -> None:
    wednesday_14 = datetime(2024, 11, 13, 14, tzinfo=UTC) - MSK
    friday_0930 = datetime(2024, 11, 15, 9, 30, tzinfo=UTC) - MSK
    sent = {
        _incoming(platform, wednesday_14 + timedelta(minutes=5), answered=True),
        _incoming(platform, wednesday_14 + timedelta(minutes=20), answered=False),
        _incoming(platform, wednesday_14 + timedelta(minutes=50), answered=True),
        _incoming(platform, friday_0930, answered=True),
    }
    weekday = (wednesday_14 + MSK).isoweekday()  # 3: the cell's ISO weekday
    period = "from=2024-11-11&to=2024-11-17"

    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        calls = api_get(platform, f"/api/analytics/calls?limit=50&{period}", "admin")["items"]
        if sent <= {row["call_id"] for row in calls}:
            break
        assert datetime.now(UTC) < deadline, "the November calls never reached the call log"
        time.sleep(0.25)  # polling the API until the projection has them

    page = open_session("maria")
    page.goto("/reports")
    page.get_by_label("From date").fill("2024-11-11")
    page.get_by_label("To date").fill("2024-11-17")
    section = page.get_by_test_id("when-report")
    heatmap = section.get_by_test_id("when-heatmap")
    cell = heatmap.locator(f'td[data-weekday="{weekday}"][data-hour="14"]')
    expect(heatmap.locator("tbody tr")).to_have_count(7)
    expect(heatmap.locator("tbody td")).to_have_count(7 * 24)
    expect(cell).to_have_text("3")
    expect(cell).to_have_attribute("data-missed", "1")
    expect(cell).to_have_attribute("title", "Wednesday 14:00: 3 incoming, 1 missed (33.3%)")
    expect(heatmap.locator('td[data-weekday="5"][data-hour="9"]')).to_have_text("1")
    expect(heatmap.locator('td[data-weekday="1"][data-hour="14"]')).to_have_text("")
    expect(heatmap.locator("tbody th").first).to_have_text("Mon")
    expect(page.get_by_test_id("when-chart")).to_have_attribute("data-points", "24")

    section.get_by_role("button", name="Missed share", exact=True).click()
    expect(heatmap).to_have_attribute("data-view", "missed_share")
    expect(cell).to_have_text("33.3%")
    section.get_by_role("button", name="Incoming", exact=True).click()
    expect(cell).to_have_text("3")
    csv_link = section.get_by_role("link", name="Export heatmap CSV")
    expect(csv_link).to_have_attribute(
        "href", re.compile(r"^/api/analytics/reports/when\?.*format=csv")
    )

    page.get_by_test_id("when-report").scroll_into_view_if_needed()
    shot = screenshot(page, "heatmap")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "heatmap.png")
