"""The service level report through real Kafka and PostgreSQL: every grouping and filter
against figures computed from the generated calls, with per-clinic targets, both report
paths, DST days in two zones, pages, CSV, and the targets' API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

URL = "/api/analytics/reports/service-level"
TARGETS_URL = "/api/analytics/service-level-targets"
GROUP_BYS = ("day", "hour", "employee_day", "employee_month", "did")
#: New York answers within 30 s, Berlin within 7 s; the rest keep the default 20 s.
TARGETS = {"clinic-ny": 30, "clinic-berlin": 7}
RATES = ("answer_rate", "abandonment_rate", "service_level", "callback_rate")
SECONDS = (
    "avg_speed_of_answer_seconds",
    "p90_speed_of_answer_seconds",
    "median_callback_delay_seconds",
)
COUNTS = ("incoming", "answered", "missed", "answered_within_target", "called_back")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def targets(analytics: Any) -> dict[str, int]:
    for clinic_id, seconds in TARGETS.items():
        response = await analytics.client.put(
            f"{TARGETS_URL}/{clinic_id}",
            json={"target_seconds": seconds},
            headers=analytics.headers["admin"],
        )
        assert response.status_code == 200, response.text
        assert response.json()["target_seconds"] == seconds
    return TARGETS


def _key(group_by: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return {
        "day": lambda: (row["day"],),
        "hour": lambda: (row["day"], row["hour"]),
        "employee_day": lambda: (row["admin_id"], row["day"]),
        "employee_month": lambda: (row["admin_id"], row["month"]),
        "did": lambda: (row["did"],),
    }[group_by]()


def _assert_matches(
    group_by: str,
    rows: list[dict[str, Any]],
    want: dict[tuple, dict],
    descriptions: dict[str, str] | None = None,
) -> None:
    got = {_key(group_by, row): row for row in rows}
    assert sorted(got, key=repr) == sorted(want, key=repr)
    for key, expected in want.items():
        row = got[key]
        for name in COUNTS + RATES:
            assert row[name] == expected[name], (key, name)
        for name in SECONDS:
            if expected[name] is None:
                assert row[name] is None, (key, name)
            else:
                assert row[name] == pytest.approx(expected[name], abs=0.006), (key, name)
        if group_by == "did":
            assert row["did_description"] == (descriptions or {}).get(key[0] or ""), key


async def _whole(analytics: Any, group_by: str, **params: Any) -> tuple[dict, list[dict]]:
    rows: list[dict] = []
    cursor = None
    while True:
        query = dict(params, group_by=group_by, limit=params.get("limit", 5000))
        if cursor:
            query["cursor"] = cursor
        response = await analytics.get(URL, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["rows"]
        cursor = body["next_cursor"]
        if cursor is None:
            return body, rows


def _local_between(start: datetime, end: datetime) -> Callable[[Any, Any], bool]:
    return lambda w, c: start <= w.local(c).replace(tzinfo=None) < end


CASES: list[tuple[str, dict[str, Any], Callable[[Any, Any], bool], bool, tuple]] = [
    ("everything", {}, lambda w, c: True, True, (None, None)),
    (
        "New York's DST week",
        {"clinic": ["clinic-ny"], "from": "2026-03-07", "to": "2026-03-10"},
        lambda w, c: (
            c.clinic_id == "clinic-ny"
            and datetime(2026, 3, 7) <= w.local(c).replace(tzinfo=None) < datetime(2026, 3, 11)
        ),
        True,
        (datetime(2026, 3, 7), datetime(2026, 3, 11)),
    ),
    (
        "Berlin's spring-forward day",
        {"clinic": ["clinic-berlin"], "from": "2026-03-29", "to": "2026-03-29"},
        lambda w, c: (
            c.clinic_id == "clinic-berlin"
            and datetime(2026, 3, 29) <= w.local(c).replace(tzinfo=None) < datetime(2026, 3, 30)
        ),
        True,
        (datetime(2026, 3, 29), datetime(2026, 3, 30)),
    ),
    (
        "admins",
        {"admin": ["op-2", "op-5"]},
        lambda w, c: w.admin_id(c) in ("op-2", "op-5"),
        True,
        (None, None),
    ),
    (
        "public numbers over New York's DST week",
        {"did": ["+12125550100", "+74950000001"], "from": "2026-03-07", "to": "2026-03-10"},
        lambda w, c: (
            c.did in ("+12125550100", "+74950000001")
            and datetime(2026, 3, 7) <= w.local(c).replace(tzinfo=None) < datetime(2026, 3, 11)
        ),
        True,
        (datetime(2026, 3, 7), datetime(2026, 3, 11)),
    ),
    (
        "instants (the call log)",
        {"from": "2026-03-08T10:00:00Z", "to": "2026-03-20T00:00:00Z"},
        lambda w, c: (
            datetime(2026, 3, 8, 10, tzinfo=UTC) <= c.started_at < datetime(2026, 3, 20, tzinfo=UTC)
        ),
        False,
        (datetime(2026, 3, 8, 10, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)),
    ),
]


@pytest.mark.parametrize("group_by", GROUP_BYS)
@pytest.mark.parametrize(
    ("params", "predicate", "by_rollup", "period"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_kpis_equal_figures_from_the_calls_by_either_path(
    analytics: Any,
    targets: dict[str, int],
    group_by: str,
    params: dict[str, Any],
    predicate: Callable[[Any, Any], bool],
    by_rollup: bool,
    period: tuple,
) -> None:
    world = analytics.world
    zones = world.zones(params.get("clinic"))
    want = world.kpi(group_by, lambda c: predicate(world, c), targets, period, zones)
    assert any(row["incoming"] for row in want.values()), "a case without calls proves little"

    body, rows = await _whole(analytics, group_by, **params)
    # No roll-up has both an admin and a public number: those go to the call log.
    needs_admin = group_by.startswith("employee") or "admin" in params
    needs_did = group_by == "did" or "did" in params
    by_rollup = by_rollup and not (needs_admin and needs_did)
    assert (body["source"] != "call_log") is by_rollup, body["source"]
    assert body["targets"] == {"default_seconds": 20, "clinics": targets}
    _assert_matches(group_by, rows, want, world.did_descriptions)

    raw_body, raw_rows = await _whole(analytics, group_by, source="call_log", **params)
    assert raw_body["source"] == "call_log"
    assert raw_rows == rows


async def test_service_level_counts_each_call_against_its_own_clinics_target(
    analytics: Any, targets: dict[str, int]
) -> None:
    """A chain-wide month: answered in time is the sum over clinics of their own rule."""
    world = analytics.world
    _, rows = await _whole(analytics, "day", **{"from": "2026-03-01", "to": "2026-03-31"})
    answered = [
        c
        for c in world.calls
        if c.call_type == "incoming" and c.disposition == "answered" and world.local(c).month == 3
    ]
    in_time = sum(c.wait_seconds <= targets.get(c.clinic_id or "", 20) for c in answered)
    default_rule = sum(c.wait_seconds <= 20 for c in answered)
    assert sum(row["answered_within_target"] for row in rows) == in_time != default_rule
    assert len(rows) == 31


async def test_kpi_pages_and_csv_have_every_bucket(analytics: Any, targets: dict[str, int]) -> None:
    world = analytics.world
    params = {"clinic": ["clinic-ny"], "from": "2026-03-01", "to": "2026-03-31"}
    _, whole = await _whole(analytics, "day", **params)
    _, paged = await _whole(analytics, "day", limit=7, **params)
    assert paged == whole
    response = await analytics.get(URL, group_by="day", format="csv", **params)
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["day"] for r in table] == [r["day"] for r in whole]
    want = world.kpi(
        "day",
        lambda c: c.clinic_id == "clinic-ny" and world.local(c).month == 3,
        targets,
        (datetime(2026, 3, 1), datetime(2026, 4, 1)),
        {"America/New_York"},
    )
    for record in table:
        expected = want[(record["day"],)]
        assert int(record["incoming"]) == expected["incoming"]
        level = expected["service_level"]
        assert record["service_level"] == ("" if level is None else str(level))


async def test_targets_api_validates_and_is_for_admins(
    analytics: Any, targets: dict[str, int]
) -> None:
    listed = await analytics.get(TARGETS_URL)
    assert listed.status_code == 200
    items = {item["clinic_id"]: item for item in listed.json()["items"]}
    assert items["clinic-ny"]["target_seconds"] == 30
    assert items["clinic-ny"]["clinic_name"] == "New York Midtown"
    assert items["clinic-berlin"]["target_seconds"] == 7
    assert "clinic-msk" not in items  # the directory never named it, nor has it a target
    for body in ({"target_seconds": 0}, {"target_seconds": 121}, {"target_seconds": "x"}, {}):
        bad = await analytics.client.put(
            f"{TARGETS_URL}/clinic-msk", json=body, headers=analytics.headers["admin"]
        )
        assert bad.status_code == 422, body
    refused = await analytics.client.put(
        f"{TARGETS_URL}/clinic-msk",
        json={"target_seconds": 15},
        headers=analytics.headers["manager"],
    )
    assert refused.status_code == 403
    assert (await analytics.get(URL, "call_centre", group_by="day")).status_code == 403
    # Setting and clearing a target changes the report at once (histograms, no recount).
    set_ = await analytics.client.put(
        f"{TARGETS_URL}/clinic-msk", json={"target_seconds": 5}, headers=analytics.headers["admin"]
    )
    assert set_.status_code == 200
    assert set_.json()["target_seconds"] == 5 and set_.json()["clinic_name"] is None
    body, _ = await _whole(analytics, "employee_month")
    assert body["targets"]["clinics"]["clinic-msk"] == 5
    cleared = await analytics.client.delete(
        f"{TARGETS_URL}/clinic-msk", headers=analytics.headers["admin"]
    )
    assert cleared.status_code == 204
    body, _ = await _whole(analytics, "employee_month")
    assert body["targets"]["clinics"] == targets
