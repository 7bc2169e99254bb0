"""Asterisk AMI events in, events of the generic JSON PBX format out (pure, no I/O).

An Asterisk call is several channels (the caller's, one per phone dialled, trunk legs) that
share one ``Linkedid``; the AMI reports what happens to each channel. :class:`AmiTranslator`
follows the channels of each call and writes what the generic webhook format would say
(see :mod:`.pbx_generic`), so both doors lead to the same canonical calls:

============================================  ==================================================
AMI event                                     generic event
============================================  ==================================================
``Newchannel`` of the call's first channel    ``call.started`` (from ``CallerIDNum``, to ``Exten``)
``DialBegin`` to a phone                      ``call.ringing`` at the dialled extension
``DialEnd`` with ``DialStatus: ANSWER``       ``call.answered`` by the dialled extension; later,
                                              by another extension: ``call.transferred``
``BridgeEnter`` of a phone's channel          ``call.answered`` if no ``DialEnd`` said so
                                              (pickups, bridges made without Dial); another
                                              extension after the answer: ``call.transferred``
``Hangup`` of the call's last channel         ``call.ended`` (status from the answer, else from
                                              the ``DialStatus`` values, else from ``Cause``)
``Cdr`` of a call no channel event told of    ``call.started`` / ``call.answered`` / ``call.ended``
============================================  ==================================================

The call id is ``Linkedid`` (the ``Uniqueid`` of the call's first channel), with an optional
prefix so that two PBXes never collide. Each generic event carries an ``event_id`` derived
from the content of the AMI event it came from, so the same AMI event read twice (say, by two
connectors) dedupes downstream. Times come from the AMI ``Timestamp`` header when Asterisk
sends one (``timestampevents=yes`` in ``manager.conf``), else from when the event was read.

Messages are dicts with lower-case keys (AMI keys are case-insensitive: ``UniqueID`` in
``Cdr``, ``Uniqueid`` elsewhere), as :func:`switchboard_telephony.adapters.ami.parse_message`
returns them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from switchboard_telephony.adapters.pbx.base import FollowedCalls
from switchboard_telephony.adapters.pbx.base import plausible_number as _number

__all__ = [
    "AmiTranslator",
    "channel_extension",
    "dial_status_word",
    "end_status",
]

AmiMessage = Mapping[str, str]
"""One AMI message: header names in lower case, values as sent."""

# Channel names: "PJSIP/101-0000001a", "SIP/101-000000bb", "Local/101@from-queue-00000003;2".
_CHANNEL = re.compile(
    r"^[^/]+/(?P<resource>[^@;]+?)(?:@[^;]*)?(?:-[0-9a-fA-F]{6,})?(?:;\d+)?$",
)
_EXTENSION = re.compile(r"^[0-9]{1,8}$")
#: The longest ``status`` the generic format accepts.
_MAX_STATUS_LENGTH = 64

# DialStatus words, strongest first: which one tells how an unanswered call ended when a
# ring group or queue dialled several phones. A caller who hung up first is the fact about
# the call; any phone that rang out makes it a missed call; busy only if every phone was.
_DIAL_STATUS_WORDS = {
    "ANSWER": "answered",
    "CANCEL": "cancel",
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CONGESTION": "congestion",
    "CHANUNAVAIL": "chanunavail",
}
_DIAL_STATUS_ORDER = ("ANSWER", "CANCEL", "NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL")

# Q.850 hangup causes, for calls that ended without any Dial (an IVR, a queue with nobody in).
_CAUSE_WORDS = {
    "17": "busy",
    "18": "no_answer",
    "19": "no_answer",
    "21": "busy",  # call rejected
    "20": "chanunavail",
    "1": "failed",  # unallocated number
    "3": "failed",  # no route to destination
    "27": "failed",  # destination out of order
    "34": "congestion",
    "38": "congestion",
    "42": "congestion",
}

_CDR_DISPOSITIONS = {
    "ANSWERED": "answered",
    "NO ANSWER": "no_answer",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "congestion",
}


def channel_extension(channel: str | None) -> str | None:
    """The extension a channel belongs to ("PJSIP/101-0000001a" → "101"); None for trunks.

    Only an all-digits endpoint name counts: "PJSIP/provider-00000003" is a trunk leg.
    """
    if not channel:
        return None
    match = _CHANNEL.match(channel.strip())
    if match is None:
        return None
    resource = match.group("resource")
    return resource if _EXTENSION.match(resource) else None


def _dial_string_extension(dial_string: str | None) -> str | None:
    # "21/sip:21@10.0.0.1:5060" (PJSIP with a contact), "101", "101&102".
    if not dial_string:
        return None
    first = re.split(r"[/&,@]", dial_string.strip(), maxsplit=1)[0]
    return first if _EXTENSION.match(first) else None


def dial_status_word(dial_status: str | None) -> str | None:
    """The generic format's word for an AMI ``DialStatus`` ("NOANSWER" → "no_answer")."""
    if not dial_status:
        return None
    status = dial_status.strip().upper()
    return _DIAL_STATUS_WORDS.get(status, status.lower() or None)


