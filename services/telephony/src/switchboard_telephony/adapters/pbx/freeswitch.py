"""FreeSWITCH Event Socket events in, events of the generic JSON format out (pure, no I/O).

A FreeSWITCH call is a first channel (the caller's: a trunk's for an incoming call, a phone's
for an outgoing or internal one) and the channels it originates (one per phone rung, a trunk
leg for an outside number); every channel of the call carries the first one's UUID in
``Channel-Call-UUID``. :class:`FreeswitchTranslator` follows the channels of each call and
writes what the generic webhook format would say, so both doors lead to the same calls:

==========================================  ===================================================
Event Socket event                          generic event
==========================================  ===================================================
``CHANNEL_CREATE`` of the first channel     ``call.started`` (from ``Caller-Caller-ID-Number``,
                                            to ``Caller-Destination-Number``)
``CHANNEL_CREATE`` of a phone's channel     ``call.ringing`` at its extension, once per extension
``CHANNEL_ANSWER`` of an originated         ``call.answered`` by its extension (a trunk leg:
channel                                     the call's own extension); later, by another
                                            extension: ``call.transferred``
``CHANNEL_BRIDGE``                          the same, when no answer said so (a pickup, the
                                            caller bridged to a leg that had answered)
``CHANNEL_HANGUP_COMPLETE`` of the first    ``call.ended`` (status: answered, else
channel                                     ``DIALSTATUS``, else the phones' hangup causes,
                                            else the first channel's own)
==========================================  ===================================================

A blind transfer (a phone's SIP REFER, ``uuid_transfer``) hangs the transferring phone up
and originates a new channel from the caller's, in the same call: its answer is the
``call.transferred``. An attended transfer's consultation call is originated by the
transferring phone's channel; it is followed as part of the call it came from, so its
answer is the transfer (reported when the consulted phone answers, not when the transfer
completes).

The call id is the first channel's UUID behind an optional prefix; each generic event's id
is derived from the content of the ESL event it came from, so the same event read twice (a
second connector) dedupes downstream. Times are ``Event-Date-Timestamp`` (microseconds).
Header names are matched in lower case, values URL-decoded (as :mod:`.esl` returns them).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from switchboard_telephony.adapters.pbx.base import (
    Capabilities,
    FollowedCalls,
    GenericEvent,
    content_digest,
    generic_event,
    plausible_number,
)

__all__ = [
    "CAPABILITIES",
    "EVENTS",
    "FreeswitchTranslator",
    "channel_extension",
    "end_status",
]

EslEvent = Mapping[str, str]
"""One ESL event: header names in lower case, values URL-decoded."""

EVENTS = ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_HANGUP_COMPLETE")
"""The events the connector subscribes to (``event plain ...``)."""

CAPABILITIES = Capabilities(
    pbx="FreeSWITCH",
    connects="`switchboard-telephony freeswitch`: a client of mod_event_socket (inbound mode, "
    "port 8021), publishing to `pbx.events.raw`",
    recordings="no: FreeSWITCH records to files; their paths are not URLs",
    operator_ids="no: the extension that answered (who shares it comes from the directory)",
    transfers="blind (REFER, `uuid_transfer`): yes, when the new phone answers; attended: "
    "yes, when the consulted phone answers; a consultation that is abandoned still reads as "
    "a transfer",
    limits="events sent while the connector was away (the Event Socket keeps none): a call "
    "whose end was missed is closed by the no-end timeout",
)

# "sofia/internal/101@10.0.0.5:5060", "sofia/internal/101", "user/101@clinic", "verto.rtc/101@x".
# Trunk legs ("sofia/gateway/provider/79161234567", "sofia/external/79161234567@sip.ru") are
# not phones: a gateway's name, or a user part longer than an extension.
_CHANNEL = re.compile(r"^(?P<tech>[^/]+)/(?P<profile>[^/]+)(?:/(?P<rest>.*))?$")
_EXTENSION = re.compile(r"^[0-9]{1,8}$")

# Words for the generic format's status, strongest first: when several phones rang, a caller
# who hung up first is the fact about the call; then any phone that rang out; busy only if
# every phone was.
_STATUS_ORDER = ("cancel", "no_answer", "busy", "congestion", "chanunavail", "failed")
_DIAL_STATUS = {
    "SUCCESS": "answered",
    "ANSWER": "answered",
    "CANCEL": "cancel",
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CONGESTION": "congestion",
    "CHANUNAVAIL": "chanunavail",
    "INVALIDARGS": "failed",
}
_CAUSES = {
    "ORIGINATOR_CANCEL": "cancel",
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "RECOVERY_ON_TIMER_EXPIRE": "no_answer",
    "USER_BUSY": "busy",
    "CALL_REJECTED": "busy",
    "NORMAL_CIRCUIT_CONGESTION": "congestion",
    "SWITCH_CONGESTION": "congestion",
    "NORMAL_TEMPORARY_FAILURE": "congestion",
    "NETWORK_OUT_OF_ORDER": "congestion",
    "SUBSCRIBER_ABSENT": "chanunavail",
    "USER_NOT_REGISTERED": "chanunavail",
    "UNALLOCATED_NUMBER": "failed",
    "NO_ROUTE_DESTINATION": "failed",
    "INVALID_NUMBER_FORMAT": "failed",
    "DESTINATION_OUT_OF_ORDER": "failed",
}


def channel_extension(channel: str | None) -> str | None:
    """The extension a channel belongs to ("sofia/internal/101@10.0.0.5" → "101"); None for
    trunk legs ("sofia/gateway/provider/79161234567") and anything not a phone."""
    if not channel:
        return None
    match = _CHANNEL.match(channel.strip())
    if match is None or match.group("profile") == "gateway":
        return None
    resource = match.group("rest") if match.group("rest") is not None else match.group("profile")
    user = resource.split("@", 1)[0]
    return user if _EXTENSION.match(user) else None


def end_status(
    answered: bool, dial_status: str | None, leg_causes: list[str], cause: str | None
) -> str:
    """How a call ended, in the generic format's words: answered if anyone answered; else the
    first channel's ``DIALSTATUS``; else the strongest hangup cause of the phones that rang;
    else the first channel's own cause; else "no_answer"."""
    if answered:
        return "answered"
    word = _DIAL_STATUS.get((dial_status or "").strip().upper())
    if word is not None and word != "answered":
        return word
    words = {_CAUSES.get(c.strip().upper()) for c in leg_causes}
    for status in _STATUS_ORDER:
        if status in words:
            return status
    return _CAUSES.get((cause or "").strip().upper(), "no_answer")


