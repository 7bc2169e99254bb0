"""Operators' commands on touches, called from the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_crm_touch.adapters import contact_rows, repository
from switchboard_crm_touch.domain.errors import NotFound
from switchboard_crm_touch.domain.touches import UNSET, Touch, with_update
from switchboard_crm_touch.handlers.shared import Deps, save_if_changed


async def update_touch(
    session: AsyncSession,
    deps: Deps,
    touch_id: str,
    *,
    status: Any = UNSET,
    result: Any = UNSET,
    notes: Any = UNSET,
    contact_id: Any = UNSET,
) -> Touch:
    """An operator sets a touch's status, result, notes or actual contact; publishes
    ``TouchUpdated`` when anything changed. :class:`NotFound` for an unknown touch."""
    touch = await repository.load_touch(session, touch_id, for_update=True)
    if touch is None:
        raise NotFound("no such touch")
    updated = with_update(touch, status=status, result=result, notes=notes, contact_id=contact_id)
    if updated.contact_id != touch.contact_id and updated.contact_id is not None:
        await contact_rows.mark_active(session, updated.contact_id, deps.clock())
    await save_if_changed(session, deps, touch, updated)
    return updated
