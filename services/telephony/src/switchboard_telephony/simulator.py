"""A clinic chain's day of PBX events, made up but realistic (pure, seeded, reproducible).

:func:`simulate_day` returns what happened (:class:`SimulatedCall`, the truth a test can
check the pipeline against) and what the PBX sends about it (:class:`Delivery`: events of the
generic JSON format, with the moment each is sent), in sending order:

* several clinics, each with its public number (DID) and a reception extension shared by
  several admins (``101`` rings for Anna, Boris and Vera), plus a few other extensions;
* incoming calls arrive on a business-hour curve in each clinic's own time zone (peaks in
  the late morning and mid-afternoon, a lunch dip, a thin night); calls outside opening
  hours are never answered, and during the day a share is missed so that
  ``missed_rate`` of all incoming calls are missed (no answer, the caller giving up, busy);
* ``callback_rate`` of the missed callers are called back from the reception later that day
  (an outgoing call to the same number, written the way the PBX writes it);
* other outgoing calls, internal calls between extensions, transfers from the reception to
  another extension;
* the PBX's lies: ``duplicate_rate`` of the events are sent twice (same ``event_id``), and
  ``late_rate`` are sent late, after events that happened after them.

The same :class:`SimulationConfig` (seed included) always gives the same day. Used by the
``switchboard-telephony simulate`` command, by tests and by ``bench/telephony``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_CHAIN",
    "HOURLY_WEIGHTS",
    "Delivery",
    "SimClinic",
    "SimulatedCall",
    "SimulatedDay",
    "SimulationConfig",
    "simulate_day",
]

CallKind = Literal["incoming", "outgoing", "internal"]
Disposition = Literal["answered", "missed", "busy"]


@dataclass(frozen=True)
class SimClinic:
    """One clinic as the PBX sees it."""

    clinic_id: str
    name: str
    time_zone: str
    did: str
    """The clinic's public number, E.164."""
    reception: str
    """The reception extension, shared by ``admins``."""
    admins: tuple[str, ...]
    """Operator ids of the admins who answer the reception extension."""
    extensions: tuple[str, ...] = ()
    """The clinic's other extensions (doctors' desks, the manager)."""
    weight: float = 1.0
    """Relative share of the chain's incoming calls."""


DEFAULT_CHAIN: tuple[SimClinic, ...] = (
    SimClinic(
        "clinic-msk-arbat",
        "Arbat",
        "Europe/Moscow",
        "+74951230101",
        "101",
        ("op-anna", "op-boris", "op-vera"),
        ("102", "103"),
        weight=3.0,
    ),
    SimClinic(
        "clinic-msk-sokol",
        "Sokol",
        "Europe/Moscow",
        "+74951230111",
        "111",
        ("op-galina", "op-dmitry"),
        ("112",),
        weight=2.0,
    ),
    SimClinic(
        "clinic-spb-nevsky",
        "Nevsky",
        "Europe/Moscow",
        "+78121230121",
        "121",
        ("op-elena", "op-zhanna"),
        ("122",),
        weight=2.0,
    ),
    SimClinic(
        "clinic-kzn",
        "Kazan",
        "Europe/Moscow",
        "+78431230131",
        "131",
        ("op-ilya", "op-kira"),
        ("132",),
        weight=1.5,
    ),
    SimClinic(
        "clinic-ekb",
        "Yekaterinburg",
        "Asia/Yekaterinburg",
        "+73431230141",
        "141",
        ("op-lev", "op-maria"),
        ("142",),
        weight=1.5,
    ),
)
"""A five-clinic chain in two time zones."""

HOURLY_WEIGHTS: tuple[float, ...] = (
    0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.6,  # 00-07: night
    3.0, 7.0, 9.0, 9.0, 7.0, 5.0, 7.0, 8.0,  # 08-15: morning peak, lunch dip
    7.0, 6.0, 4.0, 2.5, 1.0, 0.5, 0.3, 0.2,  # 16-23: afternoon, evening tail
)  # fmt: skip
"""Relative incoming-call arrivals per local hour of the day."""