def end_status(answered: bool, dial_statuses: list[str], cause: str | None) -> str:
    """How a call ended, in the generic format's words.

    Answered if anyone answered; else the strongest ``DialStatus`` seen (CANCEL, NOANSWER,
    BUSY, CONGESTION, CHANUNAVAIL in that order); else the hangup ``Cause``; else "no_answer".
    """
    if answered:
        return "answered"
    seen = {s.strip().upper() for s in dial_statuses}
    for status in _DIAL_STATUS_ORDER:
        if status in seen:
            return _DIAL_STATUS_WORDS[status]
    if seen:
        return _unknown_status(sorted(seen)[0])
    return _CAUSE_WORDS.get((cause or "").strip(), "no_answer")


def _unknown_status(status: str) -> str:
    """A status word the translator does not know, passed on in lower case (the state
    machine counts it as missed); one too long for the generic format is "unknown", so
    that the call's end is never refused for it."""
    word = status.lower()
    return word if len(word) <= _MAX_STATUS_LENGTH else "unknown"


@dataclass
class _Call:
    call_id: str
    first_uniqueid: str
    last_seen: datetime
    channels: set[str] = field(default_factory=set)
    joined_mid_call: bool = False
    answered: bool = False
    current_extension: str | None = None
    rung: set[str] = field(default_factory=set)
    dial_statuses: list[str] = field(default_factory=list)


