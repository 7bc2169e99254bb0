"""A seeded stream of PBX calls and the results a clinic would expect from it.

:func:`generate_calls` makes up one clinic-local day of calls (several clinics in two time
zones, reception extensions shared by admins, answered and missed, incoming from known
patients and unknown numbers, outgoing, internal). :func:`pbx_batches` turns them into the
webhook deliveries the PBX would make, lying as PBXes do: numbers written several ways,
events sent twice (in the same request or a later one) and out of order within a call.

:class:`Expected` computes the call log, the calls report and the touches from the calls'
own description — plain arithmetic over :class:`GeneratedCall`, none of the services' code —
so a fault that loses or double-counts anything shows as a difference.

Every timestamp is a whole second, so durations need no rounding convention; every call
starts between 09:00 and 18:00 in its clinic's zone, so a call's local day is the stream's
day whatever the zone.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

CallType = Literal["incoming", "outgoing", "internal"]


@dataclass(frozen=True)
class Clinic:
    """A clinic of booking's demo chain (``switchboard-booking seed``) as the PBX sees it."""

    clinic_id: str
    time_zone: str
    did: str
    reception: str
    admins: tuple[str, ...]
    desk: str
    """A doctor's desk extension (outgoing and internal calls)."""


#: Booking's seeded clinics (ids and zones as seeded); DIDs and the desks are configured in
#: telephony by the harness, the reception extensions of Moscow are the seeded operators'.
CHAIN: tuple[Clinic, ...] = (
    Clinic(
        "clinic-msk-center", "Europe/Moscow", "+74951110101", "101", ("op-anna", "op-boris"), "102"
    ),
    Clinic("clinic-msk-north", "Europe/Moscow", "+74951110201", "201", ("op-petr",), "202"),
    Clinic(
        "clinic-ekb", "Asia/Yekaterinburg", "+73431110301", "301", ("op-lev", "op-maria"), "302"
    ),
)

#: Booking's seeded clients with a mobile number: callers crm-touch must recognise.
KNOWN_CALLERS: dict[str, str] = {
    "+79161234567": "Kuznetsova",
    "+79125550102": "Morozov",
}


@dataclass(frozen=True)
class GeneratedCall:
    """What happened on one call (UTC, whole seconds)."""

    call_id: str
    call_type: CallType
    clinic: Clinic
    src: str
    """Caller: E.164 for an outside number, the bare extension otherwise."""
    dst: str
    started_at: datetime
    ended_at: datetime
    answered_at: datetime | None
    operator_id: str | None
    ringing_extension: str | None
    written_number: str | None
    """The outside number as this call's PBX events write it."""

    @property
    def disposition(self) -> str:
        return "answered" if self.answered_at is not None else "missed"

    @property
    def wait_seconds(self) -> int:
        until = self.answered_at or self.ended_at
        return int((until - self.started_at).total_seconds())

    @property
    def talk_seconds(self) -> int:
        if self.answered_at is None:
            return 0
        return int((self.ended_at - self.answered_at).total_seconds())

    @property
    def total_seconds(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds())

    @property
    def outside_number(self) -> str | None:
        """The patient's number of an external call."""
        if self.call_type == "incoming":
            return self.src
        if self.call_type == "outgoing":
            return self.dst
        return None

    @property
    def local_start(self) -> datetime:
        return self.started_at.astimezone(ZoneInfo(self.clinic.time_zone))


def _written(rng: random.Random, e164: str) -> str:
    national = e164.removeprefix("+7")
    style = rng.randrange(3)
    if style == 0:
        return e164
    if style == 1:
        return "8 " + national
    return f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"


