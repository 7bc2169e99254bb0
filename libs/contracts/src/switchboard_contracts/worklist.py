"""The call-back worklist, published by analytics on ``analytics.worklist``, keyed by
``call_id``.

A signal, not state: it says that the worklist changed and why, so that consoles showing it
(through notify's live session) read it again. The worklist itself is analytics' read API.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from switchboard_contracts.base import Event, NonEmptyStr, UtcDatetime

__all__ = ["WorklistChange", "WorklistChanged"]

WorklistChange = Literal["missed", "claimed", "released", "closed", "called_back"]
"""Why the worklist changed: a missed call joined it; an operator claimed, released or
closed (with a result) a call-back; a call to the number took calls off it."""


class WorklistChanged(Event):
    """The call-back worklist changed (see :data:`WorklistChange`)."""

    event_type: ClassVar[str] = "WorklistChanged"

    call_id: NonEmptyStr = Field(
        description="The missed call concerned: for an operator's action, the call-back's "
        "first open missed call (its id on the worklist); the message key."
    )
    change: WorklistChange
    clinic_id: str | None = Field(default=None, description="The missed call's clinic.")
    changed_at: UtcDatetime
