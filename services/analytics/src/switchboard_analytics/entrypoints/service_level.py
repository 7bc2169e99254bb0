"""Each clinic's service level target: read by managers and admins, set by admins.

The service level report (``/api/analytics/reports/service-level``) counts a call as
answered in time when its wait is at most its own clinic's target.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.kpi import clear_target, list_targets, set_target
from switchboard_analytics.domain.kpi import DEFAULT_TARGET_SECONDS, MAX_TARGET_SECONDS
from switchboard_runtime.auth import Principal, PrincipalDependency, require_roles

ClinicId = Annotated[str, Path(min_length=1, max_length=200)]


class TargetChange(BaseModel):
    """A clinic's new service level target."""

    target_seconds: int = Field(
        ge=1,
        le=MAX_TARGET_SECONDS,
        description="Answered within this many seconds counts as in time (1-120).",
    )


def _item(target: Any) -> dict[str, Any]:
    item = asdict(target)
    item["set_at"] = target.set_at.isoformat() if target.set_at else None
    return item


def service_level_router(
    sessions: async_sessionmaker[AsyncSession], current: PrincipalDependency
) -> APIRouter:
    """``/api/analytics/service-level-targets``: list, set, back to the default."""
    router = APIRouter(prefix="/api/analytics/service-level-targets", tags=["reports"])
    reader = require_roles(current, ("admin", "manager"))
    admin = require_roles(current, ("admin",))

    @router.get("", dependencies=[Depends(reader)])
    async def list_all() -> dict[str, Any]:
        """Every clinic's target (the default where none is set)."""
        async with sessions() as session:
            items = await list_targets(session)
        return {
            "default_seconds": DEFAULT_TARGET_SECONDS,
            "max_seconds": MAX_TARGET_SECONDS,
            "items": [_item(t) for t in items],
        }

    @router.put("/{clinic_id}")
    async def put(
        clinic_id: ClinicId,
        change: TargetChange,
        actor: Principal = Depends(admin),  # noqa: B008 (a closure's dependency)
    ) -> dict[str, Any]:
        """Set a clinic's target; reports use it at once."""
        async with sessions() as session, session.begin():
            await set_target(
                session, clinic_id, change.target_seconds, actor.operator_id, datetime.now(UTC)
            )
        async with sessions() as session:
            items = await list_targets(session)
        return next(_item(t) for t in items if t.clinic_id == clinic_id)

    @router.delete("/{clinic_id}", status_code=204, dependencies=[Depends(admin)])
    async def delete(clinic_id: ClinicId) -> Response:
        """Back to the default target (nothing to do when none was set)."""
        async with sessions() as session, session.begin():
            await clear_target(session, clinic_id)
        return Response(status_code=204)

    return router
