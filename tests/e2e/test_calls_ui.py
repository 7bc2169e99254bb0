"""The operator's working day in the browser: a recording played (and sought) through the
platform, and a number called with one click — against the PBX's HTTP stand-in
(``scripts/standins/pbx_http.py``: recordings with byte ranges, the signed click-to-call
command)."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from live_platform import api_get, iso, screenshot, send_pbx
from playwright.sync_api import expect

CALLER = "+79167770011"


def _answered_call(platform: Any, recording: str | None) -> str:
    """An incoming call answered by Anna (Central, ext. 101), in the call log."""
    call_id = f"e2e-rec-{uuid.uuid4().hex[:10]}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    ended: dict[str, Any] = {
        "type": "call.ended",
        "call_id": call_id,
        "timestamp": iso(start + timedelta(seconds=70)),
        "status": "answered",
    }
    if recording:
        ended["recording_url"] = f"{platform.pbx_url}/recordings/{recording}"
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(start),
                "from": CALLER,
                "to": "101",
                "extension": "101",
            },
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": iso(start + timedelta(seconds=4)),
                "extension": "101",
                "operator_id": "op-anna",
            },
            ended,
        ],
    )
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        items = api_get(platform, "/api/analytics/calls?limit=500", "admin")["items"]
        if any(row["call_id"] == call_id for row in items):
            return call_id
        assert datetime.now(UTC) < deadline, f"{call_id} not in the call log"
        time.sleep(0.25)  # polling the API until the projection has it


def test_the_player_streams_through_the_platform_and_seeks(
    open_session: Any, platform: Any
) -> None:
    call_id = _answered_call(platform, "minute.wav")
    page = open_session("anna")
    page.goto("/calls")
    row = page.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    expect(row).to_be_visible()
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if "/recording" in r.url else None)
    row.get_by_role("button", name=re.compile("Play")).click()
    player = page.get_by_test_id("recording-player")
    expect(player).to_have_attribute("src", f"/api/analytics/calls/{call_id}/recording")
    page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 59", arg=player.element_handle()
    )
    player.evaluate("el => { el.pause(); el.currentTime = 55; }")
    page.wait_for_function(
        "el => !el.seeking && Math.abs(el.currentTime - 55) < 1", arg=player.element_handle()
    )
    screenshot(page, "20-recording-player")
    # Chromium asks for byte ranges; the platform answered them as the PBX did.
    assert answers, "the player made no request to the platform"
    assert all(a.url.startswith(platform.console_url) for a in answers)
    partial = [a for a in answers if a.status == 206]
    assert partial, [a.status for a in answers]
    assert all(a.headers["content-range"].startswith("bytes ") for a in partial)
    # Each request that got audio is on record, as Anna.
    listens = api_get(platform, f"/api/analytics/recording-listens?call_id={call_id}", "admin")
    statuses = sorted(item["status"] for item in listens["items"])
    assert {item["operator_id"] for item in listens["items"]} == {"op-anna"}
    assert statuses == sorted(a.status for a in answers if a.status in (200, 206))


def test_click_to_call_rings_the_operators_extension(open_session: Any, platform: Any) -> None:
    call_id = _answered_call(platform, None)
    page = open_session("anna")
    page.goto("/calls")
    row = page.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    row.get_by_role("button", name=re.compile(r"^Call \+7")).click()
    expect(row.get_by_test_id("call-result")).to_have_text(re.compile("ringing on ext. 101"))
    screenshot(page, "21-click-to-call")
    sent = [
        json.loads(line) for line in (platform.log_dir / "originate.jsonl").read_text().splitlines()
    ]
    assert {k: sent[-1][k] for k in ("type", "extension", "number", "operator_id")} == {
        "type": "originate",
        "extension": "101",
        "number": CALLER,
        "operator_id": "op-anna",
    }
    # A manager reads the log but does not make calls: no button.
    manager = open_session("maria")
    manager.goto("/calls")
    manager_row = manager.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    expect(manager_row).to_be_visible()
    expect(manager_row.get_by_role("button", name=re.compile("^Call"))).to_have_count(0)
