"""The simulated day in each PBX's own words: FreeSWITCH events, Mango and Twilio deliveries.

:func:`native_day` takes a :class:`~.simulator_day.SimulatedDay` (whose deliveries are events of
the generic format) and says each call the way that PBX would: an Event Socket event per
channel change, a Mango ``events/call`` per leg state and an ``events/summary``, a Twilio
status callback per leg and the parent call's final one. Translated back by the adapter, a
call gives the same canonical call as its generic events — to the second, since Mango and
Twilio write whole seconds — but for what the PBX cannot say (see each adapter's
capabilities: operator ids, FreeSWITCH's recordings, a busy Twilio reception).

Webhook formats get the day's lies as the generic deliveries do (``duplicate_rate`` of the
deliveries sent twice: a replay the endpoint refuses; ``late_rate`` sent late); an Event
Socket is one ordered TCP stream, so FreeSWITCH's events go in order, once.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import switchboard_phones as phones
from switchboard_telephony.simulator_day import Delivery, SimulatedDay

__all__ = ["FORMATS", "native_call_id", "native_day"]

FORMATS = ("generic", "freeswitch", "mango", "twilio")
"""What ``switchboard-telephony simulate --format`` speaks."""

#: The simulated chain's numbers are Russian (``simulator_day.DEFAULT_CHAIN``).
_REGION = "RU"
_KIND_ORDER = {"started": 0, "ringing": 1, "answered": 2, "transferred": 3, "ended": 4}
_CAUSE = {"cancel": "ORIGINATOR_CANCEL", "no_answer": "NO_ANSWER", "busy": "USER_BUSY"}
_DIALSTATUS = {"answered": "SUCCESS", "cancel": "CANCEL", "no_answer": "NOANSWER", "busy": "BUSY"}
_MANGO_REASON = {"answered": 1110, "cancel": 1110, "no_answer": 1100, "busy": 4201}
_TWILIO_LEG_END = {"cancel": "canceled", "no_answer": "no-answer", "busy": "busy"}


@dataclass
class _Call:
    """One simulated call's generic events, read for the encoders."""

    call_id: str
    events: list[dict[str, Any]]
    clinic_did: str | None
    started: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.events[0]

    @property
    def kind(self) -> str:
        if self.started.get("did"):
            return "incoming"
        return "outgoing" if self.started.get("extension") else "internal"

    def at(self, event: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(event["timestamp"]).astimezone(UTC)

    @property
    def status(self) -> str:
        return str(self.events[-1].get("status") or "answered")


Message = tuple[datetime, str, dict[str, Any]]
"""(when, sub-path, payload) of one native message."""


def native_day(day: SimulatedDay, fmt: str) -> list[Delivery]:
    """The day's deliveries in ``fmt``, in sending order (see the module doc).

    Each :class:`~.simulator_day.Delivery` carries ``{"call_id", "path", "payload"}``: for
    FreeSWITCH the event's headers (``payload["headers"]``, name/value pairs), for Mango the
    event (posted to ``path``), for Twilio the parameters and the callback URL's query.
    """
    if fmt == "generic":
        return list(day.deliveries)
    encode = _ENCODERS[fmt]
    by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for delivery in day.deliveries:
        if not delivery.duplicate:
            by_call[delivery.event["call_id"]].append(delivery.event)
    dids = {
        extension: clinic.did
        for clinic in day.clinics.values()
        for extension in (clinic.reception, *clinic.extensions)
    }
    messages: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for call_id, events in by_call.items():
        events.sort(key=lambda e: (e["timestamp"], _KIND_ORDER[e["type"].removeprefix("call.")]))
        call = _Call(call_id, events, dids.get(str(events[0].get("extension") or "")))
        messages += [(at, call_id, path, payload) for at, path, payload in encode(call)]
    messages.sort(key=lambda m: m[0])  # stable: a call's messages at one instant keep order
    if fmt == "freeswitch":
        return [_delivery(at, call_id, path, payload) for at, call_id, path, payload in messages]
    return _with_lies(day, fmt, messages)


def native_call_id(fmt: str, call_id: str) -> str:
    """The call id telephony gives the simulated call ``call_id`` said in ``fmt``: the
    first channel's UUID for FreeSWITCH, the adapters' prefixes for the cloud PBXs."""
    if fmt == "freeswitch":
        return _leg_uuid(call_id, "a")
    if fmt == "mango":
        return f"mango:{call_id}"
    if fmt == "twilio":
        return f"twilio:{_sid(call_id)}"
    return call_id


def _leg_uuid(call_id: str, leg: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard-sim:{call_id}:{leg}"))


def _delivery(
    at: datetime, call_id: str, path: str, payload: dict[str, Any], **flags: bool
) -> Delivery:
    return Delivery(at, {"call_id": call_id, "path": path, "payload": payload}, **flags)


def _with_lies(
    day: SimulatedDay, fmt: str, messages: Sequence[tuple[datetime, str, str, dict[str, Any]]]
) -> list[Delivery]:
    config = day.config
    rng = random.Random(f"{config.seed}:{fmt}")  # noqa: S311 - a simulation, not secrets
    items: list[tuple[datetime, int, Delivery]] = []
    for at, call_id, path, payload in messages:
        send_at = at + timedelta(milliseconds=rng.randint(20, 400))
        late = rng.random() < config.late_rate
        if late:
            lateness = rng.uniform(min(1.0, config.late_max_seconds), config.late_max_seconds)
            send_at += timedelta(seconds=lateness)
        items.append((send_at, len(items), _delivery(send_at, call_id, path, payload, late=late)))
        if rng.random() < config.duplicate_rate:
            again = send_at + timedelta(seconds=rng.uniform(0.2, 20.0))
            copy = _delivery(again, call_id, path, payload, duplicate=True)
            items.append((again, len(items), copy))
    items.sort(key=lambda item: (item[0], item[1]))
    return [delivery for _, _, delivery in items]


# --- FreeSWITCH -----------------------------------------------------------------------------


def _freeswitch(call: _Call) -> list[Message]:
    out: list[Message] = []
    seq = iter(range(1, 10_000))

    def leg(name: str, channel: str, number: str, dest: str) -> dict[str, str]:
        return {
            "uuid": _leg_uuid(call.call_id, name),
            "channel": channel,
            "number": number,
            "dest": dest,
        }

    def phone(extension: str) -> dict[str, str]:
        caller = str(call.started.get("from") or "")
        return leg(extension, f"sofia/internal/{extension}@10.20.0.1:5060", caller, extension)

    def emit(name: str, at: datetime, channel: dict[str, str], **extra: str) -> None:
        headers = [
            ("Event-Name", name),
            ("Event-Date-Timestamp", str(int(at.timestamp() * 1_000_000))),
            ("Event-Sequence", str(next(seq))),
            ("Channel-Name", channel["channel"]),
            ("Unique-ID", channel["uuid"]),
            ("Channel-Call-UUID", first["uuid"]),
            ("Caller-Caller-ID-Number", channel["number"]),
            ("Caller-Destination-Number", channel["dest"]),
            *extra.items(),
        ]
        out.append((at, "", {"headers": [list(pair) for pair in headers]}))

    source = _as_pbx(str(call.started.get("from") or ""))
    dest = _as_pbx(str(call.started.get("did") or call.started.get("to") or ""))
    if call.kind == "incoming":
        first = leg("a", f"sofia/external/{source}@sip.provider.example", source, dest)
    else:
        first = leg("a", f"sofia/internal/{source}@10.20.0.1:5060", source, dest)
    emit("CHANNEL_CREATE", call.at(call.started), first)
    legs: dict[str, dict[str, str]] = {}
    holder: dict[str, str] | None = None
    for event in call.events[1:]:
        at, kind = call.at(event), event["type"].removeprefix("call.")
        if kind == "ringing":
            legs.setdefault(event["extension"], phone(event["extension"]))
            emit("CHANNEL_CREATE", at, legs[event["extension"]])
        elif kind == "answered":
            key = str(event.get("extension") or call.started.get("to") or "")
            if key not in legs:  # an outgoing call's trunk leg, never "ringing"
                legs[key] = leg(key, f"sofia/gateway/provider/{dest}", source, dest)
                emit(
                    "CHANNEL_CREATE", call.at(call.started) + timedelta(milliseconds=50), legs[key]
                )
            holder = legs[key]
            emit("CHANNEL_ANSWER", at, holder)
            emit("CHANNEL_BRIDGE", at, first, **_other(holder))
        elif kind == "transferred":
            if holder is not None:
                emit("CHANNEL_HANGUP_COMPLETE", at, holder, **{"Hangup-Cause": "NORMAL_CLEARING"})
                del legs[next(k for k, v in legs.items() if v is holder)]
            holder = legs[event["to_extension"]] = phone(event["to_extension"])
            emit("CHANNEL_CREATE", at, holder)
            emit("CHANNEL_ANSWER", at, holder)
            emit("CHANNEL_BRIDGE", at, first, **_other(holder))
        elif kind == "ended":
            cause = "NORMAL_CLEARING" if holder else _CAUSE.get(call.status, "NO_ANSWER")
            for channel in legs.values():
                emit("CHANNEL_HANGUP_COMPLETE", at, channel, **{"Hangup-Cause": cause})
            emit(
                "CHANNEL_HANGUP_COMPLETE",
                at,
                first,
                **{
                    "Hangup-Cause": "NORMAL_CLEARING",
                    "variable_DIALSTATUS": _DIALSTATUS.get(call.status, "NOANSWER"),
                },
            )
    return out


def _other(channel: Mapping[str, str]) -> dict[str, str]:
    return {"Other-Leg-Unique-ID": channel["uuid"], "Other-Leg-Channel-Name": channel["channel"]}


def _as_pbx(number: str, *, plus: bool = False) -> str:
    """An outside number as PBXes write it on the wire: E.164 (through the phone library),
    without the ``+`` but for Twilio; an extension as it is."""
    if not number or phones.is_extension(number):
        return number
    e164 = phones.normalise(number, _REGION)
    return e164 if plus else e164.removeprefix("+")


# --- Mango Office -----------------------------------------------------------------------------


def _mango(call: _Call) -> list[Message]:
    out: list[Message] = []
    seqs: dict[str, int] = defaultdict(int)
    caller = {"number": _as_pbx(str(call.started.get("from") or ""))}
    line = _as_pbx(str(call.started.get("did") or call.clinic_did or ""))

    def state(leg: str, name: str, at: datetime, source: Any, target: Any, where: str) -> None:
        seqs[leg] += 1
        event = {
            "entry_id": call.call_id,
            "call_id": f"{call.call_id}:{leg}",
            "timestamp": int(at.timestamp()),
            "seq": seqs[leg],
            "call_state": name,
            "location": where,
            "from": source,
            "to": target,
        }
        out.append((at, "events/call", event))

    def phone(extension: str) -> dict[str, str]:
        return {"extension": extension, "number": f"sip:{extension}@clinic.mangosip.ru"}

    legs: dict[str, tuple[Any, Any]] = {}
    began = call.at(call.started)
    if call.kind == "incoming":
        state("ivr", "Appeared", began, caller, {"number": line, "line_number": line}, "ivr")
        inbound = {**caller, "taken_from_call_id": f"{call.call_id}:ivr"}
    else:
        me = {"extension": str(call.started["from"])}
        callee = _as_pbx(str(call.started.get("to") or ""))
        target = phone(callee) if call.kind == "internal" else {"number": callee}
        legs["out"] = (me, target)
        state("out", "Appeared", began, me, target, "abonent")
    for event in call.events[1:]:
        at, kind = call.at(event), event["type"].removeprefix("call.")
        if call.kind == "incoming" and kind in ("ringing", "transferred"):
            extension = event["extension"] if kind == "ringing" else event["to_extension"]
            legs[extension] = (inbound, {**phone(extension), "line_number": line})
            state(extension, "Appeared", at, *legs[extension], "abonent")
            if kind == "transferred":
                state(extension, "Connected", at, *legs[extension], "abonent")
        elif kind == "answered":
            key = "out" if "out" in legs else str(event.get("extension"))
            state(key, "Connected", at, *legs[key], "abonent")
        elif kind == "ended":
            for key, (source, target) in legs.items():
                state(key, "Disconnected", at, source, target, "abonent")
            summary = {
                "entry_id": call.call_id,
                "call_direction": {"internal": 0, "incoming": 1, "outgoing": 2}[call.kind],
                "line_number": line,
                "end_time": int(at.timestamp()),
                "entry_result": 1 if call.status == "answered" else 0,
                "disconnect_reason": _MANGO_REASON.get(call.status, 1100),
            }
            out.append((at, "events/summary", summary))
    return out


# --- Twilio -----------------------------------------------------------------------------------


def _twilio(call: _Call) -> list[Message]:
    out: list[Message] = []
    parent = _sid(call.call_id)
    seqs: dict[str, int] = defaultdict(int)
    began = call.at(call.started)
    source = _as_pbx(str(call.started.get("from") or ""), plus=True)
    to = _as_pbx(str(call.started.get("to") or ""), plus=True)
    if call.kind == "incoming":
        query = "did=" + quote(str(call.started["did"]), safe="")
        child_from = source
    else:
        query = "extension=" + quote(f"client:{source}", safe="")
        child_from = f"client:{source}" if call.kind == "internal" else (call.clinic_did or "")

    def callback(sid: str, status: str, at: datetime, frm: str, target: str, **extra: str) -> None:
        params = {
            "CallSid": sid,
            "CallStatus": status,
            "CallbackSource": "call-progress-events",
            "Direction": "outbound-dial" if sid != parent else "inbound",
            "From": frm,
            "To": target,
            "SequenceNumber": str(seqs[sid]),
            "Timestamp": format_datetime(at),
            **extra,
        }
        seqs[sid] += 1
        if sid != parent:
            params["ParentCallSid"] = parent
        out.append((at, "", {"params": params, "query": query if sid != parent else ""}))

    def endpoint(extension_or_number: str) -> str:
        return (
            f"client:{extension_or_number}"
            if extension_or_number.isdigit() and len(extension_or_number) <= 8
            else extension_or_number
        )

    legs: dict[str, str] = {}

    def dial(target: str, at: datetime) -> str:
        legs[target] = _sid(f"{call.call_id}:{target}")
        callback(legs[target], "initiated", at, child_from, endpoint(target))
        return legs[target]

    if call.kind != "incoming":
        dial(to, began)
    holder: str | None = None
    for event in call.events[1:]:
        at, kind = call.at(event), event["type"].removeprefix("call.")
        if kind == "ringing":
            if event["extension"] not in legs:
                dial(event["extension"], began if call.kind == "incoming" else at)
            callback(
                legs[event["extension"]], "ringing", at, child_from, endpoint(event["extension"])
            )
        elif kind == "answered":
            holder = str(event.get("extension")) if call.kind != "outgoing" else to
            holder = holder if holder in legs else to
            callback(legs[holder], "in-progress", at, child_from, endpoint(holder))
        elif kind == "transferred":
            if holder is not None:
                callback(legs.pop(holder), "completed", at, child_from, endpoint(holder))
            holder = event["to_extension"]
            for status in ("initiated", "ringing", "in-progress"):
                if status == "initiated":
                    dial(holder, at)
                else:
                    callback(legs[holder], status, at, child_from, endpoint(holder))
        elif kind == "ended":
            for target, sid in legs.items():
                leg_status = (
                    "completed"
                    if target == holder
                    else _TWILIO_LEG_END.get(call.status, "no-answer")
                )
                callback(sid, leg_status, at, child_from, endpoint(target))
            extra = {"CallDuration": str(int((at - began).total_seconds()))}
            if event.get("recording_url"):
                extra["RecordingUrl"] = str(event["recording_url"])
            caller = source if call.kind == "incoming" else f"client:{source}"
            callee = str(call.started["did"]) if call.kind == "incoming" else endpoint(to)
            callback(parent, "completed", at, caller, callee, **extra)
    return out


def _sid(name: str) -> str:
    return "CA" + hashlib.sha256(name.encode()).hexdigest()[:32]


_ENCODERS: dict[str, Callable[[_Call], list[Message]]] = {
    "freeswitch": _freeswitch,
    "mango": _mango,
    "twilio": _twilio,
}
