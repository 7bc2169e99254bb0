"""Analytics' HTTP API: the call log and the calls report (JSON or CSV).

Who may read: every logged-in role reads the call log (call-centre operators and clinic
staff work from it: who called, who to call back); the calls report, which shows each
employee's figures, is for ``manager`` and ``admin``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.call_log_pages import call_log_page
from switchboard_analytics.adapters.kpi import kpi_measures, targets, uniform
from switchboard_analytics.adapters.labels import admin_names, did_descriptions, list_dids
from switchboard_analytics.adapters.queries import (
    CSV_COLUMNS,
    CallLogFilter,
    CallLogRow,
    QueryError,
    call_log_conditions,
    stream_call_log,
)
from switchboard_analytics.adapters.reports import CALL_SUMS, ReportPage, report_page
from switchboard_analytics.adapters.rollup_choice import (
    KPI_ROLLUPS,
    ROLLUPS,
    Rollup,
    choose_rollup,
)
from switchboard_analytics.adapters.rollup_deltas import fold_for_reading
from switchboard_analytics.domain.kpi import DEFAULT_TARGET_SECONDS
from switchboard_analytics.domain.periods import PeriodError, parse_period
from switchboard_analytics.domain.recordings import recording_path
from switchboard_analytics.domain.reports import (
    build_kpi_rows,
    build_rows,
    csv_header,
    csv_record,
    kpi_csv_header,
)
from switchboard_analytics.entrypoints.audit import record_own
from switchboard_analytics.entrypoints.responses import (
    FREE_TEXT,
    csv_lines,
    csv_response,
    query_details,
    spreadsheet_safe,
    unprocessable,
)
from switchboard_runtime.auth import Principal, PrincipalDependency, Role, require_roles

CallType = Literal["incoming", "outgoing", "internal"]
Disposition = Literal["answered", "missed", "busy", "failed"]
SortKey = Literal[
    "started_at",
    "started_at_local",
    "call_type",
    "src",
    "dst",
    "disposition",
    "admin",
    "contact",
    "clinic",
    "extension",
    "talk_seconds",
    "wait_seconds",
    "total_seconds",
    "has_recording",
    "tags",
    "called_back",
    "callback_delay_seconds",
]
GroupBy = Literal["day", "hour", "employee_day", "employee_month", "did"]
ReportSource = Annotated[
    Literal["auto", "rollup", "call_log"],
    Query(description="auto: a roll-up when one answers the filters, else the call log."),
]
ReportCursor = Annotated[
    str | None, Query(max_length=2000, description="The previous page's next_cursor.")
]

CALL_LOG_ROLES: tuple[Role, ...] = ("admin", "manager", "call_centre", "clinic_staff")
REPORT_ROLES: tuple[Role, ...] = ("admin", "manager")

Seconds = Annotated[int | None, Query(ge=0, le=10_000_000)]

#: Groups per page of a JSON report: a year of days (366) is one page by default; a year
#: of hours (8 760), employee-days or a chain's employee-months pages.
REPORT_DEFAULT_LIMIT = 500
REPORT_MAX_LIMIT = 5000
ReportLimit = Annotated[
    int, Query(ge=1, le=REPORT_MAX_LIMIT, description="Groups per page (JSON).")
]


async def report_rollup(
    sessions: async_sessionmaker[AsyncSession],
    flt: CallLogFilter,
    group_by: str,
    source: str,
    rollups: Sequence[Rollup] = ROLLUPS,
    *,
    by_clinic: bool = False,
) -> Rollup | None:
    """The roll-up of ``rollups`` a report reads for ``source`` (``auto``: the smallest that
    answers, ``call_log``: none), or a 422 when ``rollup`` is insisted on and none answers.
    The roll-ups have every committed change folded in when it returns one."""
    rollup = None
    if source != "call_log":
        rollup = choose_rollup(flt, group_by, rollups, by_clinic=by_clinic)
    if source == "rollup" and rollup is None:
        raise unprocessable(
            "source: no roll-up answers these filters (numbers, names, tags, durations "
            "and instants need the call log)"
        )
    if rollup is not None:
        await fold_for_reading(sessions)
    return rollup


async def call_filter(
    period_from: Annotated[
        str | None,
        Query(
            alias="from",
            description="Start (inclusive): a date or date-time in clinic-local time, or an "
            "instant with a UTC offset.",
        ),
    ] = None,
    period_to: Annotated[
        str | None,
        Query(
            alias="to",
            description="End (exclusive; a date-only end includes that day), as for `from`.",
        ),
    ] = None,
    call_type: Annotated[list[CallType] | None, Query(description="Any subset.")] = None,
    disposition: Annotated[list[Disposition] | None, Query(description="Any subset.")] = None,
    admin: Annotated[list[str] | None, Query(description="Operator ids, any subset.")] = None,
    clinic: Annotated[list[str] | None, Query(description="Clinic ids, any subset.")] = None,
    did: Annotated[
        list[str] | None,
        Query(description="Public numbers (DIDs) the calls came in on, any subset, any format."),
    ] = None,
    missed: Annotated[
        bool | None, Query(description="true: only missed incoming calls; false: all but those.")
    ] = None,
    called_back: Annotated[
        bool | None, Query(description="true: only called-back calls; false: all but those.")
    ] = None,
    phone: Annotated[
        str | None,
        Query(max_length=64, description="Either number contains these digits (any format)."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description=(
                "Free text: part of a contact or admin name; without letters, also part of "
                "a number (any format)."
            ),
        ),
    ] = None,
    tag: Annotated[list[str] | None, Query(description="Calls with any of these tags.")] = None,
    talk_min: Seconds = None,
    talk_max: Seconds = None,
    total_min: Seconds = None,
    total_max: Seconds = None,
) -> CallLogFilter:
    """The filter query parameters the call log and the report share, validated.

    ``async`` though it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hand-off that cost a report page more than validating its filter."""
    try:
        period = parse_period(period_from, period_to)
    except PeriodError as exc:
        raise unprocessable(str(exc)) from exc
    for name, low, high in (("talk", talk_min, talk_max), ("total", total_min, total_max)):
        if low is not None and high is not None and low > high:
            raise unprocessable(f"{name}_min: greater than {name}_max")
    flt = CallLogFilter(
        period=period,
        call_types=frozenset(call_type or ()),
        dispositions=frozenset(disposition or ()),
        admin_ids=frozenset(admin or ()),
        clinic_ids=frozenset(clinic or ()),
        dids=frozenset(did or ()),
        missed=missed,
        called_back=called_back,
        phone=phone.strip() if phone and phone.strip() else None,
        search=q.strip() if q and q.strip() else None,
        tags=frozenset(tag or ()),
        talk_min=talk_min,
        talk_max=talk_max,
        total_min=total_min,
        total_max=total_max,
    )
    try:
        call_log_conditions(flt)
    except QueryError as exc:
        raise unprocessable(str(exc)) from exc
    except OverflowError as exc:
        # A local bound on the calendar's first or last day: no day before or after it.
        raise unprocessable("from/to: the period is outside the calendar") from exc
    return flt


def _csv_value(row: CallLogRow, column: str) -> Any:
    value = getattr(row, column)
    if column == "tags":
        return spreadsheet_safe(";".join(value))
    if column in FREE_TEXT and value:
        return spreadsheet_safe(value)
    if column == "started_at":
        return value.isoformat().replace("+00:00", "Z")
    if value is None:
        return ""
    return "true" if value is True else "false" if value is False else value


def _report_csv(header: list[str], rows: list[dict[str, Any]], kpi: bool) -> list[list[Any]]:
    out = []
    for row in rows:
        values = []
        record = [row[column] for column in header] if kpi else csv_record(header, row)
        for column, value in zip(header, record, strict=True):
            if value is None:
                value = ""
            elif column in ("admin_name", "did_description"):
                value = spreadsheet_safe(value)
            values.append(value)
        out.append(values)
    return out


def calls_router(
    sessions: async_sessionmaker[AsyncSession],
    current: PrincipalDependency,
    default_region: str = "RU",
    default_zone: str = "Europe/Moscow",
) -> APIRouter:
    """``GET /api/analytics/calls`` and ``GET /api/analytics/reports/calls``."""
    router = APIRouter(prefix="/api/analytics")
    call_log_reader = require_roles(current, CALL_LOG_ROLES)
    report_reader = require_roles(current, REPORT_ROLES)

    def with_region(flt: CallLogFilter) -> CallLogFilter:
        return replace(flt, default_region=default_region)

    async def audit_export(request: Request, viewer: Principal, action: str) -> None:
        # Before the first row leaves: what was exported is the request's filters.
        details = {"format": "csv", "query": query_details(request)}
        async with sessions() as session, session.begin():
            await record_own(session, request, viewer, action, "call_log", None, details)

    @router.get("/calls", tags=["call log"])
    async def list_calls(
        request: Request,
        flt: Annotated[CallLogFilter, Depends(call_filter)],
        sort: SortKey = "started_at",
        order: Literal["asc", "desc"] = "desc",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
        format: Literal["json", "csv"] = "json",
        viewer: Principal = Depends(call_log_reader),  # noqa: B008 (a closure's dependency)
    ) -> Any:
        """Ended calls, filtered and sorted; JSON pages (``next_cursor``) or the whole
        filtered result as CSV."""
        flt = with_region(flt)
        if format == "csv":
            await audit_export(request, viewer, "call_log.exported")

            async def body() -> AsyncIterator[str]:
                yield "\ufeff" + csv_lines([CSV_COLUMNS])
                async with sessions() as session:
                    async for chunk in stream_call_log(session, flt, sort=sort, order=order):
                        yield csv_lines(
                            [_csv_value(row, column) for column in CSV_COLUMNS] for row in chunk
                        )

            return csv_response(body(), "calls.csv")
        if sort == "admin":
            # The page walks the admins the month roll-up lists.
            await fold_for_reading(sessions)
        async with sessions() as session:
            try:
                rows, next_cursor = await call_log_page(
                    session, flt, limit=limit, cursor=cursor, sort=sort, order=order
                )
            except QueryError as exc:
                raise unprocessable(str(exc)) from exc
        items = []
        for row in rows:
            item = asdict(row)
            item["started_at"] = row.started_at.isoformat().replace("+00:00", "Z")
            # The PBX's own address never reaches the browser: the platform streams it.
            item["recording"] = recording_path(row.call_id) if row.has_recording else None
            items.append(item)
        return Response(
            orjson.dumps({"items": items, "next_cursor": next_cursor}),
            media_type="application/json",
        )

    async def read_report(
        flt: CallLogFilter,
        group_by: str,
        rollup: Rollup | None,
        limit: int,
        cursor: str | None,
        clinic_targets: dict[str, int] | None = None,
    ) -> tuple[ReportPage, list[dict[str, Any]]]:
        """A page of the calls report, or of the service level report with
        ``clinic_targets`` (clinic id → seconds)."""
        kpi = clinic_targets is not None
        async with sessions() as session:
            try:
                measure = kpi_measures(clinic_targets) if clinic_targets is not None else CALL_SUMS
                page = await report_page(
                    session,
                    flt,
                    group_by,
                    rollup,
                    limit=limit,
                    cursor=cursor,
                    default_zone=default_zone,
                    measure=measure,
                )
            except QueryError as exc:
                raise unprocessable(str(exc)) from exc
            ids = {g.key[0] for g in page.groups if g.key[0]}
            names = await admin_names(session, ids) if group_by.startswith("employee") else {}
            described = await did_descriptions(session, ids) if group_by == "did" else {}
        build = build_kpi_rows if kpi else build_rows
        return page, build(group_by, page.groups, names, described)

    async def report_response(
        request: Request,
        viewer: Principal,
        flt: CallLogFilter,
        group_by: str,
        source: str,
        limit: int,
        cursor: str | None,
        format: str,
        kpi: bool,
    ) -> Response:
        """A report's JSON page or its whole CSV (an export is audited): one way for both
        reports."""
        flt = with_region(flt)
        rollups, by_clinic = ROLLUPS, False
        clinic_targets: dict[str, int] | None = None
        if kpi:
            async with sessions() as session:
                clinic_targets = await targets(session)
            rollups, by_clinic = KPI_ROLLUPS, not uniform(clinic_targets)
        rollup = await report_rollup(sessions, flt, group_by, source, rollups, by_clinic=by_clinic)
        header = kpi_csv_header(group_by) if kpi else csv_header(group_by)
        if format == "csv":
            # Validate the cursor before the response starts; the CSV has every group.
            first, rows = await read_report(
                flt, group_by, rollup, REPORT_MAX_LIMIT, cursor, clinic_targets
            )
            exported = "service_level_report.exported" if kpi else "calls_report.exported"
            await audit_export(request, viewer, exported)

            async def body() -> AsyncIterator[str]:
                page, page_rows = first, rows
                yield "\ufeff" + csv_lines([header])
                while True:
                    yield csv_lines(_report_csv(header, page_rows, kpi))
                    if page.next_cursor is None:
                        return
                    page, page_rows = await read_report(
                        flt, group_by, rollup, REPORT_MAX_LIMIT, page.next_cursor, clinic_targets
                    )

            name = "service-level" if kpi else "calls-report"
            return csv_response(body(), f"{name}-{group_by}.csv")
        page, rows = await read_report(flt, group_by, rollup, limit, cursor, clinic_targets)
        answer: dict[str, Any] = {"group_by": group_by, "source": page.source, "rows": rows}
        if clinic_targets is not None:
            answer["targets"] = {
                "default_seconds": DEFAULT_TARGET_SECONDS,
                "clinics": clinic_targets,
            }
        # orjson: a page of rows is thousands of small dicts (the standard encoder, let
        # alone FastAPI's per-value one, takes as long as the query).
        return Response(
            orjson.dumps({**answer, "next_cursor": page.next_cursor}),
            media_type="application/json",
        )

    @router.get("/reports/calls", tags=["reports"])
    async def calls_report(
        request: Request,
        flt: Annotated[CallLogFilter, Depends(call_filter)],
        group_by: GroupBy,
        source: ReportSource = "auto",
        limit: ReportLimit = REPORT_DEFAULT_LIMIT,
        cursor: ReportCursor = None,
        format: Literal["json", "csv"] = "json",
        viewer: Principal = Depends(report_reader),  # noqa: B008 (a closure's dependency)
    ) -> Any:
        """Counts and average durations per clinic-local day, hour, employee x day or
        employee x month, for incoming, outgoing, internal calls and in total: JSON a page
        at a time (``next_cursor``), or every group as CSV."""
        return await report_response(
            request, viewer, flt, group_by, source, limit, cursor, format, kpi=False
        )

    @router.get("/reports/service-level", tags=["reports"])
    async def service_level_report(
        request: Request,
        flt: Annotated[CallLogFilter, Depends(call_filter)],
        group_by: GroupBy,
        source: ReportSource = "auto",
        limit: ReportLimit = REPORT_DEFAULT_LIMIT,
        cursor: ReportCursor = None,
        format: Literal["json", "csv"] = "json",
        viewer: Principal = Depends(report_reader),  # noqa: B008 (a closure's dependency)
    ) -> Any:
        """Incoming calls' answer rate, abandonment, speed of answer (average, 90th
        percentile), service level against each clinic's target, call-back rate and
        median delay, per group of the calls report, with its filters, pages and CSV."""
        return await report_response(
            request, viewer, flt, group_by, source, limit, cursor, format, kpi=True
        )

    @router.get("/dids", tags=["reports"], dependencies=[Depends(report_reader)])
    async def public_numbers() -> dict[str, Any]:
        """The chain's public numbers telephony described (removed ones too: their calls
        stay in the reports), for the reports' filter by number."""
        async with sessions() as session:
            return {"items": await list_dids(session)}

    return router
