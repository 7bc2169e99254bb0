"""What an incoming-call pop-up says, and what one console session is shown.

Plain functions and one small class over plain data (dicts that travel as JSON through
Redis); no I/O. The consumer turns events into the pieces of a pop-up
(:func:`caller_of`, :func:`call_details`, :func:`identification`, :func:`closed_info`);
Redis keeps them per call and fans out *internal* messages (:data:`PopupMessage`,
:data:`ClosedMessage`); each console session turns those into what its client receives
with a :class:`SessionView`, which also decides what that session may see.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from switchboard_contracts import CallDisposition, TouchContact
from switchboard_phones import InvalidPhoneNumber, canonical, display

CloseReason = Literal["answered", "taken", "ended", "unassigned"]
"""Why a pop-up closed: someone answered on the phone, someone took it in the console, the
call ended unanswered, or (for one session only) the operator left the extension."""

Identification = Literal["pending", "known", "unknown", "ambiguous"]
"""Where caller identification stands: not yet, one contact, nobody, several contacts."""

PopupMessage = dict[str, Any]
"""Internal: ``{"kind": "popup", "call_id", "version", "extension", "call", "ident"}``."""
ClosedMessage = dict[str, Any]
"""Internal: ``{"kind": "closed", "call_id", "version", "close"}``."""

#: How many call ids one session remembers the last version of (enough for a long shift).
SEEN_LIMIT = 2048


def format_number(raw: str | None, region: str) -> dict[str, str] | None:
    """The caller's number as ``{"number": E.164 or raw, "display": human form}``.

    ``display`` is the international format (``+7 916 123-45-67``); an extension is shown
    bare, and a number that cannot be read ("anonymous") as it came.
    """
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        number = canonical(raw, region)
    except InvalidPhoneNumber:
        return {"number": raw, "display": raw}
    return {"number": number, "display": display(number)}


def contact_link(kind: str, contact_id: str) -> str:
    """The console path of a patient (``/clients/<id>``) or a lead (``/leads/<id>``)."""
    section = "leads" if kind == "lead" else "clients"
    return f"/{section}/{quote(contact_id, safe='')}"


def clinic_ref(clinic_id: str | None, name: str | None) -> dict[str, Any] | None:
    """The clinic part of a pop-up: its id and, when the directory knows it, its name."""
    if not clinic_id:
        return None
    return {"id": clinic_id, "name": name}


def call_details(
    *,
    caller: str | None,
    clinic: dict[str, Any] | None,
    ringing_since: datetime,
    region: str,
) -> dict[str, Any]:
    """The call part of a pop-up, from ``CallStarted`` (or ``CallRinging``, without caller)."""
    return {
        "caller": format_number(caller, region),
        "clinic": clinic,
        "ringing_since": ringing_since.isoformat().replace("+00:00", "Z"),
    }


def identification(contact: TouchContact | None, phone: str | None, region: str) -> dict[str, Any]:
    """The identification part of a pop-up, from a touch's contact (``None``: unknown)."""
    caller = format_number(phone, region)
    if contact is None:
        return {"identification": "unknown", "contact": None, "candidates": [], "caller": caller}
    return {
        "identification": "ambiguous" if contact.ambiguous else "known",
        "contact": {
            "id": contact.id,
            "kind": contact.kind,
            "name": contact.display_name,
            "key_details": dict(contact.key_details),
            "link": contact_link(contact.kind, contact.id),
        },
        "candidates": [
            {
                "id": c.id,
                "kind": c.kind,
                "name": c.display_name,
                "link": contact_link(c.kind, c.id),
            }
            for c in contact.candidates
        ],
        "caller": caller,
    }


def unidentified() -> dict[str, Any]:
    """The identification a pop-up shows when none arrived within the bound (crm-touch slow
    or away): nobody known, so the number (from the call's details) is shown as unknown."""
    return {"identification": "unknown", "contact": None, "candidates": [], "caller": None}


def handled_by(
    operator_id: str | None, name: str | None, extension: str | None
) -> dict[str, Any] | None:
    """Who handled a call (``None`` when nobody did or nothing is known)."""
    if operator_id is None and extension is None:
        return None
    return {"operator_id": operator_id, "name": name, "extension": extension}


