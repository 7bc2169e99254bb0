"""The calls report as plain data: grouping keys, per-call-type figures, averages.

The report's reads (from a roll-up or from the call log) return one :class:`GroupFigures`
per group, with the counts and sums of each call type; :func:`build_rows` turns them
into the rows the API shows, with each type's averages and the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from switchboard_analytics.domain.kpi import KPI_FIGURES, KpiSums, kpi_figures

CALL_TYPES: tuple[str, ...] = ("incoming", "outgoing", "internal")
"""The call types, in the order reports show them (before the total)."""

ALL_KINDS: tuple[str, ...] = (*CALL_TYPES, "total")
"""The figures' columns of a row: each call type's, then the total's."""

GroupBy = Literal["day", "hour", "employee_day", "employee_month", "did"]

GROUP_KEYS: Mapping[str, tuple[str, ...]] = {
    "day": ("day",),
    "hour": ("day", "hour"),
    "employee_day": ("admin_id", "day"),
    "employee_month": ("admin_id", "month"),
    "did": ("did",),
}
"""The key columns of each ``group_by``, in the order rows are sorted by."""

FIGURES: tuple[str, ...] = ("count", "answered", "missed", "avg_talk_seconds", "avg_wait_seconds")
"""What a report shows for each call type and the total."""

Sums = tuple[int, int, int, int, int]
"""``(calls, answered, missed, talk_seconds, wait_seconds)`` of a set of calls."""


@dataclass(frozen=True)
class GroupFigures:
    """Counts and sums of one group's calls, per call type."""

    key: tuple[Any, ...]
    by_type: Mapping[str, Sums]
    #: The queue's figures (``domain.kpi``), for the service level report.
    kpi: KpiSums | None = None


def figures(sums: Sums) -> dict[str, Any]:
    """The figures of a set of calls: counts, the average talk of the answered calls and
    the average wait (start until answer, or until the caller gave up) of all of them."""
    calls, answered, missed, talk, wait = sums
    return {
        "count": calls,
        "answered": answered,
        "missed": missed,
        "avg_talk_seconds": round(talk / answered, 2) if answered else None,
        "avg_wait_seconds": round(wait / calls, 2) if calls else None,
    }


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # Calls nobody answered or was assigned to (no admin) sort after everyone's.
    return tuple((value is None, "" if value is None else value) for value in key)


#: The figures of no calls (copied: every row has dicts of its own).
_NO_FIGURES: dict[str, Any] = figures((0, 0, 0, 0, 0))


def build_rows(
    group_by: str,
    groups: Iterable[GroupFigures],
    admin_names: Mapping[str, str] | None = None,
    did_descriptions: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per group, sorted by its key (see :data:`GROUP_KEYS`), as the API shows it.

    ``admin_names`` maps operator ids to names for the employee groupings; an operator
    without a known name is shown by id. ``did_descriptions`` labels the public numbers
    of the grouping by number (``did_description``: ``None`` for a number without one).
    """
    # A page has hundreds of rows of 4 x 5 figures: this loop is the report's own
    # Python cost, kept plain (no per-figure calls).
    known = admin_names or {}
    described = did_descriptions or {}
    rows = []
    for group in sorted(groups, key=lambda g: _sort_key(g.key)):
        row = _key_columns(group_by, group, known, described)
        by_type = group.by_type
        if not by_type:
            # A bucket without calls (most hours of a filtered hour report).
            for kind in ALL_KINDS:
                row[kind] = _NO_FIGURES.copy()
            rows.append(row)
            continue
        all_calls = all_answered = all_missed = all_talk = all_wait = 0
        for call_type in CALL_TYPES:
            sums = by_type.get(call_type)
            if sums is None:
                row[call_type] = _NO_FIGURES.copy()
                continue
            calls, answered, missed, talk, wait = sums
            row[call_type] = {
                "count": calls,
                "answered": answered,
                "missed": missed,
                "avg_talk_seconds": round(talk / answered, 2) if answered else None,
                "avg_wait_seconds": round(wait / calls, 2) if calls else None,
            }
            all_calls += calls
            all_answered += answered
            all_missed += missed
            all_talk += talk
            all_wait += wait
        row["total"] = figures((all_calls, all_answered, all_missed, all_talk, all_wait))
        rows.append(row)
    return rows


def _key_columns(
    group_by: str,
    group: GroupFigures,
    known: Mapping[str, str],
    described: Mapping[str, str],
) -> dict[str, Any]:
    names = GROUP_KEYS[group_by]
    row: dict[str, Any] = {}
    for name, value in zip(names, group.key, strict=True):
        if isinstance(value, date):
            row[name] = value.strftime("%Y-%m") if name == "month" else value.isoformat()
        else:
            row[name] = value
    if "admin_id" in names:
        admin_id = row["admin_id"]
        row["admin_name"] = None if admin_id is None else known.get(admin_id, admin_id)
    if "did" in names:
        row["did_description"] = described.get(row["did"]) if row["did"] else None
    return row


_NO_CALLS = KpiSums(0, 0, 0, 0, 0, 0, (), ())


def build_kpi_rows(
    group_by: str,
    groups: Iterable[GroupFigures],
    admin_names: Mapping[str, str] | None = None,
    did_descriptions: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The service level report's rows: each group's keys and KPIs (``domain.kpi``)."""
    known, described = admin_names or {}, did_descriptions or {}
    return [
        _key_columns(group_by, group, known, described) | kpi_figures(group.kpi or _NO_CALLS)
        for group in sorted(groups, key=lambda g: _sort_key(g.key))
    ]


def kpi_csv_header(group_by: str) -> list[str]:
    """The service level report's CSV columns: its keys, then :data:`KPI_FIGURES`."""
    return _key_header(group_by) + list(KPI_FIGURES)


def _key_header(group_by: str) -> list[str]:
    keys = list(GROUP_KEYS[group_by])
    if "admin_id" in keys:
        keys.insert(keys.index("admin_id") + 1, "admin_name")
    if "did" in keys:
        keys.insert(keys.index("did") + 1, "did_description")
    return keys


def csv_header(group_by: str) -> list[str]:
    """The CSV columns of a report: its keys, then five figures per call type and total."""
    return _key_header(group_by) + [f"{kind}_{name}" for kind in ALL_KINDS for name in FIGURES]


def csv_record(header: list[str], row: Mapping[str, Any]) -> list[Any]:
    """One report row (from :func:`build_rows`) as CSV values, in ``header`` order
    (:func:`csv_header`)."""
    out: list[Any] = []
    for column in header:
        if column in row:
            out.append(row[column])
        else:
            kind, _, name = column.partition("_")
            out.append(row[kind][name])
    return out
