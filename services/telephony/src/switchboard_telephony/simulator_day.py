"""What a simulated day is made of: the clinic chain, the knobs, and what came out.

:class:`SimulationConfig` says which day to make and how the PBX behaves (the chain it serves
is :class:`SimClinic` each, :data:`DEFAULT_CHAIN` unless told); :class:`SimulatedDay` is the
result of :func:`~.simulator.simulate_day`: the calls as they happened
(:class:`SimulatedCall`) and what the PBX sent about them (:class:`Delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_CHAIN",
    "HOURLY_WEIGHTS",
    "CallKind",
    "Delivery",
    "Disposition",
    "SimClinic",
    "SimulatedCall",
    "SimulatedDay",
    "SimulationConfig",
]


CallKind = Literal["incoming", "outgoing", "internal"]
"""Who started a simulated call: an outside caller, the clinic, or one extension another."""
Disposition = Literal["answered", "missed", "busy"]
"""How a simulated call ended."""


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
