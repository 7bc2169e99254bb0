"""``GET /api/analytics/reports/conversion``: incoming calls → answered → with a touch →
with an appointment → cancelled, per operator, clinic, DID, clinic-local day or month
(JSON or CSV).

The calls report's filters, roles, roll-up choice (``source``) and audited CSV export; no
pages: the groups are bounded by ``limit`` (``truncated`` says when there were more).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.conversion import ROLLUP_GROUPING, conversion_counts
from switchboard_analytics.adapters.labels import admin_names, clinic_names, did_descriptions
from switchboard_analytics.adapters.queries import CallLogFilter, QueryError
from switchboard_analytics.domain.conversion import conversion_figures, csv_header
from switchboard_analytics.entrypoints.api import (
    REPORT_ROLES,
    ReportSource,
    call_filter,
    report_rollup,
)
from switchboard_analytics.entrypoints.audit import record_own
from switchboard_analytics.entrypoints.responses import (
    csv_lines,
    csv_response,
    query_details,
    spreadsheet_safe,
    unprocessable,
)
from switchboard_runtime.auth import Principal, PrincipalDependency, require_roles

ConversionGroupBy = Literal["admin", "clinic", "did", "day", "month"]
CONVERSION_DEFAULT_LIMIT = 500
CONVERSION_MAX_LIMIT = 5000
ConversionLimit = Annotated[
    int,
    Query(ge=1, le=CONVERSION_MAX_LIMIT, description="Groups at most (CSV: the maximum)."),
]


def conversion_router(
    sessions: async_sessionmaker[AsyncSession],
    current: PrincipalDependency,
    default_region: str = "RU",
) -> APIRouter:
    """``GET /api/analytics/reports/conversion``."""
    router = APIRouter(prefix="/api/analytics", tags=["reports"])
    report_reader = require_roles(current, REPORT_ROLES)

    async def read(flt: CallLogFilter, group_by: str, source: str, limit: int) -> dict[str, Any]:
        rollup = await report_rollup(
            sessions, flt, ROLLUP_GROUPING[group_by], source, by_clinic=group_by == "clinic"
        )
        async with sessions() as session:
            try:
                total, groups = await conversion_counts(session, flt, group_by, limit, rollup)
            except QueryError as exc:
                raise unprocessable(str(exc)) from exc
            ids = {key for key, _ in groups if key is not None}
            labels = {
                "admin": admin_names,
                "clinic": clinic_names,
                "did": did_descriptions,
            }.get(group_by)
            names = await labels(session, ids) if labels is not None else {}
        rows = []
        for key, counts in groups[:limit]:
            row: dict[str, Any]
            if group_by in ("admin", "clinic"):
                row = {f"{group_by}_id": key, f"{group_by}_name": names.get(key) if key else None}
            elif group_by == "did":
                row = {"did": key, "did_description": names.get(key) if key else None}
            else:
                row = {group_by: key}
            rows.append({**row, **conversion_figures(counts)})
        return {
            "group_by": group_by,
            "source": rollup.table.name if rollup is not None else "call_log",
            "total": conversion_figures(total),
            "rows": rows,
            "truncated": len(groups) > limit,
        }

    @router.get("/reports/conversion")
    async def conversion_report(
        request: Request,
        flt: Annotated[CallLogFilter, Depends(call_filter)],
        group_by: ConversionGroupBy,
        source: ReportSource = "auto",
        limit: ConversionLimit = CONVERSION_DEFAULT_LIMIT,
        format: Literal["json", "csv"] = "json",
        viewer: Principal = Depends(report_reader),  # noqa: B008 (a closure's dependency)
    ) -> Any:
        """Incoming calls, answered, with a touch, with an appointment (booked during the
        call or from its touch), cancelled, and each step's rate, for the whole period
        (``total``) and per group; CSV: the groups."""
        flt = replace(flt, default_region=default_region)
        answer = await read(
            flt, group_by, source, CONVERSION_MAX_LIMIT if format == "csv" else limit
        )
        if format == "csv":
            details = {"format": "csv", "query": query_details(request)}
            async with sessions() as session, session.begin():
                await record_own(
                    session,
                    request,
                    viewer,
                    "conversion_report.exported",
                    "call_log",
                    None,
                    details,
                )
            header = csv_header(group_by)

            async def body() -> AsyncIterator[str]:
                yield "\ufeff" + csv_lines([header])
                yield csv_lines(
                    [
                        [_cell(column, row.get(column)) for column in header]
                        for row in answer["rows"]
                    ]
                )

            return csv_response(body(), f"conversion-{group_by}.csv")
        return Response(orjson.dumps(answer), media_type="application/json")

    return router


def _cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    # Names are typed by people; numbers and dates are ours (as in the call log's CSV).
    return spreadsheet_safe(value) if column.endswith(("_name", "_description")) else value
