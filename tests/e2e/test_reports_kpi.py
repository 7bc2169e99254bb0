"""The Reports page beyond the seeds: a day nobody called is a zero on the time axis, and
the service level section shows the queue's figures of the same period.

Three incoming calls at Central (extension 101) on fixed past days, in Moscow time:
2026-02-02 one answered after 4 s and one missed, 2026-02-04 one answered after 30 s;
2026-02-03 has none. The page is read for 2026-02-01 .. 2026-02-07.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from live_platform import api_get, api_request, iso, screenshot, send_pbx
from playwright.sync_api import expect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
MSK = timedelta(hours=3)


def _incoming(
    platform: Any, start: datetime, wait: int, answered: bool, did: str | None = None
) -> str:
    call_id = f"e2e-kpi-{uuid.uuid4().hex[:10]}"
    caller = f"+7916555{uuid.uuid4().int % 10_000:04d}"
    started: dict[str, Any] = {
        "type": "call.started",
        "call_id": call_id,
        "timestamp": iso(start),
        "from": caller,
        "to": "101",
        "extension": "101",
    }
    if did is not None:
        started["did"] = did
    events: list[dict[str, Any]] = [started]
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


def _wait_projected(
    platform: Any, call_ids: set[str], period: tuple[str, str] = ("2026-02-01", "2026-02-07")
) -> None:
    query = f"/api/analytics/calls?limit=500&from={quote(period[0])}&to={quote(period[1])}"
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


def test_reports_group_and_filter_by_advertised_number(open_session: Any, platform: Any) -> None:
    """A number an admin describes in Settings labels its calls in every report grouped by
    number; the number filter narrows every report on the page, and the CSVs follow."""
    number = f"+7495{uuid.uuid4().int % 10_000_000:07d}"
    description = f"Metro posters {number[-4:]}"
    api_request(
        platform,
        "POST",
        "/api/telephony/dids",
        "admin",
        {"did": number, "clinic_id": "clinic-msk-center", "description": description},
    )
    tuesday = datetime(2026, 2, 10, 11, tzinfo=UTC) - MSK  # 11:00 in Moscow
    calls = {
        _incoming(platform, tuesday, wait=5, answered=True, did=number),
        _incoming(platform, tuesday + timedelta(minutes=20), wait=40, answered=False, did=number),
        _incoming(platform, tuesday + timedelta(hours=2), wait=8, answered=True, did=number),
        _incoming(platform, tuesday + timedelta(hours=3), wait=3, answered=True),
    }
    _wait_projected(platform, calls, ("2026-02-09", "2026-02-15"))
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while number not in {
        d["did"] for d in api_get(platform, "/api/analytics/dids", "admin")["items"]
    }:
        assert datetime.now(UTC) < deadline, "analytics never learnt the number's description"
        time.sleep(0.25)  # polling the API until the projection has it

    page = open_session("maria")
    page.goto("/reports")
    page.get_by_label("From date").fill("2026-02-09")
    page.get_by_label("To date").fill("2026-02-15")
    page.get_by_role("button", name="By advertised numbers").click()
    table = page.get_by_test_id("report-table")
    expect(table).to_have_attribute("data-group-by", "did")
    ours = table.locator("tbody tr", has_text=description)
    expect(ours.locator("td").first).to_have_text("3")  # incoming calls on the number
    kpis = page.get_by_test_id("kpi-table")
    kpi_row = kpis.locator("tbody tr", has_text=description)
    expect(kpi_row.locator('td[data-column="incoming"]')).to_have_text("3")
    expect(kpi_row.locator('td[data-column="abandonment_rate"]')).to_have_text("33.3%")
    conversion = page.get_by_test_id("conversion-report")
    conversion.get_by_role("button", name="DID").click()
    expect(
        page.get_by_test_id("conversion-table").locator("tbody tr", has_text=description)
    ).to_have_count(1)

    page.get_by_test_id("report-did-filter").select_option(number)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first).to_contain_text(description)
    csv_link = page.get_by_role("link", name="Export CSV").first
    expect(csv_link).to_have_attribute("href", re.compile("did=" + re.escape(quote(number))))
    page.get_by_role("button", name="By days").click()
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("tbody tr", has_text="10 Feb 2026").locator("td").first).to_have_text("3")

    page.get_by_role("button", name="By advertised numbers").click()
    expect(table).to_have_attribute("data-group-by", "did")
    table.scroll_into_view_if_needed()
    shot = screenshot(page, "reports-by-number")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "reports-by-number.png")
