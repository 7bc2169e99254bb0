"""The Reports page beyond the seeds: a day nobody called is a zero on the time axis, and
the service level section shows the queue's figures of the same period.

Three incoming calls at Central (extension 101) on fixed past days, in Moscow time:
2026-02-02 one answered after 4 s and one missed, 2026-02-04 one answered after 30 s;
2026-02-03 has none. The page is read for 2026-02-01 .. 2026-02-07.
"""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
MSK = timedelta(hours=3)


def _incoming(platform: Any, start: datetime, wait: int, answered: bool) -> str:
    call_id = f"e2e-kpi-{uuid.uuid4().hex[:10]}"
    caller = f"+7916555{uuid.uuid4().int % 10_000:04d}"
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
                "timestamp": iso(start + timedelta(seconds=wait)),
                "extension": "101",
                "operator_id": "op-anna",
            }
        )
    events.append(
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": iso(start + timedelta(seconds=wait + (60 if answered else 0))),
            "status": "answered" if answered else "missed",
        }
    )
    send_pbx(platform, events)
    return call_id


def _wait_projected(platform: Any, call_ids: set[str]) -> None:
    query = "/api/analytics/calls?limit=500&from=" + quote("2026-02-01") + "&to=2026-02-07"
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        items = api_get(platform, query, "admin")["items"]
        if call_ids <= {row["call_id"] for row in items}:
            return
        assert datetime.now(UTC) < deadline, "the February calls never reached the call log"
        time.sleep(0.25)  # polling the API until the projection has them


def test_a_quiet_day_is_zero_on_the_time_axis_and_the_kpis_show(
    open_session: Any, platform: Any
) -> None:
    monday = datetime(2026, 2, 2, 10, tzinfo=UTC) - MSK  # 10:00 in Moscow
    wednesday = datetime(2026, 2, 4, 10, tzinfo=UTC) - MSK
    calls = {
        _incoming(platform, monday, wait=4, answered=True),
        _incoming(platform, monday + timedelta(hours=1), wait=25, answered=False),
        _incoming(platform, wednesday, wait=30, answered=True),
    }
    _wait_projected(platform, calls)

    page = open_session("maria")
    page.goto("/reports")
    page.get_by_label("From date").fill("2026-02-01")
    page.get_by_label("To date").fill("2026-02-07")
    table = page.get_by_test_id("report-table")
    expect(table.locator("tbody tr")).to_have_count(7)  # every day of the week, calls or not
    quiet = table.locator("tbody tr", has_text="03 Feb 2026")  # en-GB, as the console writes days
    expect(quiet).to_have_attribute("data-empty", "true")
    expect(quiet.locator("td").first).to_have_text("0")
    busy = table.locator("tbody tr", has_text="02 Feb 2026")
    expect(busy).not_to_have_attribute("data-empty", "true")

    page.get_by_role("button", name="Chart", exact=True).click()
    chart = page.get_by_test_id("report-chart")
    expect(chart).to_have_attribute("data-x-axis", "time")
    expect(chart).to_have_attribute("data-points", "7")

    kpis = page.get_by_test_id("kpi-table")
    expect(kpis.locator("tbody tr")).to_have_count(7)
    monday_row = kpis.locator("tbody tr", has_text="02 Feb 2026")
    expect(monday_row.locator('td[data-column="incoming"]')).to_have_text("2")
    # Percentages as Intl writes them in English.
    expect(monday_row.locator('td[data-column="answer_rate"]')).to_have_text("50.0%")
    expect(monday_row.locator('td[data-column="abandonment_rate"]')).to_have_text("50.0%")
    # The default target is 20 s: the 4 s answer is in time, so half of Monday's calls.
    expect(monday_row.locator('td[data-column="service_level"]')).to_have_text("50.0%")
    wednesday_row = kpis.locator("tbody tr", has_text="04 Feb 2026")
    expect(wednesday_row.locator('td[data-column="service_level"]')).to_have_text("0.0%")
    expect(kpis.locator("tbody tr", has_text="03 Feb 2026").locator("td").first).to_have_text("0")
    expect(page.get_by_test_id("kpi-chart").locator("canvas")).to_be_visible()

    page.get_by_test_id("report-chart").scroll_into_view_if_needed()
    shot = screenshot(page, "reports-zero-day")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "reports-zero-day.png")
    page.get_by_test_id("kpi-table").scroll_into_view_if_needed()
    shot = screenshot(page, "reports-service-level")
    shutil.copyfile(shot, DOCS / "reports-service-level.png")
