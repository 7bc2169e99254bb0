"""The call-back worklist in the browser: a number that called twice and got nobody is
listed at two operators' consoles; one claims it and the other sees the claim without
reloading; an answered call to the number takes it off both lists by itself.

Calls go through the PBX webhook; the claim reaches the other console through analytics'
``WorklistChanged``, notify and the console's WebSocket.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from live_platform import screenshot, send_pbx
from playwright.sync_api import expect


def _call(
    platform: Any, start: datetime, caller: str, callee: str, *, answered_by: str | None
) -> None:
    """One call on extension 101, answered by ``answered_by`` or missed."""
    call_id = f"e2e-wl-{uuid.uuid4().hex[:10]}"
    events: list[dict[str, Any]] = [
        {
            "type": "call.started",
            "call_id": call_id,
            "timestamp": start.isoformat(),
            "from": caller,
            "to": callee,
            "extension": "101",
        }
    ]
    if answered_by:
        events.append(
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": (start + timedelta(seconds=5)).isoformat(),
                "extension": "101",
                "operator_id": answered_by,
            }
        )
    events.append(
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": (start + timedelta(seconds=40)).isoformat(),
            "status": "answered" if answered_by else "no_answer",
        }
    )
    send_pbx(platform, events)


def test_a_missed_number_is_claimed_by_one_and_called_back(
    open_session: Any, platform: Any
) -> None:
    number = f"+7916{random.randrange(10**7):07d}"
    now = datetime.now(UTC)
    for minutes_ago in (20, 10):
        _call(platform, now - timedelta(minutes=minutes_ago), number, "101", answered_by=None)

    anna, boris = open_session("anna"), open_session("boris")
    rows = []
    for page in (anna, boris):
        page.get_by_role("link", name=re.compile("^Call-backs")).click()
        row = page.get_by_test_id("worklist").locator(f'tr[data-number="{number}"]')
        expect(row).to_be_visible()
        expect(row.locator("td").nth(2)).to_have_text("2")  # attempts
        expect(row.get_by_role("button", name="Claim")).to_be_visible()
        rows.append(row)
    anna_row, boris_row = rows
    expect(boris.get_by_test_id("callbacks-count")).to_be_visible()

    anna_row.get_by_role("button", name="Claim").click()
    expect(anna_row.get_by_test_id("claimed-by")).to_have_text("Anna Smirnova")
    # Boris sees it claimed without reloading, and can no longer take or close it.
    expect(boris_row.get_by_test_id("claimed-by")).to_have_text("Anna Smirnova")
    expect(boris_row.get_by_role("button", name="Claim")).to_have_count(0)
    expect(boris_row.get_by_role("button", name="Close")).to_have_count(0)
    expect(anna_row.get_by_role("button", name="Release")).to_be_visible()
    screenshot(boris, "30-worklist")  # docs/console/worklist.png

    # Anna calls the number back; it answers: the call-back leaves both lists by itself.
    _call(platform, datetime.now(UTC), "101", number, answered_by="op-anna")
    expect(anna_row).to_have_count(0)
    expect(boris_row).to_have_count(0)
