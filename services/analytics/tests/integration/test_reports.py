"""The calls report through real Kafka and PostgreSQL: every group_by, the filters, the
roll-up path against the call-log path, DST days in two zones, and the CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

URL = "/api/analytics/reports/calls"
GROUP_BYS = ("day", "hour", "employee_day", "employee_month", "did")
KINDS = ("incoming", "outgoing", "internal", "total")


def _local_between(start: datetime, end: datetime) -> Callable[[Any, Any], bool]:
    return lambda w, c: start <= w.local(c).replace(tzinfo=None) < end


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


Span = tuple[datetime | None, datetime | None]
OPEN: Span = (None, None)

# (name, params, predicate, answered by a roll-up?, the period's clinic-local bounds or
# instants: every day or hour of it is a row)
FILTERS: list[tuple[str, dict[str, Any], Callable[[Any, Any], bool], bool, Span]] = [
    ("everything", {}, lambda w, c: True, True, OPEN),
    (
        "clinic-local days",
        {"from": "2026-03-08", "to": "2026-03-14"},
        _local_between(datetime(2026, 3, 8), datetime(2026, 3, 15)),
        True,
        (datetime(2026, 3, 8), datetime(2026, 3, 15)),
    ),
    (
        "clinic-local hours",
        {"from": "2026-03-08T03:00", "to": "2026-03-08T20:00"},
        _local_between(datetime(2026, 3, 8, 3), datetime(2026, 3, 8, 20)),
        True,
        (datetime(2026, 3, 8, 3), datetime(2026, 3, 8, 20)),
    ),
    (
        "missed incoming, called back",
        {"call_type": ["incoming"], "missed": "true", "called_back": "true"},
        lambda w, c: (
            c.call_type == "incoming" and c.disposition == "missed" and w.callback(c) is not None
        ),
        True,
        OPEN,
    ),
    (
        "admins",
        {"admin": ["op-2", "op-3"]},
        lambda w, c: w.admin_id(c) in ("op-2", "op-3"),
        True,
        OPEN,
    ),
    (
        "clinic and dispositions",
        {"clinic": ["clinic-berlin"], "disposition": ["answered", "missed"]},
        lambda w, c: c.clinic_id == "clinic-berlin" and c.disposition in ("answered", "missed"),
        True,
        OPEN,
    ),
    (
        "neither missed nor called back",
        {"missed": "false", "called_back": "false"},
        lambda w, c: (
            not (c.call_type == "incoming" and c.disposition == "missed") and w.callback(c) is None
        ),
        True,
        OPEN,
    ),
    (
        "phone contains",
        {"phone": "+7916"},
        lambda w, c: "7916" in _digits(c.src) or "7916" in _digits(c.dst),
        False,
        OPEN,
    ),
    (
        "durations",
        {"talk_min": 100, "total_max": 600},
        lambda w, c: c.talk_seconds >= 100 and c.total_seconds <= 600,
        False,
        OPEN,
    ),
    (
        "instants",
        {"from": "2026-03-08T10:00:00Z", "to": "2026-03-20T00:00:00Z"},
        lambda w, c: (
            datetime(2026, 3, 8, 10, tzinfo=UTC) <= c.started_at < datetime(2026, 3, 20, tzinfo=UTC)
        ),
        False,
        (datetime(2026, 3, 8, 10, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)),
    ),
    (
        "local bounds inside an hour",
        {"from": "2026-03-08T03:30", "to": "2026-03-21"},
        _local_between(datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 22)),
        False,
        (datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 22)),
    ),
    ("tag", {"tag": ["booking"]}, lambda w, c: "booking" in w.tags(c), False, OPEN),
    (
        "public numbers, one typed nationally",
        {"did": ["8 (495) 000-00-01", "+12125550100"]},
        lambda w, c: c.did in ("+74950000001", "+12125550100"),
        True,
        OPEN,
    ),
    (
        "a public number over clinic-local days",
        {"did": ["+493012345678"], "from": "2026-03-28", "to": "2026-03-30"},
        lambda w, c: (
            c.did == "+493012345678"
            and _local_between(datetime(2026, 3, 28), datetime(2026, 3, 31))(w, c)
        ),
        True,
        (datetime(2026, 3, 28), datetime(2026, 3, 31)),
    ),
    (
        "search by admin name",
        {"q": "carla"},
        lambda w, c: "carla" in (w.row(c)["admin_name"] or "").lower(),
        False,
        OPEN,
    ),
]


def _key(group_by: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return {
        "day": lambda: (row["day"],),
        "hour": lambda: (row["day"], row["hour"]),
        "employee_day": lambda: (row["admin_id"], row["day"]),
        "employee_month": lambda: (row["admin_id"], row["month"]),
        "did": lambda: (row["did"],),
    }[group_by]()


def _assert_matches(group_by: str, rows: list[dict[str, Any]], want: dict[tuple, dict]) -> None:
    got = {_key(group_by, row): row for row in rows}
    assert sorted(got, key=repr) == sorted(want, key=repr)
    for key, expected in want.items():
        row = got[key]
        for kind in KINDS:
            for figure in ("count", "answered", "missed"):
                assert row[kind][figure] == expected[kind][figure], (key, kind, figure)
            for figure in ("avg_talk_seconds", "avg_wait_seconds"):
                if expected[kind][figure] is None:
                    assert row[kind][figure] is None, (key, kind, figure)
                else:
                    assert row[kind][figure] == pytest.approx(expected[kind][figure], abs=0.006)
        if group_by.startswith("employee"):
            assert row["admin_name"] == expected["admin_name"], key
        if group_by == "did":
            assert row["did_description"] == expected["did_description"], key


def _by_rollup(group_by: str, params: dict[str, Any], by_rollup: bool) -> bool:
    """Whether a roll-up answers: the filters allow it, and no roll-up has both an admin
    and a public number (those go to the call log)."""
    needs_admin = group_by.startswith("employee") or "admin" in params
    needs_did = group_by == "did" or "did" in params
    return by_rollup and not (needs_admin and needs_did)


async def _whole(analytics: Any, group_by: str, **params: Any) -> tuple[str, list[dict]]:
    """The source and every row of a report, page after page (a year of hours is two)."""
    rows: list[dict] = []
    cursor = None
    while True:
        query = dict(params, group_by=group_by, limit=5000)
        if cursor:
            query["cursor"] = cursor
        response = await analytics.get(URL, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["rows"]
        cursor = body["next_cursor"]
        if cursor is None:
            return body["source"], rows


def _sorted_keys(group_by: str, rows: list[dict[str, Any]]) -> bool:
    keys = [tuple((v is None, "" if v is None else v) for v in _key(group_by, r)) for r in rows]
    return keys == sorted(keys)


@pytest.mark.parametrize("group_by", GROUP_BYS)
@pytest.mark.parametrize(
    ("params", "predicate", "by_rollup", "period"),
    [f[1:] for f in FILTERS],
    ids=[f[0] for f in FILTERS],
)
async def test_report_rows_equal_plain_python_grouping_by_either_path(
    analytics: Any,
    group_by: str,
    params: dict[str, Any],
    predicate: Callable[[Any, Any], bool],
    by_rollup: bool,
    period: Span,
) -> None:
    world = analytics.world
    zones = world.zones(params.get("clinic"))
    want = world.report(group_by, lambda c: predicate(world, c), period, zones)
    assert want, "a filter case that selects nothing proves little"

    source, rows = await _whole(analytics, group_by, **params)
    assert (source != "call_log") is _by_rollup(group_by, params, by_rollup), source
    _assert_matches(group_by, rows, want)
    assert _sorted_keys(group_by, rows)

    # The same report by GROUP BY over the call log gives the same rows, to the byte.
    raw_source, raw_rows = await _whole(analytics, group_by, source="call_log", **params)
    assert raw_source == "call_log"
    assert raw_rows == rows


@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_every_rollup_that_can_answer_gives_the_same_rows(
    analytics: Any, group_by: str
) -> None:
    """Forcing each answering roll-up (not only the one ``auto`` picks) changes nothing."""
    world = analytics.world
    _, reference = await _whole(analytics, group_by, source="call_log")
    for params in ({}, {"clinic": ["clinic-ny", "clinic-msk"]}, {"from": "2026-03-02T05:00"}):
        _, rollup = await _whole(analytics, group_by, source="rollup", **params)
        _, raw = await _whole(analytics, group_by, source="call_log", **params)
        assert rollup == raw
    _assert_matches(group_by, reference, world.report(group_by, lambda c: True))


async def test_a_report_read_right_after_a_change_commits_counts_it(analytics: Any) -> None:
    """The projection records its roll-up changes and a folder adds them beside it; a
    report read as soon as a change commits already has it folded in."""
    from switchboard_analytics.adapters.rollup_deltas import count_calls

    def calls_of(rows: list[dict]) -> int:
        return sum(r["total"]["count"] for r in rows)

    counted = next(c for c in analytics.world.calls if c.disposition is not None)
    source, before = await _whole(analytics, "day")
    assert source != "call_log"
    sessions = analytics.app.state.runtime.sessions
    # What the projection records when a counted call leaves the roll-ups, and comes back.
    async with sessions() as session, session.begin():
        await count_calls(session, [counted.call_id], -1)
    try:
        assert calls_of((await _whole(analytics, "day"))[1]) == calls_of(before) - 1
    finally:
        async with sessions() as session, session.begin():
            await count_calls(session, [counted.call_id], 1)
    assert (await _whole(analytics, "day"))[1] == before


async def test_the_changes_table_is_vacuumed_as_the_folder_does_after_a_backlog(
    analytics: Any,
) -> None:
    """Folded changes stay as dead rows that every look at the table walks until a
    ``VACUUM``; the folder runs one after a backlog, outside any transaction."""
    import sqlalchemy as sa

    from switchboard_analytics.adapters.rollup_deltas import vacuum_changes

    engine = analytics.app.state.runtime.engine
    count = sa.text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'rollup_changes'")
    async with engine.connect() as conn:
        before = await conn.scalar(count)
    await vacuum_changes(engine)
    async with engine.connect() as conn:
        assert await conn.scalar(count) == before + 1


async def test_new_york_spring_forward_day_has_no_2am_and_23_hours(analytics: Any) -> None:
    world = analytics.world
    response = await analytics.get(
        URL, group_by="hour", clinic=["clinic-ny"], **{"from": "2026-03-08", "to": "2026-03-08"}
    )
    rows = response.json()["rows"]
    hours = [row["hour"] for row in rows]
    assert 2 not in hours  # 02:00-02:59 did not exist in New York that night
    assert {0, 1, 3, 23} <= set(hours)  # ny-1, ny-2, ny-3, ny-4
    assert all(row["day"] == "2026-03-08" for row in rows)
    ny_calls = [
        c
        for c in world.calls
        if c.clinic_id == "clinic-ny" and world.local(c).date().isoformat() == "2026-03-08"
    ]
    assert sum(row["total"]["count"] for row in rows) == len(ny_calls)
    # ny-0 (04:59 UTC) is still March 7 in New York; ny-5 (04:30 UTC on the 9th) is 00:30.
    day_before = await analytics.get(
        URL,
        group_by="hour",
        clinic=["clinic-ny"],
        **{"from": "2026-03-07T23:00", "to": "2026-03-08T00:00"},
    )
    assert [(r["day"], r["hour"]) for r in day_before.json()["rows"]][-1] == ("2026-03-07", 23)
    day_after = await analytics.get(
        URL,
        group_by="hour",
        clinic=["clinic-ny"],
        **{"from": "2026-03-09T00:00", "to": "2026-03-09T01:00"},
    )
    assert [(r["day"], r["hour"]) for r in day_after.json()["rows"]] == [("2026-03-09", 0)]


async def test_berlin_dst_days_in_a_second_zone(analytics: Any) -> None:
    # 2026-03-29: be-0 at 23:00 UTC the day before is 00:00 CET; be-4 at 22:00 UTC is
    # 00:00 CEST of the 30th.
    march = await analytics.get(
        URL,
        group_by="hour",
        clinic=["clinic-berlin"],
        **{"from": "2026-03-29", "to": "2026-03-30T01:00"},
    )
    buckets = {(r["day"], r["hour"]): r["total"]["count"] for r in march.json()["rows"]}
    assert ("2026-03-29", 0) in buckets and ("2026-03-30", 0) in buckets
    assert ("2026-03-29", 2) not in buckets
    # 2026-10-25: 02:30 happened twice (CEST, then CET); both calls are in local hour 2.
    october = await analytics.get(
        URL, group_by="hour", clinic=["clinic-berlin"], **{"from": "2026-10-25", "to": "2026-10-25"}
    )
    rows = october.json()["rows"]
    # Every hour of the day is a row (the repeated one once), zero but for hour 2.
    assert [(r["day"], r["hour"]) for r in rows] == [("2026-10-25", h) for h in range(24)]
    assert [r["total"]["count"] for r in rows] == [2 if h == 2 else 0 for h in range(24)]
    assert (rows[2]["incoming"]["answered"], rows[2]["incoming"]["missed"]) == (1, 1)
    # The spring-forward day lists its 23 hours: 02:00-02:59 never happened in Berlin.
    spring = await analytics.get(
        URL, group_by="hour", clinic=["clinic-berlin"], **{"from": "2026-03-29", "to": "2026-03-29"}
    )
    assert [r["hour"] for r in spring.json()["rows"]] == [h for h in range(24) if h != 2]


@pytest.mark.parametrize("group_by", GROUP_BYS)
async def test_report_csv_has_the_same_figures(analytics: Any, group_by: str) -> None:
    world = analytics.world
    params = {"call_type": ["incoming", "outgoing"], "from": "2026-03-01", "to": "2026-03-31"}
    response = await analytics.get(URL, group_by=group_by, format="csv", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    rows = []
    for record in table:
        row: dict[str, Any] = {}
        for column, value in record.items():
            kind, _, figure = column.partition("_")
            if kind in KINDS:
                number = None if value == "" else float(value) if "avg" in figure else int(value)
                row.setdefault(kind, {})[figure] = number
            else:
                row[column] = int(value) if column == "hour" else (None if value == "" else value)
        rows.append(row)
    want = world.report(
        group_by,
        lambda c: (
            c.call_type in ("incoming", "outgoing")
            and datetime(2026, 3, 1) <= world.local(c).replace(tzinfo=None) < datetime(2026, 4, 1)
        ),
        (datetime(2026, 3, 1), datetime(2026, 4, 1)),
    )
    _assert_matches(group_by, rows, want)
    _, json_rows = await _whole(analytics, group_by, **params)
    assert [_key(group_by, r) for r in rows] == [_key(group_by, r) for r in json_rows]


async def _pages(analytics: Any, group_by: str, limit: int, **params: Any) -> list[list[dict]]:
    pages: list[list[dict]] = []
    cursor = None
    while True:
        query = dict(params, group_by=group_by, limit=limit)
        if cursor:
            query["cursor"] = cursor
        response = await analytics.get(URL, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["rows"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 1000, "the cursors must come to an end"


@pytest.mark.parametrize("group_by", GROUP_BYS)
@pytest.mark.parametrize("source", ["auto", "call_log"])
@pytest.mark.parametrize(
    ("params", "predicate", "period"),
    [
        ({}, lambda w, c: True, OPEN),
        ({"clinic": ["clinic-berlin"]}, lambda w, c: c.clinic_id == "clinic-berlin", OPEN),
        (
            {"missed": "false", "from": "2026-03-08T05:00"},
            lambda w, c: (
                not (c.call_type == "incoming" and c.disposition == "missed")
                and w.local(c).replace(tzinfo=None) >= datetime(2026, 3, 8, 5)
            ),
            (datetime(2026, 3, 8, 5), None),
        ),
    ],
    ids=["everything", "a clinic", "hours"],
)
async def test_report_pages_follow_each_other_to_every_group(
    analytics: Any,
    group_by: str,
    source: str,
    params: dict[str, Any],
    predicate: Callable[[Any, Any], bool],
    period: Span,
) -> None:
    """Pages of a third of the groups, cursor after cursor, are the whole report cut in
    order: every group once (the calls without an admin last), each page full but the last."""
    world = analytics.world
    _, everything = await _whole(analytics, group_by, source=source, **params)
    assert len(everything) >= 5, "too few groups to need three pages"
    size = len(everything) // 3

    pages = await _pages(analytics, group_by, size, source=source, **params)
    assert len(pages) >= 3
    assert [len(page) for page in pages[:-1]] == [size] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= size
    assert [row for page in pages for row in page] == everything
    assert _sorted_keys(group_by, everything)
    if group_by.startswith("employee"):
        admins = [row["admin_id"] for row in everything]
        assert None in admins and admins.index(None) > max(
            i for i, a in enumerate(admins) if a is not None
        )
    # Independently of the API's grouping: the groups of the calls the filter selects.
    want = world.report(
        group_by, lambda c: predicate(world, c), period, world.zones(params.get("clinic"))
    )
    _assert_matches(group_by, everything, want)


async def test_a_report_cursor_of_another_grouping_or_garbage_is_a_422(analytics: Any) -> None:
    first = await analytics.get(URL, group_by="day", limit=2)
    cursor = first.json()["next_cursor"]
    assert cursor
    other = await analytics.get(URL, group_by="hour", limit=2, cursor=cursor)
    assert other.status_code == 422
    assert "cursor" in other.text
    garbage = await analytics.get(URL, group_by="day", cursor="not-a-cursor")
    assert garbage.status_code == 422
    too_many = await analytics.get(URL, group_by="day", limit=100_000)
    assert too_many.status_code == 422


async def test_report_csv_streams_every_group_whatever_the_page_size(analytics: Any) -> None:
    whole = await analytics.get(URL, group_by="employee_day", limit=5000)
    response = await analytics.get(URL, group_by="employee_day", limit=3, format="csv")
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["admin_id"] or None, r["day"]) for r in table] == [
        (r["admin_id"], r["day"]) for r in whole.json()["rows"]
    ]


@pytest.mark.parametrize("source", ["auto", "call_log"])
async def test_a_day_without_calls_is_a_zero_row_between_its_neighbours(
    analytics: Any, source: str
) -> None:
    """New York's March has days nobody called: each is listed, in order, with zeros."""
    world = analytics.world
    ny_days = {world.local(c).date().isoformat() for c in world.calls if c.clinic_id == "clinic-ny"}
    march = [f"2026-03-{d:02d}" for d in range(1, 32)]
    quiet = [day for day in march if day not in ny_days]
    assert quiet and quiet[0] != march[0], "the generated month must have a quiet day inside"
    _, rows = await _whole(
        analytics,
        "day",
        source=source,
        clinic=["clinic-ny"],
        **{"from": "2026-03-01", "to": "2026-03-31"},
    )
    assert [row["day"] for row in rows] == march
    for row in rows:
        if row["day"] in quiet:
            assert row["total"] == {
                "count": 0,
                "answered": 0,
                "missed": 0,
                "avg_talk_seconds": None,
                "avg_wait_seconds": None,
            }
        else:
            assert row["total"]["count"] > 0


async def test_the_public_numbers_are_listed_with_their_descriptions(analytics: Any) -> None:
    """The reports' filter by number lists every number telephony described, the removed
    one too (its calls are still in the reports); stale descriptions lost."""
    response = await analytics.get("/api/analytics/dids")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["did"]: i["description"] for i in items} == analytics.world.did_descriptions
    assert [i["did"] for i in items] == sorted(analytics.world.did_descriptions)
    assert {i["did"] for i in items if not i["active"]} == {"+493012345678"}
    for role in ("call_centre", "clinic_staff"):
        assert (await analytics.get("/api/analytics/dids", role)).status_code == 403
