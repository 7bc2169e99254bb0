"""Report rows from aggregates, roll-up choice, and cursors (no database)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from switchboard_analytics.adapters import reports
from switchboard_analytics.adapters.call_log_pages import decode_cursor, encode_cursor
from switchboard_analytics.adapters.queries import CallLogFilter, QueryError
from switchboard_analytics.adapters.rollup_choice import KPI_ROLLUPS, choose_rollup
from switchboard_analytics.domain.periods import parse_period
from switchboard_analytics.domain.reports import (
    GroupFigures,
    build_rows,
    csv_header,
    csv_record,
    figures,
)


def test_rows_show_each_call_type_and_the_total_with_averages() -> None:
    groups = [
        GroupFigures(
            (date(2026, 3, 8),),
            {"incoming": (4, 2, 2, 100, 40), "outgoing": (1, 0, 1, 0, 30)},
        ),
        GroupFigures((date(2026, 3, 7),), {"internal": (1, 1, 0, 7, 1)}),
    ]
    rows = build_rows("day", groups)
    assert [row["day"] for row in rows] == ["2026-03-07", "2026-03-08"]
    data = rows[1]
    assert data["incoming"] == {
        "count": 4,
        "answered": 2,
        "missed": 2,
        "avg_talk_seconds": 50.0,
        "avg_wait_seconds": 10.0,
    }
    assert data["outgoing"]["avg_talk_seconds"] is None
    assert data["internal"] == {
        "count": 0,
        "answered": 0,
        "missed": 0,
        "avg_talk_seconds": None,
        "avg_wait_seconds": None,
    }
    assert data["total"] == {
        "count": 5,
        "answered": 2,
        "missed": 3,
        "avg_talk_seconds": 50.0,
        "avg_wait_seconds": 14.0,
    }


def test_averages_round_to_hundredths() -> None:
    assert figures((3, 3, 0, 100, 10)) == {
        "count": 3,
        "answered": 3,
        "missed": 0,
        "avg_talk_seconds": 33.33,
        "avg_wait_seconds": 3.33,
    }


def test_employee_rows_name_the_admin_and_put_nobody_last() -> None:
    groups = [
        GroupFigures((None, date(2026, 3, 1)), {"incoming": (1, 0, 1, 0, 9)}),
        GroupFigures(("op-2", date(2026, 3, 1)), {"incoming": (1, 1, 0, 60, 3)}),
        GroupFigures(("op-1", date(2026, 3, 1)), {"incoming": (1, 1, 0, 30, 3)}),
    ]
    rows = build_rows("employee_month", groups, {"op-1": "Анна"})
    assert [(r["admin_id"], r["admin_name"]) for r in rows] == [
        ("op-1", "Анна"),
        ("op-2", "op-2"),
        (None, None),
    ]
    assert rows[0]["month"] == "2026-03"
    header = csv_header("employee_month")
    assert header[:3] == ["admin_id", "admin_name", "month"]
    assert len(header) == 3 + 4 * 5
    record = csv_record(csv_header("employee_month"), rows[0])
    assert record[:3] == ["op-1", "Анна", "2026-03"]
    assert record[header.index("incoming_avg_talk_seconds")] == 30.0
    assert record[header.index("total_count")] == 1


def flt(**kwargs: object) -> CallLogFilter:
    period = kwargs.pop("period", None)
    return CallLogFilter(
        period=parse_period(*period) if period else parse_period(None, None), **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("group_by", "filters", "table"),
    [
        ("day", {}, "calls_by_day_total"),
        ("day", {"period": ("2026-03-08T09:00", None)}, "calls_by_hour_total"),
        ("hour", {"call_types": frozenset({"incoming"}), "missed": True}, "calls_by_hour_total"),
        ("employee_day", {}, "calls_by_day"),
        ("employee_month", {}, "calls_by_month"),
        ("employee_month", {"period": ("2026-01-01", "2026-12-31")}, "calls_by_month"),
        ("employee_month", {"period": ("2026-01-15", "2026-12-31")}, "calls_by_day"),
        ("employee_day", {"period": ("2026-03-08T09:00", None)}, "calls_by_hour"),
        ("hour", {"admin_ids": frozenset({"op-1"})}, "calls_by_hour"),
        ("day", {"clinic_ids": frozenset({"c"})}, "calls_by_day_clinic"),
        ("hour", {"clinic_ids": frozenset({"c"})}, "calls_by_hour_clinic"),
        ("day", {"clinic_ids": frozenset({"c"}), "admin_ids": frozenset({"a"})}, "calls_by_day"),
        ("employee_day", {"clinic_ids": frozenset({"c"})}, "calls_by_day"),
        ("day", {"called_back": False}, "calls_by_day_total"),
        ("did", {}, "calls_by_month_did"),
        ("did", {"period": ("2026-01-15", "2026-12-31")}, "calls_by_day_did"),
        ("day", {"dids": frozenset({"+74950000001"})}, "calls_by_day_did"),
        ("day", {"phone": "916"}, None),
        ("day", {"search": "anna"}, None),
        ("day", {"tags": frozenset({"x"})}, None),
        ("day", {"talk_max": 10}, None),
        ("day", {"period": ("2026-03-08T00:00:00Z", None)}, None),
        ("day", {"period": ("2026-03-08T09:15", None)}, None),
    ],
)
def test_the_smallest_rollup_that_answers_is_chosen(
    group_by: str, filters: dict[str, object], table: str | None
) -> None:
    chosen = choose_rollup(flt(**filters), group_by)
    assert (chosen.table.name if chosen is not None else None) == table


@pytest.mark.parametrize(
    ("group_by", "filters", "table"),
    [
        ("day", {}, "kpi_by_day_total"),
        ("hour", {}, "kpi_by_hour_total"),
        ("day", {"clinic_ids": frozenset({"c"})}, "kpi_by_day_clinic"),
        ("employee_day", {}, "kpi_by_day"),
        ("employee_month", {}, "kpi_by_month"),
        ("did", {}, "kpi_by_month_did"),
        ("did", {"period": ("2026-01-15", "2026-12-31")}, "kpi_by_day_did"),
        ("hour", {"admin_ids": frozenset({"op-1"})}, "kpi_by_hour"),
        # Only incoming calls, without their dimensions: such filters read the call log.
        ("day", {"missed": True}, None),
        ("day", {"called_back": False}, None),
        ("day", {"call_types": frozenset({"incoming"})}, None),
        ("day", {"dispositions": frozenset({"answered"})}, None),
    ],
)
def test_the_service_level_report_reads_its_own_rollups(
    group_by: str, filters: dict[str, object], table: str | None
) -> None:
    chosen = choose_rollup(flt(**filters), group_by, KPI_ROLLUPS)
    assert (chosen.table.name if chosen is not None else None) == table


@pytest.mark.parametrize(
    ("group_by", "table"), [("day", "kpi_by_day_clinic"), ("hour", "kpi_by_hour_clinic")]
)
def test_clinics_with_their_own_targets_need_a_service_level_rollup_with_a_clinic(
    group_by: str, table: str
) -> None:
    chosen = choose_rollup(flt(), group_by, KPI_ROLLUPS, by_clinic=True)
    assert chosen is not None and chosen.table.name == table


def test_cursors_round_trip_and_refuse_another_sort() -> None:
    when = datetime(2026, 3, 8, 5, 30)
    cursor = encode_cursor("started_at_local", "asc", when, "call-1")
    assert decode_cursor(cursor, "started_at_local", "asc") == (when, "call-1")
    assert decode_cursor(encode_cursor("talk_seconds", "desc", 5, "x"), "talk_seconds", "desc") == (
        5,
        "x",
    )
    assert decode_cursor(
        encode_cursor("called_back", "desc", True, "x"), "called_back", "desc"
    ) == (True, "x")
    with pytest.raises(QueryError, match="another sort"):
        decode_cursor(cursor, "started_at_local", "desc")
    with pytest.raises(QueryError, match="cursor"):
        decode_cursor("%%%", "started_at", "desc")


@pytest.mark.parametrize(
    ("group_by", "key"),
    [
        ("day", (date(2026, 3, 8),)),
        ("hour", (datetime(2026, 3, 8, 23),)),
        ("employee_day", ("op-1", date(2026, 3, 8))),
        ("employee_month", (None, date(2026, 3, 1))),
    ],
)
def test_report_cursors_round_trip_and_refuse_another_grouping(
    group_by: str, key: tuple[object, ...]
) -> None:
    cursor = reports.encode_cursor(group_by, key)
    assert reports.decode_cursor(cursor, group_by) == key
    other = "hour" if group_by != "hour" else "day"
    with pytest.raises(QueryError, match="another grouping"):
        reports.decode_cursor(cursor, other)
    with pytest.raises(QueryError, match="not a cursor"):
        reports.decode_cursor("%%%", group_by)


def test_csv_cells_a_spreadsheet_would_run_are_quoted() -> None:
    from switchboard_analytics.entrypoints.responses import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert spreadsheet_safe("+7 916") == "'+7 916"
    assert spreadsheet_safe("@sum") == "'@sum"
    assert spreadsheet_safe("Анна") == "Анна"
