"""Who may read what, and bad input getting a clear 4xx (never a 500)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLS = "/api/analytics/calls"
REPORT = "/api/analytics/reports/calls"


async def test_reading_needs_a_session(analytics: Any) -> None:
    for url, params in ((CALLS, {}), (REPORT, {"group_by": "day"})):
        anonymous = await analytics.client.get(url, params=params)
        assert anonymous.status_code == 401
        forged = await analytics.client.get(
            url, params=params, headers={"Authorization": "Bearer not.a.token"}
        )
        assert forged.status_code == 401


@pytest.mark.parametrize(
    ("role", "calls", "report"),
    [
        ("admin", 200, 200),
        ("manager", 200, 200),
        ("call_centre", 200, 403),
        ("clinic_staff", 200, 403),
    ],
)
async def test_roles(analytics: Any, role: str, calls: int, report: int) -> None:
    assert (await analytics.get(CALLS, role, limit=1)).status_code == calls
    assert (await analytics.get(REPORT, role, group_by="day")).status_code == report
    csv_report = await analytics.get(REPORT, role, group_by="day", format="csv")
    assert csv_report.status_code == report


def _cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("url", "params", "says"),
    [
        (CALLS, {"from": "yesterday"}, "from"),
        (CALLS, {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        (CALLS, {"sort": "salary"}, "sort"),
        (CALLS, {"order": "sideways"}, "order"),
        (CALLS, {"limit": 0}, "limit"),
        (CALLS, {"limit": 501}, "limit"),
        (CALLS, {"cursor": "definitely-not-a-cursor"}, "cursor"),
        (CALLS, {"cursor": _cursor({"s": "talk_seconds", "o": "asc", "v": 1, "id": "x"})}, "sort"),
        (
            CALLS,
            {"cursor": _cursor({"s": "started_at", "o": "desc", "v": "nope", "id": "x"})},
            "cursor",
        ),
        (CALLS, {"talk_min": 10, "talk_max": 5}, "talk_min"),
        (CALLS, {"total_min": -1}, "total_min"),
        (CALLS, {"phone": "abc"}, "phone"),
        (CALLS, {"call_type": "fax"}, "call_type"),
        (CALLS, {"disposition": "lost"}, "disposition"),
        (CALLS, {"missed": "maybe"}, "missed"),
        (CALLS, {"format": "xlsx"}, "format"),
        (REPORT, {}, "group_by"),
        (REPORT, {"group_by": "week"}, "group_by"),
        (REPORT, {"group_by": "day", "source": "rollup", "phone": "916"}, "source"),
        (REPORT, {"group_by": "day", "from": "2026-13-01"}, "from"),
        (REPORT, {"group_by": "day", "total_min": 9, "total_max": 1}, "total_min"),
    ],
)
async def test_bad_input_is_a_clear_422(
    analytics: Any, url: str, params: dict[str, Any], says: str
) -> None:
    response = await analytics.get(url, **params)
    assert response.status_code == 422, response.text
    assert says in response.text


async def test_like_wildcards_in_search_are_literal(analytics: Any) -> None:
    for text in ("%", "_", "\\"):
        response = await analytics.get(CALLS, q=text)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


async def test_messages_that_are_not_events_are_dead_lettered(
    analytics: Any, topic_reader: Any
) -> None:
    # The world's topics are "an."-prefixed (see conftest.py).
    reader = await topic_reader("an.telephony.calls.dlq.analytics.calls")
    await reader.wait_for(
        lambda records: any(r.value == b"this is not an event" for r in records),
        timeout=30,
        message="the bad message dead-lettered",
    )
    touches = await topic_reader("an.crm.touches.dlq.analytics.calls")
    await touches.wait_for(lambda records: len(records) >= 1, timeout=30, message="bad touch")


async def test_zones_postgresql_does_not_know_are_refused(analytics: Any) -> None:
    """Local times are computed by PostgreSQL: a clinic's zone it does not know would make
    every later call of the clinic fail, so such a ClinicChanged is dead-lettered."""
    from switchboard_analytics.adapters.store import zone_known

    async with analytics.app.state.runtime.sessions() as session:
        assert await zone_known(session, "America/New_York")
        assert not await zone_known(session, "Mars/Olympus_Mons")