@dataclass
class _Call:
    call_id: str
    first_uuid: str
    last_seen: datetime
    joined_mid_call: bool = False
    answered: bool = False
    current_extension: str | None = None
    rung: set[str] = field(default_factory=set)
    leg_causes: list[str] = field(default_factory=list)


class FreeswitchTranslator:
    """Follows Event Socket channels per call and emits generic PBX events (see the module
    doc). Stateful but pure: :meth:`feed` takes one event and when it was read. Memory is
    bounded as the AMI translator's: a call is forgotten when it ends, after
    ``forget_after`` without events, or when more than ``max_calls`` are open."""

    def __init__(
        self,
        *,
        call_id_prefix: str = "",
        max_calls: int = 20_000,
        forget_after: timedelta = timedelta(hours=6),
        remember_ended: int = 20_000,
    ) -> None:
        self._calls: FollowedCalls[_Call] = FollowedCalls(
            call_id_prefix=call_id_prefix,
            max_calls=max_calls,
            forget_after=forget_after,
            remember_ended=remember_ended,
        )
        self._legs: OrderedDict[str, str] = OrderedDict()
        """Channel UUID → the first UUID of its call (attended transfers' consultations)."""
        self.translated = 0
        self.ignored = 0

    @property
    def open_calls(self) -> int:
        """Calls currently followed."""
        return len(self._calls)

    def feed(self, event: EslEvent, received_at: datetime) -> list[GenericEvent]:
        """The generic events that ``event`` (read at ``received_at``) makes."""
        handler = self._handlers.get(event.get("event-name", "").upper())
        if handler is None:
            return []  # a command reply, an api response, an event calls do not need
        at = _event_time(event, received_at)
        out = handler(self, event, at)
        if out:
            self.translated += 1
        else:
            self.ignored += 1
        self._expire(at)
        return out

    # --- per event ----------------------------------------------------------------------------

    def _create(self, e: EslEvent, at: datetime) -> list[GenericEvent]:
        uuid = e.get("unique-id", "")
        first = self._first_uuid(e)
        if not uuid or self._calls.has_ended(first):
            return []
        if uuid == first:
            call = self._open(first, at, joined_mid_call=False)
            fields = {
                "from": plausible_number(e.get("caller-caller-id-number")),
                "to": plausible_number(e.get("caller-destination-number")),
            }
            return [self._event(e, "started", call, at, **fields)]
        call = self._call_for(first, at)
        self._legs[uuid] = call.first_uuid
        extension = channel_extension(e.get("channel-name"))
        if extension is None or extension in call.rung:
            return []
        call.rung.add(extension)
        return [self._event(e, "ringing", call, at, extension=extension)]

    def _answer(self, e: EslEvent, at: datetime) -> list[GenericEvent]:
        uuid = e.get("unique-id", "")
        first = self._first_uuid(e)
        if not uuid or uuid == first or self._calls.has_ended(first):
            return []  # the first channel answered by the PBX itself (an IVR) says nothing
        call = self._call_for(first, at)
        return self._answered_by(e, call, at, channel_extension(e.get("channel-name")))

    def _bridge(self, e: EslEvent, at: datetime) -> list[GenericEvent]:
        first = self._first_uuid(e)
        if not first or self._calls.has_ended(first):
            return []
        call = self._call_for(first, at)
        legs = [
            (e.get("other-leg-unique-id", ""), e.get("other-leg-channel-name")),
            (e.get("unique-id", ""), e.get("channel-name")),
        ]
        phones = [
            channel_extension(name) for uuid, name in legs if uuid and uuid != call.first_uuid
        ]
        extension = next((p for p in phones if p is not None), None)
        if call.answered and extension is None:
            return []
        return self._answered_by(e, call, at, extension)

    def _hangup(self, e: EslEvent, at: datetime) -> list[GenericEvent]:
        uuid = e.get("unique-id", "")
        first = self._first_uuid(e)
        if not uuid or self._calls.has_ended(first):
            return []
        if uuid != first:
            call = self._call_for(first, at)
            cause = e.get("hangup-cause") or e.get("variable_hangup_cause")
            if cause:
                call.leg_causes.append(cause)
            return []
        call = self._calls.get(first) or self._open(first, at, joined_mid_call=True)
        status = end_status(
            call.answered,
            e.get("variable_dialstatus"),
            [*call.leg_causes, e.get("variable_originate_disposition") or ""],
            e.get("hangup-cause") or e.get("variable_hangup_cause"),
        )
        self._close(first)
        return [self._event(e, "ended", call, at, status=status)]

    _handlers = {
        "CHANNEL_CREATE": _create,
        "CHANNEL_ANSWER": _answer,
        "CHANNEL_BRIDGE": _bridge,
        "CHANNEL_HANGUP_COMPLETE": _hangup,
    }

    def _answered_by(
        self, e: EslEvent, call: _Call, at: datetime, extension: str | None
    ) -> list[GenericEvent]:
        if not call.answered:
            call.answered = True
            call.current_extension = extension
            return [self._event(e, "answered", call, at, extension=extension)]
        if extension is None or extension == call.current_extension:
            return []
        previous, call.current_extension = call.current_extension, extension
        return [self._event(e, "transferred", call, at, extension=previous, to_extension=extension)]

    # --- bookkeeping --------------------------------------------------------------------------

    def _first_uuid(self, e: EslEvent) -> str:
        """The first channel of the event's call (through a consultation's originator)."""
        first = e.get("channel-call-uuid") or e.get("unique-id", "")
        return self._legs.get(first, first)

    def _open(self, first_uuid: str, at: datetime, *, joined_mid_call: bool) -> _Call:
        call = self._calls.get(first_uuid)
        if call is None:
            call = _Call(self._calls.call_id(first_uuid), first_uuid, at, joined_mid_call)
            self._calls.add(first_uuid, call)
        call.last_seen = at
        return call

    def _call_for(self, first_uuid: str, at: datetime) -> _Call:
        """The call of a mid-call event; opened (as joined mid-call) if we missed its start."""
        return self._open(first_uuid, at, joined_mid_call=True)

    def _close(self, first_uuid: str) -> None:
        if self._calls.end(first_uuid) is None:
            return
        for leg in [u for u, f in self._legs.items() if f == first_uuid]:
            del self._legs[leg]

    def _expire(self, now: datetime) -> None:
        self._calls.expire(now)
        while len(self._legs) > self._calls.max_calls * 4:
            self._legs.popitem(last=False)

    def _event(
        self, e: EslEvent, kind: str, call: _Call, at: datetime, **fields: str | None
    ) -> GenericEvent:
        return generic_event("fs", kind, call.call_id, at, content_digest(e), **fields)


def _event_time(event: EslEvent, received_at: datetime) -> datetime:
    """``Event-Date-Timestamp`` (microseconds since the epoch), else the read time."""
    stamp = event.get("event-date-timestamp", "")
    if stamp.strip().isdigit():
        try:
            return datetime.fromtimestamp(int(stamp) / 1_000_000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC)
