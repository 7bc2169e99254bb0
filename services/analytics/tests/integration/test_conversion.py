"""Conversion, through real Kafka and PostgreSQL: incoming calls → answered → with a
touch → with an appointment → cancelled, per operator, clinic, DID, clinic-local day and
month, against figures counted in plain Python from the generated calls, touches and
bookings (booked during the call, from its touch days later, during a call-back from an
earlier call's touch, cancelled later), on New York's DST day and across clinics in two
zones; CSV, audit, limits, 4xx and roles."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

URL = "/api/analytics/reports/conversion"
STEPS = ("incoming", "answered", "with_touch", "with_appointment", "cancelled")
COUNTS = (*STEPS, "appointments", "appointments_cancelled")
RATES = (
    ("answer_rate", "answered", "incoming"),
    ("touch_rate", "with_touch", "answered"),
    ("booking_rate", "with_appointment", "with_touch"),
    ("cancellation_rate", "cancelled", "with_appointment"),
    ("conversion_rate", "with_appointment", "incoming"),
)


def _steps(world: Any, call: Any) -> dict[str, int]:
    answered = call.disposition == "answered"
    touched = answered and call.touch is not None
    booked = world.appointments(call) if touched else []
    return {
        "incoming": 1,
        "answered": int(answered),
        "with_touch": int(touched),
        "with_appointment": int(bool(booked)),
        "cancelled": int(bool(booked) and all(b.cancelled_at for b in booked)),
        "appointments": len(booked),
        "appointments_cancelled": sum(1 for b in booked if b.cancelled_at),
    }


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {name: counts.get(name, 0) for name in COUNTS}
    for name, part, whole in RATES:
        out[name] = round(out[part] / out[whole], 4) if out[whole] else None
    return out


def _key(world: Any, call: Any, group_by: str) -> str | None:
    if group_by == "admin":
        return world.admin_id(call)
    if group_by == "clinic":
        return call.clinic_id
    if group_by == "did":
        return call.did
    return world.local(call).strftime("%Y-%m-%d" if group_by == "day" else "%Y-%m")


def expected(
    world: Any, group_by: str, selected: Callable[[Any, Any], bool]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The whole period's figures and each group's row, in key order (no key last)."""
    total: dict[str, int] = dict.fromkeys(COUNTS, 0)
    groups: dict[str | None, dict[str, int]] = {}
    for call in world.calls:
        if call.call_type != "incoming" or not selected(world, call):
            continue
        steps = _steps(world, call)
        group = groups.setdefault(_key(world, call, group_by), dict.fromkeys(COUNTS, 0))
        for name, value in steps.items():
            total[name] += value
            group[name] += value
    rows = []
    for key in sorted(groups, key=lambda k: (k is None, (k or "").encode())):
        if group_by == "admin":
            head: dict[str, Any] = {
                "admin_id": key,
                "admin_name": world.operator_names.get(key) if key else None,
            }
        elif group_by == "clinic":
            head = {"clinic_id": key, "clinic_name": world.clinic_names.get(key) if key else None}
        elif group_by == "did":
            head = {"did": key, "did_description": world.did_descriptions.get(key or "")}
        else:
            head = {group_by: key}
        rows.append({**head, **_figures(groups[key])})
    return _figures(total), rows


def _local_between(start: datetime, end: datetime) -> Callable[[Any, Any], bool]:
    return lambda w, c: start <= w.local(c).replace(tzinfo=None) < end


def _in(*clinics: str) -> Callable[[Any, Any], bool]:
    return lambda w, c: c.clinic_id in clinics


CASES: list[tuple[str, str, dict[str, Any], Callable[[Any, Any], bool]]] = [
    *((f"everything by {g}", g, {}, lambda w, c: True) for g in ("admin", "clinic", "did")),
    ("everything by day", "day", {}, lambda w, c: True),
    ("everything by month", "month", {}, lambda w, c: True),
    (
        "New York's spring-forward day",
        "day",
        {"clinic": ["clinic-ny"], "from": "2026-03-08", "to": "2026-03-08"},
        lambda w, c: (
            _in("clinic-ny")(w, c)
            and _local_between(datetime(2026, 3, 8), datetime(2026, 3, 9))(w, c)
        ),
    ),
    (
        "two clinics in different zones, by their own days",
        "day",
        {"clinic": ["clinic-ny", "clinic-berlin"], "from": "2026-03-07", "to": "2026-03-09"},
        lambda w, c: (
            _in("clinic-ny", "clinic-berlin")(w, c)
            and _local_between(datetime(2026, 3, 7), datetime(2026, 3, 10))(w, c)
        ),
    ),
    (
        "admins by clinic",
        "clinic",
        {"admin": ["op-2", "op-5"]},
        lambda w, c: w.admin_id(c) in ("op-2", "op-5"),
    ),
    (
        "two numbers (one typed nationally) by number",
        "did",
        {"did": ["8 495 000-00-01", "+12125550100"]},
        lambda w, c: c.did in ("+74950000001", "+12125550100"),
    ),
]


