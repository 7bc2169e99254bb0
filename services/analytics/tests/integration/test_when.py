"""When the calls come, through real Kafka and PostgreSQL: incoming calls and the missed
share per clinic-local hour and weekday x hour, against cells counted in plain Python
(zoneinfo) from the generated calls, by the roll-up path and the call-log path, on DST
days in New York and Berlin and across clinics in different zones; CSV, audit, 4xx."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

URL = "/api/analytics/reports/when"


def _local_between(start: datetime, end: datetime) -> Callable[[Any, Any], bool]:
    return lambda w, c: start <= w.local(c).replace(tzinfo=None) < end


def _in(*clinics: str) -> Callable[[Any, Any], bool]:
    return lambda w, c: c.clinic_id in clinics


def _both(*predicates: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda w, c: all(p(w, c) for p in predicates)


# (name, params, predicate, the roll-up that answers or "call_log")
CASES: list[tuple[str, dict[str, Any], Callable[[Any, Any], bool], str]] = [
    ("everything", {}, lambda w, c: True, "kpi_by_hour_total"),
    (
        "two clinics in different zones",
        {"clinic": ["clinic-ny", "clinic-berlin"]},
        _in("clinic-ny", "clinic-berlin"),
        "kpi_by_hour_clinic",
    ),
    (
        "New York's spring-forward day",
        {"clinic": ["clinic-ny"], "from": "2026-03-08", "to": "2026-03-08"},
        _both(_in("clinic-ny"), _local_between(datetime(2026, 3, 8), datetime(2026, 3, 9))),
        "kpi_by_hour_clinic",
    ),
    (
        "Berlin's fall-back day",
        {"clinic": ["clinic-berlin"], "from": "2026-10-25", "to": "2026-10-25"},
        _both(_in("clinic-berlin"), _local_between(datetime(2026, 10, 25), datetime(2026, 10, 26))),
        "kpi_by_hour_clinic",
    ),
    (
        "clinic-local hours of a week",
        {"from": "2026-03-09T08:00", "to": "2026-03-16T18:00"},
        _local_between(datetime(2026, 3, 9, 8), datetime(2026, 3, 16, 18)),
        "kpi_by_hour_total",
    ),
    (
        "admins",
        {"admin": ["op-2", "op-5"]},
        lambda w, c: w.admin_id(c) in ("op-2", "op-5"),
        "kpi_by_hour",
    ),
    (
        "not missed",
        {"missed": "false", "call_type": ["incoming", "outgoing"]},
        lambda w, c: (
            c.call_type in ("incoming", "outgoing")
            and not (c.call_type == "incoming" and c.disposition == "missed")
        ),
        "calls_by_hour_total",
    ),
    (
        "dispositions",
        {"disposition": ["missed", "busy"]},
        lambda w, c: c.disposition in ("missed", "busy"),
        "calls_by_hour_total",
    ),
    (
        "public numbers",
        {"did": ["+493012345678", "+74950000002"]},
        lambda w, c: c.did in ("+493012345678", "+74950000002"),
        "kpi_by_hour_did",
    ),
    (
        "a public number and an admin (the call log)",
        {"did": ["+74950000001"], "admin": ["op-2"]},
        lambda w, c: c.did == "+74950000001" and w.admin_id(c) == "op-2",
        "call_log",
    ),
    (
        "instants (the call log)",
        {"from": "2026-03-08T10:00:00Z", "to": "2026-03-20T00:00:00Z"},
        lambda w, c: (
            datetime(2026, 3, 8, 10, tzinfo=UTC) <= c.started_at < datetime(2026, 3, 20, tzinfo=UTC)
        ),
        "call_log",
    ),
    (
        "local bounds inside an hour (the call log)",
        {"from": "2026-03-08T09:30", "to": "2026-03-21"},
        _local_between(datetime(2026, 3, 8, 9, 30), datetime(2026, 3, 22)),
        "call_log",
    ),
    (
        "tags (the call log)",
        {"tag": ["angry"]},
        lambda w, c: "angry" in w.tags(c),
        "call_log",
    ),
]


def _expected(counts: dict[tuple[int, int], tuple[int, int]]) -> tuple[list[dict], list[dict]]:
    def figures(incoming: int, missed: int) -> dict[str, Any]:
        share = round(missed / incoming, 4) if incoming else None
        return {"incoming": incoming, "missed": missed, "missed_share": share}

    cells = [
        {"weekday": w, "hour": h, **figures(*counts.get((w, h), (0, 0)))}
        for w in range(1, 8)
        for h in range(24)
    ]
    hours = []
    for h in range(24):
        incoming = sum(counts.get((w, h), (0, 0))[0] for w in range(1, 8))
        missed = sum(counts.get((w, h), (0, 0))[1] for w in range(1, 8))
        hours.append({"hour": h, **figures(incoming, missed)})
    return hours, cells


@pytest.mark.parametrize(
    ("params", "predicate", "source"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_cells_equal_the_calls_counted_by_either_path(
    analytics: Any,
    params: dict[str, Any],
    predicate: Callable[[Any, Any], bool],
    source: str,
) -> None:
    world = analytics.world
    counts = world.when(lambda c: predicate(world, c))
    assert sum(incoming for incoming, _ in counts.values()), "a case without calls proves little"
    want_hours, want_cells = _expected(counts)

    response = await analytics.get(URL, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == source
    assert body["by_hour"] == want_hours
    assert body["by_weekday_hour"] == want_cells

    raw = await analytics.get(URL, source="call_log", **params)
    assert raw.status_code == 200, raw.text
    assert raw.json() == {**body, "source": "call_log"}
    if source != "call_log":
        insisted = await analytics.get(URL, source="rollup", **params)
        assert insisted.json() == body
    else:
        assert (await analytics.get(URL, source="rollup", **params)).status_code == 422


async def test_dst_hours_are_the_hours_the_clinics_clock_showed(analytics: Any) -> None:
    """Hand-made calls: Berlin's 02:30 that happened twice on Sunday 2026-10-25 (one
    answered, one missed) is hour 2 twice; New York's Sunday 2026-03-08 skips 02:00, so
    its 06:30 UTC missed call is 01:30 EST and nothing is in hour 2."""
    berlin = await analytics.get(
        URL, clinic="clinic-berlin", **{"from": "2026-10-25", "to": "2026-10-25"}
    )
    cells = {(c["weekday"], c["hour"]): c for c in berlin.json()["by_weekday_hour"]}
    assert cells[(7, 2)] == {
        "weekday": 7,
        "hour": 2,
        "incoming": 2,
        "missed": 1,
        "missed_share": 0.5,
    }
    assert sum(c["incoming"] for c in cells.values()) == 2

    new_york = await analytics.get(
        URL, clinic="clinic-ny", **{"from": "2026-03-08", "to": "2026-03-08"}
    )
    hours = {row["hour"]: row for row in new_york.json()["by_hour"]}
    assert hours[1]["missed"] >= 1  # ny-2, at 06:30 UTC
    assert hours[0]["incoming"] >= 1  # ny-1, at 00:30 EST
    # 02:00-02:59 never happened there that day.
    assert hours[2] == {"hour": 2, "incoming": 0, "missed": 0, "missed_share": None}


async def test_csv_has_the_168_cells_and_is_audited(analytics: Any) -> None:
    params = {"clinic": ["clinic-ny", "clinic-berlin"], "from": "2026-03-01", "to": "2026-03-31"}
    body = (await analytics.get(URL, **params)).json()
    response = await analytics.get(URL, format="csv", **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(table[0]) == ["weekday", "hour", "incoming", "missed", "missed_share"]
    assert len(table) == 168
    for record, cell in zip(table, body["by_weekday_hour"], strict=True):
        share = cell["missed_share"]
        assert record == {
            "weekday": str(cell["weekday"]),
            "hour": str(cell["hour"]),
            "incoming": str(cell["incoming"]),
            "missed": str(cell["missed"]),
            "missed_share": "" if share is None else str(share),
        }
    trail = await analytics.get(
        "/api/analytics/audit", "admin", action="when_report.exported", actor="u-manager"
    )
    assert trail.status_code == 200
    (record,) = [
        r for r in trail.json()["items"] if r["details"]["query"].get("clinic") == params["clinic"]
    ]
    assert record["subject_type"] == "call_log"
    assert record["details"]["format"] == "csv"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"talk_min": "10", "talk_max": "5"},
        {"talk_min": "-1"},
        {"phone": "no digits"},
        {"call_type": "video"},
        {"source": "cache"},
        {"format": "xml"},
        {"source": "rollup", "q": "Anna"},
    ],
    ids=repr,
)
async def test_bad_filters_are_a_422(analytics: Any, params: dict[str, str]) -> None:
    response = await analytics.get(URL, **params)
    assert response.status_code == 422, response.text


async def test_only_report_readers_see_it(analytics: Any) -> None:
    for role in ("call_centre", "clinic_staff"):
        assert (await analytics.get(URL, role)).status_code == 403
        assert (await analytics.get(URL, role, format="csv")).status_code == 403
    assert (await analytics.get(URL, "admin")).status_code == 200
    assert (await analytics.client.get(URL)).status_code == 401