def generate_calls(*, seed: int, day: date, count: int, prefix: str) -> list[GeneratedCall]:
    """``count`` calls on ``day`` (clinic-local), ids ``<prefix>-<n>``, sorted by start."""
    rng = random.Random(seed)
    unknown = [f"+7985{rng.randrange(10**7):07d}" for _ in range(12)]
    callers = [*unknown, *KNOWN_CALLERS]
    weights = [1.0] * len(unknown) + [3.0] * len(KNOWN_CALLERS)
    calls = []
    for n in range(count):
        clinic = rng.choice(CHAIN)
        zone = ZoneInfo(clinic.time_zone)
        start_local = datetime.combine(day, time(9), tzinfo=zone) + timedelta(
            seconds=rng.randrange(9 * 3600)
        )
        started = start_local.astimezone(UTC)
        kind: CallType = rng.choices(("incoming", "outgoing", "internal"), (70, 20, 10))[0]
        answered = rng.random() < 0.75
        answered_at = ended = None
        operator = None
        if kind == "incoming":
            number = rng.choices(callers, weights)[0]
            src, dst, ringing = number, clinic.did, clinic.reception
            if answered:
                operator = rng.choice(clinic.admins)
        elif kind == "outgoing":
            number = rng.choices(callers, weights)[0]
            dialler = rng.choice((clinic.reception, clinic.desk))
            src, dst, ringing = dialler, number, None
            if answered and dialler == clinic.reception:
                operator = rng.choice(clinic.admins)
        else:
            number = None
            src, dst, ringing = clinic.desk, clinic.reception, clinic.reception
            if answered:
                operator = rng.choice(clinic.admins)
        if answered:
            answered_at = started + timedelta(seconds=rng.randint(3, 30))
            ended = answered_at + timedelta(seconds=rng.randint(10, 600))
        else:
            ended = started + timedelta(seconds=rng.randint(5, 60))
        calls.append(
            GeneratedCall(
                call_id=f"{prefix}-{n:04d}",
                call_type=kind,
                clinic=clinic,
                src=src,
                dst=dst,
                started_at=started,
                ended_at=ended,
                answered_at=answered_at,
                operator_id=operator,
                ringing_extension=ringing,
                written_number=_written(rng, number) if number else None,
            )
        )
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    return calls


def pbx_events(call: GeneratedCall) -> list[dict[str, Any]]:
    """The call's events in the generic JSON webhook format, in the order they happened."""
    zone = ZoneInfo(call.clinic.time_zone)

    def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        body = {
            "type": f"call.{kind}",
            "call_id": call.call_id,
            "event_id": f"{call.call_id}:{kind}",
            "timestamp": at.astimezone(zone).isoformat(),
        }
        body.update({k: v for k, v in fields.items() if v is not None})
        return body

    if call.call_type == "incoming":
        start = event(
            "started",
            call.started_at,
            extension=call.ringing_extension,
            **{"from": call.written_number, "to": call.clinic.did, "did": call.clinic.did},
        )
    elif call.call_type == "outgoing":
        start = event(
            "started",
            call.started_at,
            extension=call.src,
            **{"from": call.src, "to": call.written_number},
        )
    else:
        start = event("started", call.started_at, **{"from": call.src, "to": call.dst})
    events = [start]
    if call.ringing_extension is not None:
        events.append(
            event(
                "ringing", call.started_at + timedelta(seconds=1), extension=call.ringing_extension
            )
        )
    if call.answered_at is not None:
        answering = call.ringing_extension or call.src
        events.append(
            event("answered", call.answered_at, extension=answering, operator_id=call.operator_id)
        )
    status = "answered" if call.answered_at is not None else "no_answer"
    recording = f"https://pbx.example/rec/{call.call_id}.mp3" if call.answered_at else None
    events.append(event("ended", call.ended_at, status=status, recording_url=recording))
    return events


def pbx_batches(
    calls: list[GeneratedCall], *, seed: int, calls_per_batch: int = 4
) -> list[list[dict[str, Any]]]:
    """Webhook request bodies for ``calls``: a few calls' events interleaved per request,
    about one call in eight with two of its events swapped, one in eight with an event sent
    twice (half of those again in the next request)."""
    rng = random.Random(seed * 7919 + 1)
    batches: list[list[dict[str, Any]]] = []
    carried: list[dict[str, Any]] = []
    for first in range(0, len(calls), calls_per_batch):
        queues = []
        for call in calls[first : first + calls_per_batch]:
            events = pbx_events(call)
            if rng.random() < 0.125:
                i = rng.randrange(len(events) - 1)
                events[i], events[i + 1] = events[i + 1], events[i]
            queues.append(events)
        body = list(carried)
        carried = []
        while any(queues):
            queue = rng.choice([q for q in queues if q])
            body.append(queue.pop(0))
        for call_events in (pbx_events(c) for c in calls[first : first + calls_per_batch]):
            if rng.random() < 0.125:
                again = dict(rng.choice(call_events))
                if rng.random() < 0.5:
                    body.insert(rng.randrange(len(body) + 1), again)
                else:
                    carried.append(again)
        batches.append(body)
    if carried:
        batches.append(carried)
    return batches


