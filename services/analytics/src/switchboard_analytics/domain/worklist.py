"""Pure rules of the call-back worklist: who may do what with a call-back.

A call-back is a number's missed incoming calls that nobody has called back (the
called-back rule, :mod:`.callback`) and nobody closed, within the worklist's horizon. One
operator claims it (others see who); the holder releases it or closes it with a result;
an answered (or any outgoing) call to the number takes its calls off the worklist by
itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from switchboard_runtime.auth import Principal, Role

CloseResult = Literal["no_answer", "wrong_number", "resolved_elsewhere"]
"""What came of a call-back the operator closes by hand."""

Action = Literal["claim", "release", "close"]

#: Roles that read the worklist (managers to watch its size and age per clinic).
READER_ROLES: tuple[Role, ...] = ("admin", "manager", "call_centre", "clinic_staff")
#: Roles that work it: claim, release, close.
WORKER_ROLES: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff")


@dataclass(frozen=True)
class Holder:
    """Who holds a claim on a call-back, since when."""

    operator_id: str
    operator_name: str
    claimed_at: datetime


class ClaimedByAnother(Exception):
    """The call-back is claimed by someone else: the action is refused (409)."""

    def __init__(self, holder: Holder):
        super().__init__(f"claimed by {holder.operator_name}")
        self.holder = holder


def check_action(action: Action, actor: Principal, holder: Holder | None) -> None:
    """Raise :class:`ClaimedByAnother` unless ``actor`` may ``action`` a call-back that
    ``holder`` holds (``None``: nobody).

    Anyone may claim or close a call-back nobody holds; a held one only its holder (claiming
    it again is a no-op). An admin may release anyone's claim (an operator who left for the
    day), never close it in their name.
    """
    if holder is None or holder.operator_id == actor.operator_id:
        return
    if action == "release" and actor.role == "admin":
        return
    raise ClaimedByAnother(holder)


def age_seconds(missed_at: datetime, now: datetime) -> int:
    """How long ago a call was missed, in whole seconds (never negative: PBX clocks lie)."""
    return max(0, int((now - missed_at).total_seconds()))
