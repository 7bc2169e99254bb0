"""The current call of one operator: the call they answered (or took) and its wrap-up.

Plain functions and one small class over plain data; no I/O. Redis keeps one current call
per operator (``adapters/current_calls.py``) and fans out *internal* messages
(:data:`CurrentMessage`, :data:`ClearedMessage`); each console session of that operator
turns them into what its client receives with a :class:`CurrentCallView`.

A current call is ``on_call`` from the answer until the call ends, then ``wrap_up`` until
the operator sets the touch's result or dismisses it (``cleared``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

CurrentState = Literal["on_call", "wrap_up"]
"""Talking to the caller, or the call ended and its result is still to be set."""

ClearReason = Literal["result_set", "dismissed", "gone"]
"""Why a wrap-up ended: the touch's result was set, the operator dismissed it, or the state
is no longer there (expired, Redis lost it)."""

CurrentMessage = dict[str, Any]
"""Internal: ``{"kind": "current", "operator_id", "call_id", "version", "call", "ident",
"answer", "end"}`` (``end`` null while the call is on)."""
ClearedMessage = dict[str, Any]
"""Internal: ``{"kind": "current_cleared", "operator_id", "call_id", "version", "reason"}``."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def answer_info(answered_at: datetime, extension: str | None, how: str) -> dict[str, Any]:
    """How the operator got the call: ``how`` is ``answered`` (on the phone) or ``taken``
    (in the console)."""
    return {"answered_at": _iso(answered_at), "extension": extension, "how": how}


def end_info(ended_at: datetime, talk_seconds: int | None) -> dict[str, Any]:
    """When the call ended and how long the operator talked."""
    return {"ended_at": _iso(ended_at), "talk_seconds": talk_seconds}


def render_current(msg: CurrentMessage, *, resumed: bool) -> dict[str, Any]:
    """The ``call.current`` a client receives for an internal current-call message."""
    call = msg.get("call") or {}
    ident = msg.get("ident") or {}
    answer = msg.get("answer") or {}
    end = msg.get("end")
    return {
        "type": "call.current",
        "call_id": msg["call_id"],
        "version": msg["version"],
        "state": "wrap_up" if end else "on_call",
        "resumed": resumed,
        "caller": call.get("caller") or ident.get("caller"),
        "clinic": call.get("clinic"),
        "extension": answer.get("extension"),
        "how": answer.get("how"),
        "answered_at": answer.get("answered_at"),
        "ended_at": end.get("ended_at") if end else None,
        "talk_seconds": end.get("talk_seconds") if end else None,
        "identification": ident.get("identification", "pending"),
        "contact": ident.get("contact"),
        "candidates": ident.get("candidates", []),
    }


def render_cleared(msg: ClearedMessage) -> dict[str, Any]:
    """The ``call.current.cleared`` a client receives for an internal cleared message."""
    return {
        "type": "call.current.cleared",
        "call_id": msg["call_id"],
        "version": msg["version"],
        "reason": msg.get("reason", "gone"),
    }


class CurrentCallView:
    """What one console session has been shown of its operator's current call.

    Versions grow with every change of the operator's current call (Redis' clock), so a
    replayed snapshot or a message overtaken by a later one is dropped.
    """

    def __init__(self) -> None:
        self.call_id: str | None = None
        self._version = 0

    def _fresh(self, version: int) -> bool:
        if version <= self._version:
            return False
        self._version = version
        return True

    def current(self, msg: CurrentMessage, *, resumed: bool = False) -> dict[str, Any] | None:
        """The client message for an internal current-call message, or ``None`` to drop it."""
        if not self._fresh(int(msg["version"])):
            return None
        self.call_id = msg["call_id"]
        return render_current(msg, resumed=resumed)

    def cleared(self, msg: ClearedMessage) -> dict[str, Any] | None:
        """The client message for an internal cleared message, or ``None`` to drop it."""
        if not self._fresh(int(msg["version"])) or msg["call_id"] != self.call_id:
            return None
        self.call_id = None
        return render_cleared(msg)

    def gone(self) -> dict[str, Any] | None:
        """The snapshot has no current call: clear the one shown, if any (its clear was
        missed while Redis was away, or it expired)."""
        if self.call_id is None:
            return None
        call_id, self.call_id = self.call_id, None
        return {
            "type": "call.current.cleared",
            "call_id": call_id,
            "version": self._version,
            "reason": "gone",
        }