def _figures(calls: list[GeneratedCall]) -> dict[str, Any]:
    answered = [c for c in calls if c.answered_at is not None]
    return {
        "count": len(calls),
        "answered": len(answered),
        "missed": len(calls) - len(answered),
        "avg_talk_seconds": (
            sum(c.talk_seconds for c in answered) / len(answered) if answered else None
        ),
        "avg_wait_seconds": sum(c.wait_seconds for c in calls) / len(calls) if calls else None,
    }


def report_figures(calls: list[GeneratedCall]) -> dict[str, dict[str, Any]]:
    """One calls-report row's figures: per call type and in total."""
    out = {
        kind: _figures([c for c in calls if c.call_type == kind])
        for kind in ("incoming", "outgoing", "internal")
    }
    out["total"] = _figures(calls)
    return out


@dataclass
class Expected:
    """What the call log, the calls report and the touches must show for ``calls``."""

    calls: list[GeneratedCall]
    bookings: dict[str, str] = field(default_factory=dict)
    """Call id → the appointment booked during that call (its touch must link it)."""

    def called_back(self) -> dict[str, str | None]:
        """Missed incoming call → the call that called it back (the documented rule: the
        earliest later call within 24 h that is an outgoing call to the caller's number or
        an answered incoming call from it)."""
        out: dict[str, str | None] = {}
        for missed in self.calls:
            if missed.call_type != "incoming" or missed.answered_at is not None:
                continue
            best: tuple[timedelta, str] | None = None
            for other in self.calls:
                reaches = (other.call_type == "outgoing" and other.dst == missed.src) or (
                    other.call_type == "incoming"
                    and other.answered_at is not None
                    and other.src == missed.src
                )
                delay = other.started_at - missed.started_at
                later = timedelta(0) < delay <= timedelta(hours=24)
                if reaches and later and (best is None or (delay, other.call_id) < best):
                    best = (delay, other.call_id)
            out[missed.call_id] = best[1] if best else None
        return out

    def call_log(self) -> dict[str, dict[str, Any]]:
        """Call id → the call log columns a manager reads."""
        callbacks = self.called_back()
        return {
            c.call_id: {
                "call_type": c.call_type,
                "clinic_id": c.clinic.clinic_id,
                "src": c.src,
                "dst": c.dst,
                "disposition": c.disposition,
                "admin_id": c.operator_id,
                "wait_seconds": c.wait_seconds,
                "talk_seconds": c.talk_seconds,
                "total_seconds": c.total_seconds,
                # The browser never gets the PBX's URL: the call log says there is a
                # recording and the platform streams it.
                "has_recording": c.answered_at is not None,
                "called_back": callbacks.get(c.call_id) is not None,
                "callback_call_id": callbacks.get(c.call_id),
            }
            for c in self.calls
        }

    def report(
        self, group_by: str, day: date | None = None
    ) -> dict[tuple[Any, ...], dict[str, dict[str, Any]]]:
        """Row key → figures, for ``group_by`` ``day``, ``hour`` or ``employee_day``. With
        ``day`` (the report's period), by day and by hour every bucket of that day is a row,
        zero where nothing happened: each clock hour that exists in one of the calls'
        clinic zones that day."""
        groups: dict[tuple[Any, ...], list[GeneratedCall]] = defaultdict(list)
        if day is not None and group_by == "day":
            groups[(day.isoformat(),)] = []
        if day is not None and group_by == "hour":
            for zone in {ZoneInfo(c.clinic.time_zone) for c in self.calls}:
                start = datetime.combine(day, time(0), zone).astimezone(UTC)
                end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
                while start < end:
                    groups[(day.isoformat(), start.astimezone(zone).hour)] = []
                    start += timedelta(minutes=15)
        for c in self.calls:
            local = c.local_start
            if group_by == "day":
                key: tuple[Any, ...] = (local.date().isoformat(),)
            elif group_by == "hour":
                key = (local.date().isoformat(), local.hour)
            elif group_by == "employee_day":
                key = (c.operator_id, local.date().isoformat())
            else:
                raise ValueError(group_by)
            groups[key].append(c)
        return {key: report_figures(group) for key, group in groups.items()}

    def touches_per_number(self) -> Counter[str]:
        """E.164 number → how many touches (one per external call)."""
        return Counter(c.outside_number for c in self.calls if c.outside_number is not None)

    def popup_states(self) -> dict[str, str]:
        """Call id → notify's pop-up state once the call ended: incoming calls pop up and
        are closed, other calls never pop up."""
        return {c.call_id: "closed" if c.call_type == "incoming" else "ignored" for c in self.calls}
