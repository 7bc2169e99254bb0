"""``GET /api/analytics/reports/when``: when the calls come — incoming calls and the
missed share per clinic-local hour of the day and per weekday x hour (JSON or CSV).

The calls report's filters, roles, roll-up choice (``source``) and audited CSV export;
its figures are counted from an hourly roll-up (a service level one, keyed by hour alone
and counting incoming and missed calls, unless a filter names call types, dispositions or
the called-back flag), or from the call log for filters a roll-up cannot answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.queries import CallLogFilter, QueryError
from switchboard_analytics.adapters.rollup_choice import KPI_ROLLUPS, ROLLUPS
from switchboard_analytics.adapters.when import when_counts
from switchboard_analytics.domain.when import CELL_COLUMNS, when_figures
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
    unprocessable,
)
from switchboard_runtime.auth import Principal, PrincipalDependency, require_roles

#: The service level roll-ups first: an hour of the chain (a clinic, an admin, a number)
#: is one row there, where the calls roll-ups have a row per call type, disposition and
#: called-back flag of the hour (a year of the chain's hours: 8 760 rows against about
#: 95 000 at 10 M calls). They cannot answer a filter on those, which the calls roll-ups
#: then do.
WHEN_ROLLUPS = (*KPI_ROLLUPS, *ROLLUPS)


def when_router(
    sessions: async_sessionmaker[AsyncSession],
    current: PrincipalDependency,
    default_region: str = "RU",
) -> APIRouter:
    """``GET /api/analytics/reports/when``."""
    router = APIRouter(prefix="/api/analytics", tags=["reports"])
    report_reader = require_roles(current, REPORT_ROLES)

    @router.get("/reports/when")
    async def when_report(
        request: Request,
        flt: Annotated[CallLogFilter, Depends(call_filter)],
        source: ReportSource = "auto",
        format: Literal["json", "csv"] = "json",
        viewer: Principal = Depends(report_reader),  # noqa: B008 (a closure's dependency)
    ) -> Any:
        """Incoming calls, missed ones and the missed share per clinic-local hour of the
        day (24 rows) and per ISO weekday (1 = Monday) x hour (168 cells), every one
        present; CSV: the 168 cells."""
        flt = replace(flt, default_region=default_region)
        rollup = await report_rollup(sessions, flt, "hour", source, WHEN_ROLLUPS)
        async with sessions() as session:
            try:
                counts = await when_counts(session, flt, rollup)
            except QueryError as exc:
                raise unprocessable(str(exc)) from exc
        figures = when_figures(counts)
        if format == "csv":
            # What was exported is the request's filters, on record before the answer.
            details = {"format": "csv", "query": query_details(request)}
            async with sessions() as session, session.begin():
                await record_own(
                    session, request, viewer, "when_report.exported", "call_log", None, details
                )

            async def body() -> AsyncIterator[str]:
                yield "\ufeff" + csv_lines([CELL_COLUMNS])
                yield csv_lines(
                    [
                        ["" if cell[c] is None else cell[c] for c in CELL_COLUMNS]
                        for cell in figures.by_weekday_hour
                    ]
                )

            return csv_response(body(), "calls-by-weekday-hour.csv")
        answer = {
            "source": rollup.table.name if rollup is not None else "call_log",
            "by_hour": figures.by_hour,
            "by_weekday_hour": figures.by_weekday_hour,
        }
        return Response(orjson.dumps(answer), media_type="application/json")

    return router