class AmiTranslator:
    """Follows AMI channels per call and emits generic PBX events (see the module doc).

    Stateful but pure: :meth:`feed` takes one message and the time it was read and returns
    the generic events (JSON-able dicts) it makes, in order. Memory is bounded: a call is
    forgotten when it ends, or after ``forget_after`` without any event (its end was lost;
    the state machine closes it by timeout), or when more than ``max_calls`` are open.
    """

    def __init__(
        self,
        *,
        call_id_prefix: str = "",
        pbx_time_zone: tzinfo = UTC,
        max_calls: int = 20_000,
        forget_after: timedelta = timedelta(hours=6),
        remember_ended: int = 20_000,
    ) -> None:
        self.pbx_time_zone = pbx_time_zone
        self._calls: FollowedCalls[_Call] = FollowedCalls(
            call_id_prefix=call_id_prefix,
            max_calls=max_calls,
            forget_after=forget_after,
            remember_ended=remember_ended,
        )
        self.translated = 0
        """AMI messages that produced at least one generic event."""
        self.ignored = 0
        """AMI messages of the handled kinds that told nothing new (or could not be read)."""

    @property
    def open_calls(self) -> int:
        """Calls currently followed."""
        return len(self._calls)

    def feed(self, message: AmiMessage, received_at: datetime) -> list[dict[str, Any]]:
        """The generic events that ``message`` (read at ``received_at``) makes."""
        kind = message.get("event", "")
        handler = self._handlers.get(kind.lower())
        if handler is None:
            return []  # a response, or an event the call model does not need
        at = _event_time(message, received_at)
        out = handler(self, message, at)
        if out:
            self.translated += 1
        else:
            self.ignored += 1
        self._calls.expire(at)
        return out

    # --- per event kind ---------------------------------------------------------------------

    def _newchannel(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        uniqueid = m.get("uniqueid", "")
        linkedid = m.get("linkedid") or uniqueid
        if not uniqueid or self._calls.has_ended(linkedid):
            return []
        call = self._calls.get(linkedid)
        if call is None:
            first = uniqueid == linkedid
            call = self._open(linkedid, at, joined_mid_call=not first)
            call.channels.add(uniqueid)
            if not first:
                return []
            return [
                self._event(
                    m,
                    "call.started",
                    call,
                    at,
                    **{"from": _number(m.get("calleridnum")), "to": _number(m.get("exten"))},
                )
            ]
        call.channels.add(uniqueid)
        call.last_seen = at
        return []

    def _dial_begin(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        call = self._call_for(m, at)
        if call is None:
            return []
        if m.get("destuniqueid"):
            call.channels.add(m["destuniqueid"])
        extension = channel_extension(m.get("destchannel")) or _dial_string_extension(
            m.get("dialstring")
        )
        if extension is None or extension in call.rung:
            return []
        call.rung.add(extension)
        return [self._event(m, "call.ringing", call, at, extension=extension)]

    def _dial_end(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        call = self._call_for(m, at)
        if call is None:
            return []
        status = (m.get("dialstatus") or "").strip().upper()
        if status:
            call.dial_statuses.append(status)
        if status != "ANSWER":
            return []
        return self._answered_by(m, call, at, channel_extension(m.get("destchannel")))

    def _bridge_enter(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        call = self._call_for(m, at)
        if call is None or m.get("uniqueid") == call.first_uniqueid:
            return []  # the caller's own channel entering the bridge says nothing new
        extension = channel_extension(m.get("channel"))
        if extension is None:
            return []
        return self._answered_by(m, call, at, extension)

    def _answered_by(
        self, m: AmiMessage, call: _Call, at: datetime, extension: str | None
    ) -> list[dict[str, Any]]:
        if not call.answered:
            call.answered = True
            call.current_extension = extension
            return [self._event(m, "call.answered", call, at, extension=extension)]
        if extension is None or extension == call.current_extension:
            return []
        previous, call.current_extension = call.current_extension, extension
        return [
            self._event(m, "call.transferred", call, at, extension=previous, to_extension=extension)
        ]

    def _hangup(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        uniqueid = m.get("uniqueid", "")
        linkedid = m.get("linkedid") or uniqueid
        if not uniqueid:
            return []  # no channel named: it cannot end any call
        call = self._calls.get(linkedid)
        if call is None:
            if uniqueid != linkedid or self._calls.has_ended(linkedid):
                return []
            # The call's first channel, of a call that started before we connected.
            call = self._open(linkedid, at, joined_mid_call=True)
        call.channels.discard(uniqueid)
        call.last_seen = at
        last = not call.channels if not call.joined_mid_call else uniqueid == linkedid
        if not last:
            return []
        status = end_status(call.answered, call.dial_statuses, m.get("cause"))
        self._calls.end(linkedid)
        return [self._event(m, "call.ended", call, at, status=status)]

    def _cdr(self, m: AmiMessage, at: datetime) -> list[dict[str, Any]]:
        uniqueid = m.get("uniqueid", "")
        if not uniqueid:
            return []
        call_id = self._calls.call_id(uniqueid)
        if self._calls.get(uniqueid) is not None or self._calls.has_ended(uniqueid):
            return []  # the channel events already told this call
        started = self._cdr_time(m.get("starttime"))
        ended = self._cdr_time(m.get("endtime"))
        if started is None or ended is None:
            return []
        answered = self._cdr_time(m.get("answertime"))
        call = _Call(call_id=call_id, first_uniqueid=uniqueid, last_seen=at)
        out = [
            self._event(
                m,
                "call.started",
                call,
                started,
                **{"from": _number(m.get("source")), "to": _number(m.get("destination"))},
            )
        ]
        disposition = (m.get("disposition") or "").strip().upper()
        status = _CDR_DISPOSITIONS.get(disposition, _unknown_status(disposition) or "no_answer")
        if answered is not None and status == "answered":
            extension = channel_extension(m.get("destinationchannel"))
            out.append(self._event(m, "call.answered", call, answered, extension=extension))
        out.append(self._event(m, "call.ended", call, ended, status=status))
        self._calls.remember_ended_id(call_id)
        return out

    _handlers = {
        "newchannel": _newchannel,
        "dialbegin": _dial_begin,
        "dialend": _dial_end,
        "bridgeenter": _bridge_enter,
        "hangup": _hangup,
        "cdr": _cdr,
    }

    # --- bookkeeping ------------------------------------------------------------------------

    def _open(self, linkedid: str, at: datetime, *, joined_mid_call: bool) -> _Call:
        call = _Call(
            call_id=self._calls.call_id(linkedid),
            first_uniqueid=linkedid,
            last_seen=at,
            joined_mid_call=joined_mid_call,
        )
        return self._calls.add(linkedid, call)

    def _call_for(self, m: AmiMessage, at: datetime) -> _Call | None:
        """The call of a mid-call event; opened (as joined mid-call) if we missed its start."""
        uniqueid = m.get("uniqueid", "")
        linkedid = m.get("linkedid") or uniqueid
        if not linkedid or self._calls.has_ended(linkedid):
            return None
        call = self._calls.get(linkedid)
        if call is None:
            call = self._open(linkedid, at, joined_mid_call=True)
        call.channels.add(uniqueid)
        call.last_seen = at
        return call

    def _cdr_time(self, value: str | None) -> datetime | None:
        if not value or not value.strip():
            return None
        try:
            local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
        return local.replace(tzinfo=self.pbx_time_zone).astimezone(UTC)

    def _event(
        self, m: AmiMessage, kind: str, call: _Call, at: datetime, **fields: str | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "call_id": call.call_id,
            "timestamp": at.isoformat(),
            "event_id": f"ami:{call.call_id}:{_digest(m)}:{kind.removeprefix('call.')}",
        }
        event.update({k: v for k, v in fields.items() if v is not None})
        return event


def _event_time(message: AmiMessage, received_at: datetime) -> datetime:
    """The ``Timestamp`` header (Unix seconds) when Asterisk sends it, else the read time."""
    stamp = message.get("timestamp")
    if stamp:
        try:
            return datetime.fromtimestamp(float(stamp), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC)


def _digest(message: AmiMessage) -> str:
    """A short hash of the message's content: the same AMI event gives the same id."""
    canonical = "\n".join(f"{k}:{v}" for k, v in sorted(message.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]