@dataclass(frozen=True)
class SimulationConfig:
    """What day to make and how the PBX behaves."""

    day: date
    calls: int = 800
    """Calls in the day, all kinds together (incoming, call-backs, outgoing, internal)."""
    seed: int = 1
    clinics: tuple[SimClinic, ...] = DEFAULT_CHAIN
    missed_rate: float = 0.15
    """Share of incoming calls nobody answers (all of those out of hours included)."""
    busy_share: float = 0.1
    """Share of missed calls that end busy (the rest: no answer, or the caller gave up)."""
    callback_rate: float = 0.7
    """Share of missed callers called back later the same day (as the budget allows)."""
    outgoing_rate: float = 0.14
    """Share of the day's calls that are outgoing, call-backs included."""
    internal_rate: float = 0.06
    transfer_rate: float = 0.08
    """Share of answered incoming calls transferred from the reception to an extension."""
    duplicate_rate: float = 0.03
    """Share of events the PBX sends twice."""
    late_rate: float = 0.03
    """Share of events the PBX sends late."""
    late_max_seconds: float = 8.0
    """How late a late event is at most (keep it under the reorder grace for exact output)."""
    open_hour: int = 8
    close_hour: int = 20
    call_id_prefix: str = "sim"
    recording_base_url: str = "https://pbx.example/recordings/"

    def __post_init__(self) -> None:
        rates = {
            "missed_rate": self.missed_rate,
            "busy_share": self.busy_share,
            "callback_rate": self.callback_rate,
            "outgoing_rate": self.outgoing_rate,
            "internal_rate": self.internal_rate,
            "transfer_rate": self.transfer_rate,
            "duplicate_rate": self.duplicate_rate,
            "late_rate": self.late_rate,
        }
        for name, value in rates.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.outgoing_rate + self.internal_rate > 1.0:
            raise ValueError("outgoing_rate + internal_rate must not exceed 1")
        if self.calls < 0:
            raise ValueError("calls must not be negative")
        if not 0 <= self.open_hour < self.close_hour <= 24:
            raise ValueError("need 0 <= open_hour < close_hour <= 24")
        if not self.clinics:
            raise ValueError("at least one clinic")
        if self.late_max_seconds < 0:
            raise ValueError("late_max_seconds must not be negative")


@dataclass(frozen=True)
class SimulatedCall:
    """What really happened on one call (times in UTC)."""

    call_id: str
    kind: CallKind
    clinic_id: str
    caller: str
    """E.164 for outside numbers, the bare extension for internal ones."""
    callee: str
    extension: str
    """The extension that rang (incoming, internal) or dialled (outgoing)."""
    started_at: datetime
    ended_at: datetime
    disposition: Disposition
    answered_at: datetime | None = None
    operator_id: str | None = None
    transferred_to: str | None = None
    callback_of: str | None = None
    """For a call-back: the call id of the missed call it answers."""


@dataclass(frozen=True)
class Delivery:
    """One event as the PBX sends it: ``send_at`` (UTC) is when, ``event`` what."""

    send_at: datetime
    event: dict[str, Any]
    duplicate: bool = False
    """A second sending of an event already sent."""
    late: bool = False
    """Sent later than it should have been."""


@dataclass(frozen=True)
class SimulatedDay:
    """A simulated day: the calls as they happened and the deliveries in sending order."""

    config: SimulationConfig
    calls: list[SimulatedCall]
    deliveries: list[Delivery]
    clinics: dict[str, SimClinic] = field(default_factory=dict)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events in the order the PBX sends them (duplicates and late ones included)."""
        return [d.event for d in self.deliveries]

    def local_start(self, call: SimulatedCall) -> datetime:
        """When ``call`` started, in its clinic's time zone."""
        return call.started_at.astimezone(ZoneInfo(self.clinics[call.clinic_id].time_zone))


# --- generation ---------------------------------------------------------------------------


def simulate_day(config: SimulationConfig) -> SimulatedDay:
    """Make the day described by ``config`` (see the module doc)."""
    return _Generator(config).run()


@dataclass
class _Draft:
    """A call being made up; ``number_as_written`` is the outside number as the PBX writes it."""

    kind: CallKind
    clinic: SimClinic
    started_at: datetime
    caller: str
    callee: str
    extension: str
    number_as_written: str = ""
    disposition: Disposition = "answered"
    end_status: str = "answered"
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    operator_id: str | None = None
    transferred_to: str | None = None
    transferred_at: datetime | None = None
    callback_of: _Draft | None = None
    call_id: str = ""