async def test_the_world_has_every_kind_of_booking(analytics: Any) -> None:
    """The generated bookings cover what the report must link (else the checks prove
    less than they say)."""
    world = analytics.world
    calls = {c.call_id: c for c in world.calls}
    touch_call = {c.touch.touch_id: c for c in world.calls if c.touch}
    later = [
        b
        for b in world.bookings
        if b.call_id is None and b.touch_id and b.booked_at > touch_call[b.touch_id].ended_at
    ]
    assert any(touch_call[b.touch_id].disposition == "answered" for b in later if b.touch_id)
    assert any(b.cancelled_at for b in world.bookings)
    assert any(b.call_id and b.touch_id is None for b in world.bookings)
    callback = next(b for b in world.bookings if b.appointment_id == "appt-callback")
    assert callback.call_id and touch_call[callback.touch_id or ""] is not calls[callback.call_id]


@pytest.mark.parametrize("source", ["rollup", "call_log"])
@pytest.mark.parametrize(
    ("name", "group_by", "params", "selected"), CASES, ids=[c[0] for c in CASES]
)
async def test_funnel_equals_plain_python(
    analytics: Any,
    name: str,
    group_by: str,
    params: dict[str, Any],
    selected: Callable[[Any, Any], bool],
    source: str,
) -> None:
    """From the roll-up the calls report would read, and from the call log: the same."""
    response = await analytics.get(URL, group_by=group_by, source=source, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["source"] == "call_log") == (source == "call_log")
    total, rows = expected(analytics.world, group_by, selected)
    assert body["total"] == total
    assert body["rows"] == rows
    assert body["truncated"] is False
    assert body["group_by"] == group_by
    assert total["incoming"] > 0


async def test_dst_day_counts_the_days_the_clinics_clock_showed(analytics: Any) -> None:
    """ny-1 (00:30 EST on 2026-03-08) is on the 8th in New York, not on the 7th or 9th."""
    body = (
        await analytics.get(
            URL, group_by="day", clinic="clinic-ny", **{"from": "2026-03-08", "to": "2026-03-08"}
        )
    ).json()
    assert [row["day"] for row in body["rows"]] == ["2026-03-08"]


async def test_limit_truncates_groups_not_the_total(analytics: Any) -> None:
    full = (await analytics.get(URL, group_by="did")).json()
    assert len(full["rows"]) > 2
    cut = (await analytics.get(URL, group_by="did", limit=2)).json()
    assert cut["rows"] == full["rows"][:2]
    assert cut["total"] == full["total"]
    assert cut["truncated"] is True


async def test_csv_has_every_group_and_is_audited(analytics: Any) -> None:
    params = {"group_by": "clinic", "from": "2026-03-01", "to": "2026-03-20"}
    body = (await analytics.get(URL, **params)).json()
    response = await analytics.get(URL, format="csv", **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(table[0]) == [
        "clinic_id",
        "clinic_name",
        *COUNTS,
        *(name for name, _, _ in RATES),
    ]
    assert table == [
        {k: "" if v is None else str(v) for k, v in row.items()} for row in body["rows"]
    ]
    trail = await analytics.get(
        "/api/analytics/audit", "admin", action="conversion_report.exported", actor="u-manager"
    )
    assert trail.status_code == 200
    (record,) = [
        r for r in trail.json()["items"] if r["details"]["query"].get("to") == ["2026-03-20"]
    ]
    assert record["subject_type"] == "call_log"
    assert record["details"]["format"] == "csv"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"group_by": "hour"},
        {"group_by": "day", "limit": "0"},
        {"group_by": "day", "limit": "5001"},
        {"group_by": "day", "from": "2026-03-10", "to": "2026-03-01"},
        {"group_by": "day", "phone": "no digits"},
        {"group_by": "did", "did": "call me"},
        {"group_by": "day", "format": "xml"},
    ],
    ids=repr,
)
async def test_bad_parameters_are_a_422(analytics: Any, params: dict[str, str]) -> None:
    response = await analytics.get(URL, **params)
    assert response.status_code == 422, response.text


async def test_only_report_readers_see_it(analytics: Any) -> None:
    for role in ("call_centre", "clinic_staff"):
        assert (await analytics.get(URL, role, group_by="day")).status_code == 403
    assert (await analytics.get(URL, "admin", group_by="day")).status_code == 200
    assert (await analytics.client.get(URL, params={"group_by": "day"})).status_code == 401
