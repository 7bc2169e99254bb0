"""The operator's working day in the browser: a recording played (and sought) through the
platform — the PBX's HTTP stand-in (``scripts/standins/pbx_http.py``) serving it with byte
ranges — and a number called with one click, which telephony turns into an Asterisk AMI
``Originate`` heard by the fake AMI server (``services/telephony/tests/fakes/ami_server.py``)
running as a process.

The platform runs one click-to-call mode; the other, the signed webhook command
(``TELEPHONY_CLICK_TO_CALL=webhook``), is covered against ``pbx_http.py`` as a process by
``services/telephony/tests/integration/test_click_to_call.py``."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from live_platform import AMI_USERNAME, ORIGINATE_CONTEXT, api_get, iso, screenshot, send_pbx
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


def _ami_actions(platform: Any) -> list[dict[str, str]]:
    """What the fake AMI server heard so far, in order (lower-case keys, as it logs them)."""
    return [json.loads(line) for line in platform.ami_actions.read_text().splitlines()]


def test_click_to_call_rings_the_operators_extension(open_session: Any, platform: Any) -> None:
    call_id = _answered_call(platform, None)
    heard_before = len(_ami_actions(platform))
    page = open_session("anna")
    page.goto("/calls")
    row = page.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    with page.expect_response(lambda r: r.url.endswith("/api/telephony/click-to-call")) as sent:
        row.get_by_role("button", name=re.compile(r"^Call \+7")).click()
    expect(row.get_by_test_id("call-result")).to_have_text(re.compile("ringing on ext. 101"))
    screenshot(page, "21-click-to-call")
    reference = sent.value.json()["reference"]
    # "Ringing" is shown once Asterisk answered the Originate, so the session is on file:
    # a login as the originate user, the Originate from Anna's own extension (101, a PJSIP
    # phone) to the caller's number as dialled (E.164), and a logoff.
    login, originate, logoff = _ami_actions(platform)[heard_before:]
    assert (login["action"], login["username"], login["events"]) == ("Login", AMI_USERNAME, "off")
    assert {
        key: originate[key]
        for key in ("action", "channel", "exten", "context", "priority", "callerid", "async")
    } == {
        "action": "Originate",
        "channel": "PJSIP/101",
        "exten": CALLER,
        "context": ORIGINATE_CONTEXT,
        "priority": "1",
        "callerid": f"{CALLER} <{CALLER}>",
        "async": "true",
    }
    # This click's call, as telephony's answer to the console names it.
    assert originate["actionid"] == f"originate-{reference}"
    assert originate["variable"] == f"SWITCHBOARD_ORIGINATE={reference}"
    assert logoff["action"] == "Logoff"
    # A manager reads the log but does not make calls: no button.
    manager = open_session("maria")
    manager.goto("/calls")
    manager_row = manager.get_by_test_id("call-log").locator(f'tr[data-call-id="{call_id}"]')
    expect(manager_row).to_be_visible()
    expect(manager_row.get_by_role("button", name=re.compile("^Call"))).to_have_count(0)
