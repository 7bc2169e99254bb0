"""What every area's handlers share: their dependencies, and saving a changed touch with the
``TouchUpdated`` that says so."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_crm_touch.adapters import contact_rows, events, repository
from switchboard_crm_touch.domain.touches import Touch
from switchboard_crm_touch.settings import CrmTouchSettings


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Deps:
    """What handlers depend on besides the session: settings, a clock, an id source."""

    settings: CrmTouchSettings
    clock: Callable[[], datetime] = field(default=_now)
    new_id: Callable[[], str] = field(default=_new_id)


async def publish_updated(session: AsyncSession, deps: Deps, touch: Touch) -> None:
    """Stage a ``TouchUpdated`` for ``touch`` as it is now, with its contact's details."""
    now = deps.clock()
    contact = await contact_rows.touch_contact(session, touch, now)
    await events.stage_touch_updated(session, touch, contact, now)


async def save_if_changed(session: AsyncSession, deps: Deps, old: Touch, new: Touch) -> bool:
    """Save ``new`` and publish it when it differs from ``old``; whether it did."""
    if new == old:
        return False
    await repository.save_touch(session, new)
    await publish_updated(session, deps, new)
    return True