def closed_info(
    reason: CloseReason,
    closed_at: datetime,
    by: dict[str, Any] | None,
    disposition: CallDisposition | None = None,
) -> dict[str, Any]:
    """Why and when a pop-up closed and who handled the call."""
    return {
        "reason": reason,
        "handled_by": by,
        "closed_at": closed_at.isoformat().replace("+00:00", "Z"),
        "disposition": disposition,
    }


def render_popup(msg: PopupMessage, *, update: bool, resumed: bool) -> dict[str, Any]:
    """The ``call.popup`` a client receives for an internal pop-up message."""
    call = msg.get("call") or {}
    ident = msg.get("ident") or {}
    return {
        "type": "call.popup",
        "call_id": msg["call_id"],
        "version": msg["version"],
        "update": update,
        "resumed": resumed,
        "extension": msg["extension"],
        "caller": call.get("caller") or ident.get("caller"),
        "clinic": call.get("clinic"),
        "ringing_since": call.get("ringing_since"),
        "identification": ident.get("identification", "pending"),
        "contact": ident.get("contact"),
        "candidates": ident.get("candidates", []),
    }


def render_closed(msg: ClosedMessage) -> dict[str, Any]:
    """The ``call.popup.closed`` a client receives for an internal closed message."""
    close = msg.get("close") or {}
    return {
        "type": "call.popup.closed",
        "call_id": msg["call_id"],
        "version": msg["version"],
        "reason": close.get("reason", "ended"),
        "handled_by": close.get("handled_by"),
        "closed_at": close.get("closed_at"),
        "disposition": close.get("disposition"),
    }


class SessionView:
    """What one console session has been shown, and what it may be shown next.

    * Only pop-ups for the session's own extensions pass (privacy, whatever the channel).
    * Each call's messages carry a version that grows with every change; anything not newer
      than what the session already got is dropped, so a replayed snapshot, a message seen
      twice or one overtaken by a later change never reaches the client.
    * A close reaches the session only when it shows that pop-up.
    """

    def __init__(self, extensions: Iterable[str]):
        self.extensions: frozenset[str] = frozenset(extensions)
        #: call id → extension, for the pop-ups this session shows open.
        self.showing: dict[str, str] = {}
        self._seen: OrderedDict[str, int] = OrderedDict()

    def _fresh(self, call_id: str, version: int) -> bool:
        last = self._seen.get(call_id)
        if last is not None and version <= last:
            return False
        self._seen[call_id] = version
        self._seen.move_to_end(call_id)
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    def popup(self, msg: PopupMessage, *, resumed: bool = False) -> dict[str, Any] | None:
        """The client message for an internal pop-up message, or ``None`` to drop it."""
        if msg["extension"] not in self.extensions:
            return None
        call_id = msg["call_id"]
        if not self._fresh(call_id, int(msg["version"])):
            return None
        update = call_id in self.showing
        self.showing[call_id] = msg["extension"]
        return render_popup(msg, update=update, resumed=resumed and not update)

    def closed(self, msg: ClosedMessage) -> dict[str, Any] | None:
        """The client message for an internal closed message, or ``None`` to drop it."""
        call_id = msg["call_id"]
        if not self._fresh(call_id, int(msg["version"])):
            return None
        if self.showing.pop(call_id, None) is None:
            return None
        return render_closed(msg)

    def reassign(self, extensions: Iterable[str], closed_at: datetime) -> list[dict[str, Any]]:
        """Move the session to other extensions; close what it showed on the ones it left."""
        self.extensions = frozenset(extensions)
        out = []
        for call_id, extension in list(self.showing.items()):
            if extension not in self.extensions:
                del self.showing[call_id]
                out.append(
                    {
                        "type": "call.popup.closed",
                        "call_id": call_id,
                        "version": self._seen.get(call_id, 0),
                        "reason": "unassigned",
                        "handled_by": None,
                        "closed_at": closed_at.isoformat().replace("+00:00", "Z"),
                        "disposition": None,
                    }
                )
        return out

    def relevant(self, call_id: str) -> bool:
        """Whether a close of ``call_id`` may concern this session."""
        return call_id in self.showing


def as_str_list(values: Mapping[str, Any] | Iterable[str]) -> list[str]:
    """Sorted strings (for stable JSON arguments)."""
    return sorted(str(v) for v in values)