class _Generator:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - a simulation, not secrets
        self.zones = {c.clinic_id: ZoneInfo(c.time_zone) for c in config.clinics}
        pool_size = max(10, int(config.calls * 0.7))
        # Patients' mobiles; some call more than once in a day.
        self.patients = [f"+79{self.rng.randrange(10**9):09d}" for _ in range(pool_size)]

    def run(self) -> SimulatedDay:
        c = self.config
        n_internal = round(c.calls * c.internal_rate)
        n_outgoing = round(c.calls * c.outgoing_rate)
        n_incoming = c.calls - n_internal - n_outgoing
        incoming = self._incoming(n_incoming)
        callbacks = self._callbacks(incoming, n_outgoing)
        outgoing = [self._outgoing() for _ in range(n_outgoing - len(callbacks))]
        internal = [self._internal() for _ in range(n_internal)]
        drafts = sorted(
            incoming + callbacks + outgoing + internal, key=lambda d: (d.started_at, d.caller)
        )
        for index, draft in enumerate(drafts):
            draft.call_id = f"{c.call_id_prefix}-{c.day:%Y%m%d}-{c.seed}-{index:05d}"
        calls = [self._truth(d) for d in drafts]
        deliveries = self._deliveries(drafts)
        return SimulatedDay(
            config=c,
            calls=calls,
            deliveries=deliveries,
            clinics={cl.clinic_id: cl for cl in c.clinics},
        )

    # --- when ---------------------------------------------------------------------------------

    def _local_moment(self, clinic: SimClinic, hours: Sequence[int] | None = None) -> datetime:
        """A moment of the day in the clinic's zone, drawn from the arrival curve."""
        allowed = list(range(24)) if hours is None else list(hours)
        weights = [HOURLY_WEIGHTS[h] for h in allowed]
        hour = self.rng.choices(allowed, weights=weights)[0]
        second = self.rng.uniform(0, 3600)
        local = datetime.combine(self.config.day, time(hour), tzinfo=self.zones[clinic.clinic_id])
        return (local + timedelta(seconds=second)).astimezone(UTC)

    def _in_hours(self, clinic: SimClinic, at: datetime) -> bool:
        local = at.astimezone(self.zones[clinic.clinic_id])
        return self.config.open_hour <= local.hour < self.config.close_hour

    def _open_hours(self) -> range:
        return range(self.config.open_hour, self.config.close_hour)

    def _clinic(self) -> SimClinic:
        clinics = self.config.clinics
        return self.rng.choices(clinics, weights=[cl.weight for cl in clinics])[0]

    # --- kinds of calls ---------------------------------------------------------------------

    def _incoming(self, count: int) -> list[_Draft]:
        drafts = []
        for _ in range(count):
            clinic = self._clinic()
            caller = self.rng.choice(self.patients)
            drafts.append(
                _Draft(
                    kind="incoming",
                    clinic=clinic,
                    started_at=self._local_moment(clinic),
                    caller=caller,
                    callee=clinic.did,
                    extension=clinic.reception,
                    number_as_written=self._written(caller),
                )
            )
        drafts.sort(key=lambda d: d.started_at)
        # Nobody answers out of hours; during the day a share is missed so that, overall,
        # missed_rate of incoming calls are missed.
        opened = [i for i, d in enumerate(drafts) if self._in_hours(d.clinic, d.started_at)]
        closed = len(drafts) - len(opened)
        wanted = round(self.config.missed_rate * len(drafts)) - closed
        missed_in_hours = set(self.rng.sample(opened, min(len(opened), max(0, wanted))))
        for index, draft in enumerate(drafts):
            if index in missed_in_hours or not self._in_hours(draft.clinic, draft.started_at):
                self._miss(draft)
            else:
                self._answer(draft, self.rng.choice(draft.clinic.admins), wait=(2, 25))
                if draft.clinic.extensions and self.rng.random() < self.config.transfer_rate:
                    self._transfer(draft, self.rng.choice(draft.clinic.extensions))
        return drafts

    def _callbacks(self, incoming: list[_Draft], budget: int) -> list[_Draft]:
        drafts: list[_Draft] = []
        for missed in incoming:
            if len(drafts) >= budget:
                break
            if missed.disposition == "answered" or self.rng.random() >= self.config.callback_rate:
                continue
            clinic = missed.clinic
            assert missed.ended_at is not None
            at = missed.ended_at + timedelta(minutes=self.rng.uniform(2, 45))
            zone = self.zones[clinic.clinic_id]
            opens = datetime.combine(self.config.day, time(self.config.open_hour), tzinfo=zone)
            at = max(at, opens.astimezone(UTC) + timedelta(minutes=self.rng.uniform(1, 30)))
            if not self._in_hours(clinic, at) or at.astimezone(zone).date() != self.config.day:
                continue  # too late today: tomorrow's problem, not this day's
            draft = _Draft(
                kind="outgoing",
                clinic=clinic,
                started_at=at,
                caller=clinic.reception,
                callee=missed.caller,
                extension=clinic.reception,
                number_as_written=self._written(missed.caller),
                callback_of=missed,
            )
            if self.rng.random() < 0.75:
                self._answer(draft, self.rng.choice(clinic.admins), wait=(4, 20))
            else:
                self._miss(draft, statuses=("no_answer",))
            drafts.append(draft)
        return drafts

    def _outgoing(self) -> _Draft:
        clinic = self._clinic()
        number = self.rng.choice(self.patients)
        extension = self.rng.choice((clinic.reception, *clinic.extensions))
        draft = _Draft(
            kind="outgoing",
            clinic=clinic,
            started_at=self._local_moment(clinic, self._open_hours()),
            caller=extension,
            callee=number,
            extension=extension,
            number_as_written=self._written(number),
        )
        if self.rng.random() < 0.8:
            operator = self.rng.choice(clinic.admins) if extension == clinic.reception else None
            self._answer(draft, operator, wait=(4, 25))
        else:
            self._miss(draft, statuses=("no_answer", "busy"))
        return draft

    def _internal(self) -> _Draft:
        clinic = self._clinic()
        phones = (clinic.reception, *clinic.extensions)
        caller = self.rng.choice(phones)
        others = [p for p in phones if p != caller] or [
            cl.reception for cl in self.config.clinics if cl.reception != caller
        ]
        callee = self.rng.choice(others) if others else caller
        draft = _Draft(
            kind="internal",
            clinic=clinic,
            started_at=self._local_moment(clinic, self._open_hours()),
            caller=caller,
            callee=callee,
            extension=callee,
        )
        if self.rng.random() < 0.85:
            target = next((cl for cl in self.config.clinics if cl.reception == callee), None)
            operator = self.rng.choice(target.admins) if target else None
            self._answer(draft, operator, wait=(2, 12))
        else:
            self._miss(draft, statuses=("no_answer",))
        return draft

    # --- how a call goes --------------------------------------------------------------------

    def _answer(self, draft: _Draft, operator: str | None, wait: tuple[float, float]) -> None:
        answered = draft.started_at + timedelta(seconds=self.rng.uniform(*wait))
        # Talk times are long-tailed: most calls a couple of minutes, a few twenty.
        talk = min(1800.0, max(8.0, self.rng.lognormvariate(math.log(110), 0.7)))
        draft.disposition = "answered"
        draft.end_status = "answered"
        draft.answered_at = answered
        draft.operator_id = operator
        draft.ended_at = answered + timedelta(seconds=talk)

    def _miss(self, draft: _Draft, statuses: Sequence[str] | None = None) -> None:
        if statuses is None:
            status = (
                "busy"
                if self.rng.random() < self.config.busy_share
                else self.rng.choice(("no_answer", "no_answer", "cancel"))
            )
        else:
            status = self.rng.choice(tuple(statuses))
        ring = {"busy": (1, 3), "cancel": (3, 20), "no_answer": (20, 60)}[status]
        draft.disposition = "busy" if status == "busy" else "missed"
        draft.end_status = status
        draft.ended_at = draft.started_at + timedelta(seconds=self.rng.uniform(*ring))

    def _transfer(self, draft: _Draft, target: str) -> None:
        assert draft.answered_at is not None and draft.ended_at is not None
        talk = (draft.ended_at - draft.answered_at).total_seconds()
        draft.transferred_to = target
        draft.transferred_at = draft.answered_at + timedelta(seconds=talk * 0.3)

    def _written(self, e164: str) -> str:
        """A Russian number the way PBXes write it: with +7, 8, 7, or spaced and dashed."""
        national = e164.removeprefix("+7")
        style = self.rng.randrange(4)
        if style == 0:
            return e164
        if style == 1:
            return "8" + national
        if style == 2:
            return "7" + national
        return f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"

    # --- what the PBX says --------------------------------------------------------------------

    def _truth(self, d: _Draft) -> SimulatedCall:
        assert d.ended_at is not None
        return SimulatedCall(
            call_id=d.call_id,
            kind=d.kind,
            clinic_id=d.clinic.clinic_id,
            caller=d.caller,
            callee=d.callee,
            extension=d.extension,
            started_at=d.started_at,
            ended_at=d.ended_at,
            disposition=d.disposition,
            answered_at=d.answered_at,
            operator_id=d.operator_id,
            transferred_to=d.transferred_to,
            callback_of=d.callback_of.call_id if d.callback_of else None,
        )

    def _events(self, d: _Draft) -> list[tuple[datetime, dict[str, Any]]]:
        zone = self.zones[d.clinic.clinic_id]

        def event(kind: str, at: datetime, **fields: Any) -> tuple[datetime, dict[str, Any]]:
            body = {
                "type": f"call.{kind}",
                "call_id": d.call_id,
                "event_id": f"{d.call_id}:{kind}",
                # The PBX writes its local time with the offset, to the millisecond.
                "timestamp": at.astimezone(zone).isoformat(timespec="milliseconds"),
            }
            body.update({k: v for k, v in fields.items() if v is not None})
            return at, body

        out = []
        if d.kind == "incoming":
            out.append(
                event(
                    "started",
                    d.started_at,
                    **{"from": d.number_as_written, "to": d.clinic.did, "did": d.clinic.did},
                    extension=d.extension,
                )
            )
        elif d.kind == "outgoing":
            out.append(
                event(
                    "started",
                    d.started_at,
                    **{"from": d.caller, "to": d.number_as_written},
                    extension=d.extension,
                )
            )
        else:
            out.append(event("started", d.started_at, **{"from": d.caller, "to": d.callee}))
        if d.kind != "outgoing":
            ring_at = d.started_at + timedelta(milliseconds=self.rng.randint(200, 900))
            out.append(event("ringing", ring_at, extension=d.extension))
        if d.answered_at is not None:
            out.append(
                event("answered", d.answered_at, extension=d.extension, operator_id=d.operator_id)
            )
        if d.transferred_to is not None and d.transferred_at is not None:
            out.append(
                event(
                    "transferred",
                    d.transferred_at,
                    extension=d.extension,
                    to_extension=d.transferred_to,
                )
            )
        assert d.ended_at is not None
        recording = (
            f"{self.config.recording_base_url}{d.call_id}.mp3"
            if d.disposition == "answered"
            else None
        )
        out.append(event("ended", d.ended_at, status=d.end_status, recording_url=recording))
        return out

    def _deliveries(self, drafts: list[_Draft]) -> list[Delivery]:
        c = self.config
        items: list[tuple[datetime, int, Delivery]] = []
        sequence = 0
        for draft in drafts:
            for at, body in self._events(draft):
                send_at = at + timedelta(milliseconds=self.rng.randint(20, 400))
                late = self.rng.random() < c.late_rate
                if late:
                    lateness = self.rng.uniform(min(1.0, c.late_max_seconds), c.late_max_seconds)
                    send_at += timedelta(seconds=lateness)
                items.append((send_at, sequence, Delivery(send_at, body, late=late)))
                sequence += 1
                if self.rng.random() < c.duplicate_rate:
                    again = send_at + timedelta(seconds=self.rng.uniform(0.2, 20.0))
                    items.append((again, sequence, Delivery(again, dict(body), duplicate=True)))
                    sequence += 1
        items.sort(key=lambda item: (item[0], item[1]))
        return [delivery for _, _, delivery in items]
