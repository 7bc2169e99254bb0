"""How events are projected: the defaults and rules every handler follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from switchboard_analytics.domain.callback import DEFAULT_WINDOW
from switchboard_contracts import CallAnswered, CallEnded, CallStarted, TouchCreated, TouchUpdated


@dataclass(frozen=True)
class Projection:
    """How events are projected: the defaults and rules the handlers need."""

    default_time_zone: str = "Europe/Moscow"
    callback_window: timedelta = DEFAULT_WINDOW
    # Serialise transactions of concurrent consumers (replicas) with an advisory lock;
    # a rebuild writes into tables nobody else writes and needs none.
    serialise: bool = True
    # Store facts only: derived columns, call-backs and roll-ups are left for
    # :func:`finish_deferred` (a rebuild's replay: one set-based pass instead of per event).
    deferred: bool = False
    # Announce changes of the call-back worklist (WorklistChanged, through the outbox) for
    # missed calls that started within this horizon; None announces nothing (a rebuild,
    # which must not repeat the history's signals, or a session without an outbox).
    worklist_horizon: timedelta | None = None
    # Called once a batch's transaction commits: the roll-up folder's wake (the changes
    # the batch recorded are there to fold); None for a projection without one.
    committed: Callable[[], None] | None = None


CallEvent = CallStarted | CallAnswered | CallEnded
TouchEvent = TouchCreated | TouchUpdated
