"""A generated month of a clinic chain's calls, projected by analytics through real Kafka.

The :class:`World` is plain data: clinics, operators and calls with their touches and tags,
and the canonical events that tell the story, published straight onto this run's topics.
Everything the tests expect is computed here from that plain data with plain Python
(zoneinfo for clinic-local time, a brute-force search for call-backs), never with the
service's code.

The events are published in three phases, each waited for, so that the projection sees
them out of order across topics for sure: touches and a tag before their calls; calls;
then a clinic's time zone after its calls, operator names after their calls, touches
after their calls, touch updates, a missed call after the call that calls it back,
stale directory events, duplicates (same event again, and the same facts under a new
event id) and a message that is not an event at all.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

DEFAULT_ZONE = "Europe/Moscow"
WINDOW = timedelta(hours=24)
CALL_TYPES = ("incoming", "outgoing", "internal")
TAG_POOL = ("angry", "booking", "complaint", "price")


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class Touch:
    """A touch's final state (what the projection must end up with)."""

    touch_id: str
    contact: tuple[str, str, str] | None  # (id, kind, display name)
    operator_id: str | None


@dataclass
class Call:
    """One generated call and everything the call log should say about it."""

    call_id: str
    call_type: str
    src: str
    dst: str
    extension: str | None
    clinic_id: str | None
    started_at: datetime
    disposition: str
    wait_seconds: int
    talk_seconds: int
    operator_id: str | None = None
    recording_url: str | None = None
    touch: Touch | None = None
    tags: dict[str, list[str]] = field(default_factory=dict)  # source -> tags
    did: str | None = None  # the public number an incoming call came in on

    @property
    def answered_at(self) -> datetime | None:
        if self.disposition != "answered":
            return None
        return self.started_at + timedelta(seconds=self.wait_seconds)

    @property
    def total_seconds(self) -> int:
        return self.wait_seconds + self.talk_seconds

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.total_seconds)


@dataclass
class Booking:
    """An appointment booked during a call (``call_id``) or from a touch (``touch_id``)."""

    appointment_id: str
    call_id: str | None
    touch_id: str | None
    booked_at: datetime
    cancelled_at: datetime | None = None


@dataclass
class World:
    """The generated chain, its calls, and the expectations computed from them."""

    calls: list[Call]
    clinic_zones: dict[str, str]
    clinic_names: dict[str, str]
    operator_names: dict[str, str]
    bookings: list[Booking] = field(default_factory=list)
    did_descriptions: dict[str, str] = field(default_factory=dict)

    def appointments(self, call: Call) -> list[Booking]:
        """The call's appointments: booked during it, or from its touch without naming a
        call (one naming a call belongs to that call)."""
        touch_id = call.touch.touch_id if call.touch else None
        return [
            b
            for b in self.bookings
            if b.call_id == call.call_id
            or (b.call_id is None and touch_id is not None and b.touch_id == touch_id)
        ]

    # -- per-call expectations ---------------------------------------------------------

    def zone(self, call: Call) -> str:
        return self.clinic_zones.get(call.clinic_id or "", DEFAULT_ZONE)

    def local(self, call: Call) -> datetime:
        return call.started_at.astimezone(ZoneInfo(self.zone(call)))

    def admin_id(self, call: Call) -> str | None:
        if call.operator_id:
            return call.operator_id
        return call.touch.operator_id if call.touch else None

    def tags(self, call: Call) -> list[str]:
        return sorted({tag for tags in call.tags.values() for tag in tags})

    def callback(self, call: Call) -> tuple[str, int] | None:
        """Brute force over every call: the earliest call to or from the number."""
        if call.call_type != "incoming" or call.disposition != "missed":
            return None
        found = []
        for other in self.calls:
            reaches = (other.call_type == "outgoing" and other.dst == call.src) or (
                other.call_type == "incoming"
                and other.disposition == "answered"
                and other.src == call.src
            )
            delay = other.started_at - call.started_at
            if reaches and timedelta(0) < delay <= WINDOW:
                found.append((delay, other.call_id))
        if not found:
            return None
        delay, call_id = min(found)
        return call_id, int(delay.total_seconds())

    def row(self, call: Call) -> dict[str, Any]:
        """The call log item the API should return for ``call``."""
        admin_id = self.admin_id(call)
        admin_name = self.operator_names.get(admin_id) if admin_id else None
        callback = self.callback(call)
        contact = call.touch.contact if call.touch else None
        return {
            "call_id": call.call_id,
            "started_at": call.started_at.isoformat().replace("+00:00", "Z"),
            "started_at_local": self.local(call).isoformat(),
            "time_zone": self.zone(call),
            "clinic_id": call.clinic_id,
            "clinic_name": self.clinic_names.get(call.clinic_id or ""),
            "call_type": call.call_type,
            "src": call.src,
            "dst": call.dst,
            "disposition": call.disposition,
            "admin": admin_name or admin_id,
            "admin_id": admin_id,
            "admin_name": admin_name,
            "extension": call.extension,
            "contact_id": contact[0] if contact else None,
            "contact_kind": contact[1] if contact else None,
            "contact_name": contact[2] if contact else None,
            "talk_seconds": call.talk_seconds,
            "wait_seconds": call.wait_seconds,
            "total_seconds": call.total_seconds,
            "has_recording": call.recording_url is not None,
            "recording": (
                f"/api/analytics/calls/{quote(call.call_id, safe='')}/recording"
                if call.recording_url
                else None
            ),
            "tags": self.tags(call),
            "called_back": callback is not None,
            "callback_call_id": callback[0] if callback else None,
            "callback_delay_seconds": callback[1] if callback else None,
        }

    def select(self, predicate: Callable[[Call], bool]) -> list[Call]:
        return [c for c in self.calls if predicate(c)]

    # -- report expectations -----------------------------------------------------------

    def zones(self, clinics: Iterable[str] | None = None) -> set[str]:
        """The zones a report over ``clinics`` (every clinic when none) covers: the
        clinics' own, and the default zone of calls whose clinic's zone is unknown."""
        if not clinics:
            return {*self.clinic_zones.values(), DEFAULT_ZONE}
        return {self.clinic_zones.get(clinic, DEFAULT_ZONE) for clinic in clinics}

    @staticmethod
    def buckets(
        group_by: str, start: datetime, end: datetime, zones: Iterable[str]
    ) -> set[tuple[Any, ...]]:
        """Every clinic-local day or hour a clock in one of ``zones`` shows during the
        period: local bounds (naive: wall-clock time in each zone) or instants (aware).
        Found by walking the UTC timeline in quarter hours, never by asking whether a
        local time exists."""
        instants = start.tzinfo is not None
        moment = start if instants else start.replace(tzinfo=UTC) - timedelta(hours=15)
        stop = end if instants else end.replace(tzinfo=UTC) + timedelta(hours=15)
        found: set[tuple[Any, ...]] = set()
        while moment < stop:
            for zone in zones:
                local = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
                if instants or start <= local < end:
                    day = local.date().isoformat()
                    found.add((day,) if group_by == "day" else (day, local.hour))
            moment += timedelta(minutes=15)
        return found

    def report(
        self,
        group_by: str,
        predicate: Callable[[Call], bool],
        period: tuple[datetime | None, datetime | None] = (None, None),
        zones: Iterable[str] | None = None,
    ) -> dict[tuple, dict]:
        """Expected report rows keyed by their group key, from plain Python grouping.

        By day and by hour every bucket of ``period`` is a row, zero without calls; a side
        of the period left open (``None``) ends with the first or last bucket with calls.
        ``zones``: the report's zones (every clinic's by default)."""
        out = self._grouped(group_by, predicate)
        if group_by not in ("day", "hour") or not (out or all(period)):
            return out
        start, end = period
        if start is None or end is None:
            locals_ = [self.local(c).replace(tzinfo=None) for c in self.select(predicate)]
            step = timedelta(days=1) if group_by == "day" else timedelta(hours=1)
            first = min(locals_).replace(minute=0, second=0, microsecond=0)
            last = max(locals_).replace(minute=0, second=0, microsecond=0) + step
            if group_by == "day":
                first, last = first.replace(hour=0), last.replace(hour=0)
            start = start or first
            end = end or last
        zero = {"count": 0, "answered": 0, "missed": 0}
        zero |= {"avg_talk_seconds": None, "avg_wait_seconds": None}
        for key in self.buckets(group_by, start, end, zones or self.zones()):
            out.setdefault(key, {kind: dict(zero) for kind in (*CALL_TYPES, "total")})
        return out

    def group_key(self, group_by: str, call: Call) -> tuple[Any, ...]:
        local = self.local(call)
        admin = self.admin_id(call)
        return {
            "day": (local.date().isoformat(),),
            "hour": (local.date().isoformat(), local.hour),
            "employee_day": (admin, local.date().isoformat()),
            "employee_month": (admin, f"{local.year:04d}-{local.month:02d}"),
            "did": (call.did,),
        }[group_by]

    def kpi(
        self,
        group_by: str,
        predicate: Callable[[Call], bool],
        targets: dict[str, int],
        period: tuple[datetime | None, datetime | None] = (None, None),
        zones: Iterable[str] | None = None,
    ) -> dict[tuple, dict]:
        """Expected service level rows: the queue's figures of each group's incoming calls,
        from the calls themselves (sorted waits, each call against its clinic's target)."""
        calls: dict[tuple, list[Call]] = defaultdict(list)
        for call in self.select(predicate):
            calls[self.group_key(group_by, call)].append(call)
        keys = set(calls) | set(self.report(group_by, predicate, period, zones))
        out = {}
        for key in keys:
            incoming = [c for c in calls.get(key, []) if c.call_type == "incoming"]
            answered = [c for c in incoming if c.disposition == "answered"]
            missed = [c for c in incoming if c.disposition == "missed"]
            within = [c for c in answered if c.wait_seconds <= targets.get(c.clinic_id or "", 20)]
            delays = [cb[1] for c in missed if (cb := self.callback(c)) is not None]
            waits = [c.wait_seconds for c in answered]

            def share(part: int, whole: int) -> float | None:
                return round(part / whole, 4) if whole else None

            out[key] = {
                "incoming": len(incoming),
                "answered": len(answered),
                "missed": len(missed),
                "answered_within_target": len(within),
                "called_back": len(delays),
                "answer_rate": share(len(answered), len(incoming)),
                "abandonment_rate": share(len(missed), len(incoming)),
                "service_level": share(len(within), len(incoming)),
                "avg_speed_of_answer_seconds": sum(waits) / len(waits) if waits else None,
                "p90_speed_of_answer_seconds": nearest_rank(waits, 0.9, WAIT_BOUNDS),
                "callback_rate": share(len(delays), len(missed)),
                "median_callback_delay_seconds": nearest_rank(delays, 0.5, DELAY_BOUNDS),
            }
        return out

    def when(self, predicate: Callable[[Call], bool]) -> dict[tuple[int, int], tuple[int, int]]:
        """Expected "when the calls come" cells: (ISO weekday, clinic-local hour) →
        (incoming, missed) of the selected calls; cells without incoming calls absent.
        The local hour is what the clinic's clock showed (Python's zoneinfo, not SQL)."""
        cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for call in self.select(predicate):
            if call.call_type != "incoming":
                continue
            local = self.local(call)
            cell = cells[(local.isoweekday(), local.hour)]
            cell[0] += 1
            cell[1] += call.disposition == "missed"
        return {key: (incoming, missed) for key, (incoming, missed) in cells.items()}

    def _grouped(self, group_by: str, predicate: Callable[[Call], bool]) -> dict[tuple, dict]:
        groups: dict[tuple, dict[str, dict[str, int]]] = defaultdict(
            lambda: {kind: defaultdict(int) for kind in (*CALL_TYPES, "total")}
        )
        for call in self.select(predicate):
            key = self.group_key(group_by, call)
            for kind in (call.call_type, "total"):
                figures = groups[key][kind]
                figures["count"] += 1
                figures["answered"] += call.disposition == "answered"
                figures["missed"] += call.disposition == "missed"
                figures["talk"] += call.talk_seconds
                figures["wait"] += call.wait_seconds
        out = {}
        for key, kinds in groups.items():
            row = {}
            for kind, f in kinds.items():
                row[kind] = {
                    "count": f["count"],
                    "answered": f["answered"],
                    "missed": f["missed"],
                    "avg_talk_seconds": f["talk"] / f["answered"] if f["answered"] else None,
                    "avg_wait_seconds": f["wait"] / f["count"] if f["count"] else None,
                }
            if group_by.startswith("employee"):
                admin = key[0]
                row["admin_name"] = None if admin is None else self.operator_names.get(admin, admin)
            if group_by == "did":
                row["did_description"] = self.did_descriptions.get(key[0] or "")
            out[key] = row
        return out


# The documented histogram buckets of the service level report (lower bounds, seconds):
# whole seconds up to 120 for waits; above, and for call-back delays, a percentile inside
# a wider bucket is interpolated linearly, and the last bucket is open.
WAIT_BOUNDS = [*range(121), 150, 180, 240, 300, 600]
DELAY_BOUNDS = [0, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800]
DELAY_BOUNDS += [43200, 57600, 72000, 86400]


def nearest_rank(values: list[int], p: float, bounds: list[int]) -> float | None:
    """The ``ceil(p * n)``-th smallest value; where it falls in a bucket wider than a
    second, interpolated between the bucket's bounds by its rank among the bucket's values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-int(p * 10000) * len(ordered) // 10000) or 1
    value = ordered[rank - 1]
    index = max(i for i, low in enumerate(bounds) if low <= value)
    low = bounds[index]
    if index + 1 == len(bounds):
        return float(low)
    high = bounds[index + 1]
    if high - low == 1:
        return float(value)
    inside = [v for v in ordered if low <= v < high]
    before = sum(1 for v in ordered if v < low)
    return round(low + (high - low) * (rank - before) / len(inside), 2)


# ---------------------------------------------------------------------------------------
# Generation

OPERATORS_FIRST = {"op-1": "Анна Петрова", "op-2": "Boris Ivanov", "op-3": "Carla Jones"}
OPERATORS_LATE = {"op-4": "Дмитрий Соколов", "op-5": "Eve Adams", "op-1": "Анна Смирнова"}
NEVER_ANNOUNCED = "op-6"
#: The chain's public numbers and their descriptions (DidChanged): Berlin's is removed
#: later (its calls keep the label); one number is never described.
DID_DESCRIPTIONS = {
    "+74950000001": "Весенняя кампания",
    "+74950000002": "Website, main",
    "+12125550100": "NY subway ads",
    "+493012345678": "Berlin flyer",
}
UNDESCRIBED_DID = "+74950000003"
#: Random incoming calls come in on these in turn (None: the PBX did not say).
INCOMING_DIDS = ["+74950000001", "+74950000002", "+12125550100", UNDESCRIBED_DID, None]
CONTACTS = [
    ("pat-1", "patient", "Мария Кузнецова"),
    ("pat-2", "patient", "John O'Brien"),
    ("pat-3", "patient", "Ольга Анникова"),
    ("lead-1", "lead", 'Lead, "quoted" name'),
    ("lead-2", "lead", "Пётр Ёлкин"),
]
POOL = [f"+7916{n:07d}" for n in range(1000, 1016)] + [f"+1212555{n:04d}" for n in range(100, 106)]
EXTENSIONS = ["101", "102", "103", "104"]


def _special_calls() -> list[Call]:
    """Hand-made calls: DST days in two zones, a fall-back hour, call-back cases."""

    def call(
        call_id: str,
        call_type: str,
        src: str,
        dst: str,
        clinic: str | None,
        at: datetime,
        disposition: str,
        wait: int = 5,
        talk: int = 60,
        operator: str | None = "op-2",
    ) -> Call:
        answered = disposition == "answered"
        dids = {"clinic-ny": "+12125550100", "clinic-berlin": "+493012345678"}
        return Call(
            did=dids.get(clinic or "", "+74950000001") if call_type == "incoming" else None,
            call_id=call_id,
            call_type=call_type,
            src=src,
            dst=dst,
            extension="101",
            clinic_id=clinic,
            started_at=at,
            disposition=disposition,
            wait_seconds=wait,
            talk_seconds=talk if answered else 0,
            operator_id=operator if answered else None,
            recording_url=f"https://pbx.example/rec/{call_id}.mp3" if answered else None,
        )

    ny, be, moscow = "clinic-ny", "clinic-berlin", "clinic-msk"
    us = "+12125550001"
    calls = [
        # New York, 2026-03-08: clocks go from 02:00 EST to 03:00 EDT (a 23-hour day).
        call("ny-0", "incoming", "+12125550009", "101", ny, utc(2026, 3, 8, 4, 59), "answered"),
        call("ny-1", "incoming", "+12125550008", "101", ny, utc(2026, 3, 8, 5, 30), "answered"),
        call("ny-2", "incoming", us, "101", ny, utc(2026, 3, 8, 6, 30), "missed", wait=20),
        call("ny-3", "outgoing", "101", us, ny, utc(2026, 3, 8, 7, 30), "answered", wait=3),
        call(
            "ny-4",
            "incoming",
            "+12125550007",
            "102",
            ny,
            utc(2026, 3, 9, 3, 30),
            "answered",
            operator="op-3",
        ),
        call("ny-5", "internal", "101", "102", ny, utc(2026, 3, 9, 4, 30), "answered"),
        # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        call("be-0", "incoming", "+4930000001", "101", be, utc(2026, 3, 28, 23, 0), "answered"),
        call("be-1", "incoming", "+4930000002", "101", be, utc(2026, 3, 29, 0, 30), "missed"),
        call("be-2", "outgoing", "101", "+4930000003", be, utc(2026, 3, 29, 1, 30), "answered"),
        call("be-3", "incoming", "+4930000004", "102", be, utc(2026, 3, 29, 21, 59), "busy"),
        call("be-4", "incoming", "+4930000005", "101", be, utc(2026, 3, 29, 22, 0), "answered"),
        # Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        call("be-5", "incoming", "+4930000006", "101", be, utc(2026, 10, 25, 0, 30), "answered"),
        call("be-6", "incoming", "+4930000007", "101", be, utc(2026, 10, 25, 1, 30), "missed"),
        # Call-backs (numbers nobody else uses).
        call(
            "cb-c1",
            "outgoing",
            "103",
            "+79169990001",
            moscow,
            utc(2026, 3, 12, 9, 0),
            "missed",
            operator=None,
        ),
        call("cb-m1", "incoming", "+79169990001", "103", moscow, utc(2026, 3, 12, 7, 0), "missed"),
        call("cb-m2", "incoming", "+79169990002", "103", moscow, utc(2026, 3, 13, 7, 0), "missed"),
        call(
            "cb-c2", "incoming", "+79169990002", "103", moscow, utc(2026, 3, 14, 13, 0), "answered"
        ),  # 30 h later: too late
        call("cb-m3", "incoming", "+79169990003", "103", moscow, utc(2026, 3, 15, 7, 0), "missed"),
        call(
            "cb-x3", "incoming", "+79169990003", "103", moscow, utc(2026, 3, 15, 8, 0), "missed"
        ),  # missed again: not a call-back of cb-m3 …
        call(
            "cb-c3", "outgoing", "103", "+79169990003", moscow, utc(2026, 3, 16, 7, 0), "answered"
        ),  # … this is, exactly 24 h later (and 23 h after cb-x3)
        call("cb-m4", "incoming", "+79169990004", "103", None, utc(2026, 3, 17, 7, 0), "missed"),
        call("cb-m4b", "incoming", "+79169990004", "103", None, utc(2026, 3, 17, 7, 30), "missed"),
        call(
            "cb-c4a", "outgoing", "103", "+79169990004", None, utc(2026, 3, 17, 12, 0), "answered"
        ),
        call(
            "cb-c4b",
            "outgoing",
            "103",
            "+79169990004",
            None,
            utc(2026, 3, 17, 8, 0),
            "failed",
            operator=None,
        ),
        call(
            "cb-i5", "internal", "103", "+79169990005", moscow, utc(2026, 3, 18, 8, 0), "answered"
        ),  # an internal call never calls back
        call("cb-m5", "incoming", "+79169990005", "103", moscow, utc(2026, 3, 18, 7, 0), "missed"),
        call(
            "cb-c5", "outgoing", "104", "+79169990005", moscow, utc(2026, 3, 18, 7, 0), "answered"
        ),  # same instant as the missed call: not after it
    ]
    return calls


def generate_world(seed: int = 20260308, size: int = 220) -> World:
    """Special calls plus ``size`` random ones over March 2026."""
    rng = random.Random(seed)
    calls = _special_calls()
    clinics = ["clinic-ny", "clinic-berlin", "clinic-msk", None]
    operators = ["op-1", "op-2", "op-3", "op-4", "op-5", NEVER_ANNOUNCED]
    for n in range(size):
        call_type = rng.choices(CALL_TYPES, weights=(6, 3, 1))[0]
        number = rng.choice(POOL)
        extension = rng.choice(EXTENSIONS)
        if call_type == "incoming":
            src, dst = number, extension
            disposition = rng.choices(
                ("answered", "missed", "busy", "failed"), weights=(6, 3, 1, 1)
            )[0]
        elif call_type == "outgoing":
            src, dst = extension, number
            disposition = rng.choices(("answered", "missed", "busy"), weights=(6, 3, 1))[0]
        else:
            src, dst = extension, rng.choice([e for e in EXTENSIONS if e != extension])
            disposition = rng.choices(("answered", "missed"), weights=(4, 1))[0]
        started = utc(2026, 3, 1) + timedelta(seconds=rng.randrange(0, 30 * 86400))
        answered = disposition == "answered"
        call = Call(
            call_id=f"call-{n:04d}",
            call_type=call_type,
            src=src,
            dst=dst,
            extension=extension,
            clinic_id=rng.choice(clinics),
            started_at=started,
            disposition=disposition,
            wait_seconds=rng.randrange(0, 90),
            talk_seconds=rng.randrange(5, 900) if answered else 0,
            operator_id=rng.choice(operators) if answered else None,
            recording_url=f"https://pbx.example/rec/{n}.mp3" if answered else None,
            did=INCOMING_DIDS[n % len(INCOMING_DIDS)] if call_type == "incoming" else None,
        )
        if call_type != "internal" and rng.random() < 0.7:
            call.touch = Touch(
                touch_id=f"touch-{n:04d}",
                contact=rng.choice(CONTACTS) if rng.random() < 0.8 else None,
                operator_id=rng.choice(operators[:5]) if rng.random() < 0.5 else None,
            )
        if answered and rng.random() < 0.3:
            call.tags["callmarker"] = sorted(rng.sample(TAG_POOL, rng.randrange(1, 3)))
            if rng.random() < 0.3:
                call.tags["qa"] = [rng.choice(TAG_POOL)]
        calls.append(call)
    # A missed call with an assigned (touch) operator: the admin of a call nobody answered.
    next(c for c in calls if c.call_id == "ny-2").touch = Touch("touch-ny-2", CONTACTS[0], "op-5")
    return World(
        calls=calls,
        clinic_zones={"clinic-ny": "America/New_York", "clinic-berlin": "Europe/Berlin"},
        clinic_names={"clinic-ny": "New York Midtown", "clinic-berlin": "Berlin Mitte"},
        operator_names={"op-2": "Boris Ivanov", "op-3": "Carla Jones", **OPERATORS_LATE},
        bookings=generate_bookings(calls, random.Random(seed + 1)),
        did_descriptions=dict(DID_DESCRIPTIONS),
    )


def generate_bookings(calls: list[Call], rng: random.Random) -> list[Booking]:
    """Appointments of the calls: during the call (naming it, and its touch or not), from
    the touch days later, two for one call, some cancelled; a missed call's touch booked
    from later; one booked during a call-back from the first call's touch."""
    bookings: list[Booking] = []
    incoming = [c for c in calls if c.call_type == "incoming"]
    for call in incoming:
        touch_id = call.touch.touch_id if call.touch else None
        if rng.random() < 0.55:
            continue
        how = rng.choice(["during", "during", "from_touch", "call_only", "two"])
        during = call.ended_at - timedelta(seconds=1)
        if how == "from_touch" and touch_id:
            made = [Booking("", None, touch_id, call.ended_at + timedelta(days=2, hours=3))]
        elif how == "call_only":
            made = [Booking("", call.call_id, None, during)]
        elif how == "two":
            made = [
                Booking("", call.call_id, touch_id, during),
                Booking("", None, touch_id, call.ended_at + timedelta(hours=5))
                if touch_id
                else Booking("", call.call_id, None, during),
            ]
        else:
            made = [Booking("", call.call_id, touch_id, during)]
        for booking in made:
            booking.appointment_id = f"appt-{len(bookings):04d}"
            if rng.random() < 0.3:
                booking.cancelled_at = booking.booked_at + timedelta(days=rng.randrange(1, 20))
            bookings.append(booking)
    # Booked during a call-back from an earlier call's touch: the call-back's appointment.
    touched = [c for c in incoming if c.touch and c.disposition == "answered"]
    first, callback = touched[0], touched[1]
    assert first.touch is not None
    bookings.append(
        Booking("appt-callback", callback.call_id, first.touch.touch_id, callback.ended_at)
    )
    return bookings


# ---------------------------------------------------------------------------------------
# Events


def call_events(call: Call) -> list[Any]:
    """The canonical events telephony publishes for ``call``, in order."""
    from switchboard_contracts import CallAnswered, CallRinging, CallStarted

    events: list[Any] = [
        CallStarted(
            call_id=call.call_id,
            direction=call.call_type,  # type: ignore[arg-type]
            caller=call.src,
            callee=call.dst,
            extension=call.extension,
            clinic_id=call.clinic_id,
            started_at=call.started_at,
            did=call.did,
        ),
        CallRinging(
            call_id=call.call_id,
            extension=call.extension or "101",
            ringing_at=call.started_at,
            clinic_id=call.clinic_id,
        ),
    ]
    if call.answered_at is not None:
        events.append(
            CallAnswered(
                call_id=call.call_id,
                answered_at=call.answered_at,
                extension=call.extension,
                operator_id=call.operator_id,
            )
        )
    events.append(ended_event(call))
    return events


def ended_event(call: Call) -> Any:
    from switchboard_contracts import CallEnded

    return CallEnded(
        call_id=call.call_id,
        ended_at=call.ended_at,
        disposition=call.disposition,  # type: ignore[arg-type]
        wait_seconds=call.wait_seconds,
        talk_seconds=call.talk_seconds,
        total_seconds=call.total_seconds,
        recording_url=call.recording_url,
        direction=call.call_type,  # type: ignore[arg-type]
        caller=call.src,
        callee=call.dst,
        extension=call.extension,
        clinic_id=call.clinic_id,
        started_at=call.started_at,
        answered_at=call.answered_at,
        operator_id=call.operator_id,
    )


def _contact(value: tuple[str, str, str] | None) -> Any:
    from switchboard_contracts import TouchContact

    if value is None:
        return None
    return TouchContact(id=value[0], kind=value[1], display_name=value[2])  # type: ignore[arg-type]


@dataclass
class Phases:
    """The envelopes of each publishing phase, and raw extra messages."""

    phases: list[list[Any]] = field(default_factory=lambda: [[], [], []])
    duplicates: list[Any] = field(default_factory=list)
    garbage: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def distinct_event_ids(self) -> set[str]:
        return {str(env.event_id) for phase in self.phases for env in phase}


def plan_phases(world: World, seed: int = 7) -> Phases:
    """Spread the world's events over three phases, out of order across topics."""
    from switchboard_contracts import (
        CallTagged,
        ClinicChanged,
        DidChanged,
        OperatorChanged,
        TouchCreated,
        TouchUpdated,
        make_envelope,
    )

    rng = random.Random(seed)
    plan = Phases()
    first, second, third = plan.phases

    def env(event: Any, at: datetime, producer: str) -> Any:
        return make_envelope(event, producer=producer, occurred_at=at)

    t_dir = utc(2026, 1, 1)
    first.append(
        env(
            ClinicChanged(
                clinic_id="clinic-berlin", name="Berlin Mitte", time_zone="Europe/Berlin"
            ),
            t_dir,
            "booking",
        )
    )
    for operator_id, name in OPERATORS_FIRST.items():
        first.append(
            env(
                OperatorChanged(operator_id=operator_id, name=name, role="call_centre"),
                t_dir,
                "booking",
            )
        )
    # Late: New York's zone after its calls (they were counted in Moscow time meanwhile),
    # new operators and a rename; and stale directory events that must lose.
    third.append(
        env(
            ClinicChanged(
                clinic_id="clinic-ny", name="New York Midtown", time_zone="America/New_York"
            ),
            t_dir,
            "booking",
        )
    )
    third.append(
        env(
            ClinicChanged(clinic_id="clinic-berlin", name="Stale", time_zone="Asia/Tokyo"),
            utc(2025, 12, 1),
            "booking",
        )
    )
    for operator_id, name in OPERATORS_LATE.items():
        third.append(
            env(
                OperatorChanged(operator_id=operator_id, name=name, role="admin"),
                utc(2026, 2, 1),
                "booking",
            )
        )
    third.append(
        env(
            OperatorChanged(operator_id="op-2", name="Boris OLD", role="admin"),
            utc(2025, 6, 1),
            "booking",
        )
    )

    # Public numbers: described before their calls, after them (New York's), removed
    # later (Berlin's: its label stays), and a stale description that must lose.
    def number(did: str, at: datetime, description: str | None, active: bool = True) -> Any:
        event = DidChanged(did=did, description=description, active=active, changed_at=at)
        return env(event, at, "telephony")

    for did, description in DID_DESCRIPTIONS.items():
        (third if did == "+12125550100" else first).append(number(did, t_dir, description))
    third.append(number("+493012345678", utc(2026, 4, 1), "Berlin flyer", active=False))
    third.append(number("+74950000002", utc(2025, 12, 1), "Stale description"))

    late_missed = {"cb-m1", "cb-m4b"}
    calls = list(world.calls)
    rng.shuffle(calls)
    for call in calls:
        target = third if call.call_id in late_missed else second
        for event in call_events(call):
            target.append(env(event, call.started_at, "telephony"))
        for source, tags in call.tags.items():
            tagged = CallTagged(
                call_id=call.call_id,
                tags=tags,
                source=source,
                tagged_at=call.ended_at + timedelta(minutes=5),
            )
            # One tag arrives before its call exists; the rest after.
            early = call.call_id == "call-0001" or (source == "qa" and rng.random() < 0.3)
            (first if early else third).append(env(tagged, tagged.tagged_at, "telephony"))
        touch = call.touch
        if touch is None:
            continue
        when = rng.choice(["before", "after", "updated"])
        created_at = call.started_at + timedelta(seconds=1)
        if when == "updated":
            # Created with a wrong contact and no operator, corrected later.
            created = TouchCreated(
                touch_id=touch.touch_id,
                call_id=call.call_id,
                contact=_contact(rng.choice(CONTACTS)),
                operator_id=None,
                created_at=created_at,
                phone=call.src,
            )
            updated = TouchUpdated(
                touch_id=touch.touch_id,
                call_id=call.call_id,
                contact=_contact(touch.contact),
                operator_id=touch.operator_id,
                status="done",
                updated_at=created_at + timedelta(minutes=3),
            )
            first.append(env(created, created_at, "crm-touch"))
            third.append(env(updated, updated.updated_at, "crm-touch"))
        else:
            created = TouchCreated(
                touch_id=touch.touch_id,
                call_id=call.call_id,
                contact=_contact(touch.contact),
                operator_id=touch.operator_id,
                created_at=created_at,
                phone=call.src,
            )
            (first if when == "before" else third).append(env(created, created_at, "crm-touch"))

    # The same facts again under new event ids (a replayed CallEnded), and exact
    # redeliveries of random envelopes.
    for call in rng.sample(world.calls, 8):
        third.append(env(ended_event(call), call.ended_at, "telephony"))
    plan.duplicates = rng.sample(first + second, 40)
    _plan_bookings(world, plan, random.Random(seed + 1))
    plan.garbage = [
        ("telephony.calls", b"this is not an event"),
        ("crm.touches", b'{"event_type": "TouchCreated", "payload": {}}'),
    ]
    return plan


def _plan_bookings(world: World, plan: Phases, rng: random.Random) -> None:
    """Bookings before or after their calls and touches, each cancellation after its
    booking (one key: Kafka keeps their order), one booking again under a new event id
    and one redelivered as is."""
    from switchboard_contracts import AppointmentBooked, AppointmentCancelled, make_envelope

    first, _, third = plan.phases
    clinic = {c.call_id: c.clinic_id for c in world.calls}
    for booking in world.bookings:
        booked = AppointmentBooked(
            appointment_id=booking.appointment_id,
            client_id="client-1",
            clinic_id=clinic.get(booking.call_id or "") or "clinic-msk",
            practitioner_id="pr-1",
            service_id="sv-1",
            starts_at=booking.booked_at + timedelta(days=3),
            ends_at=booking.booked_at + timedelta(days=3, minutes=30),
            touch_id=booking.touch_id,
            call_id=booking.call_id,
            version=1,
        )
        phase = rng.choice([first, third])
        phase.append(make_envelope(booked, producer="booking", occurred_at=booking.booked_at))
        if booking.cancelled_at is not None:
            cancelled = AppointmentCancelled(
                appointment_id=booking.appointment_id,
                client_id="client-1",
                clinic_id=booked.clinic_id,
                cancelled_at=booking.cancelled_at,
                version=2,
            )
            envelope = make_envelope(
                cancelled, producer="booking", occurred_at=booking.cancelled_at
            )
            phase.append(envelope)
            plan.duplicates.append(envelope)
        if booking.appointment_id == "appt-0001":
            third.append(make_envelope(booked, producer="booking", occurred_at=booking.booked_at))


# ---------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Analytics:
    """The running service, an HTTP client, and session headers per role."""

    client: httpx.AsyncClient
    app: Any
    world: World
    settings_env: dict[str, str]
    headers: dict[str, dict[str, str]]

    async def get(self, url: str, role: str = "manager", **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers[role])

    async def all_calls(self, role: str = "manager", **params: Any) -> list[dict[str, Any]]:
        """Every call log item for ``params``, following the cursors."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = dict(params, limit=params.get("limit", 500))
            if cursor:
                query["cursor"] = cursor
            response = await self.get("/api/analytics/calls", role, **query)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


def role_headers() -> dict[str, dict[str, str]]:
    """A bearer header per role, signed with the service's secret."""
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.auth import Principal, issue_token

    secret = AnalyticsSettings().auth_secret.get_secret_value()
    return {
        role: {
            "Authorization": "Bearer "
            + issue_token(Principal(operator_id=f"u-{role}", name=role, role=role), secret)
        }
        for role in ("admin", "manager", "call_centre", "clinic_staff")
    }


async def publish(
    bootstrap: str, prefix: str, envelopes: Iterable[Any], raw: Iterable[tuple[str, bytes]] = ()
) -> None:
    """Send envelopes (keyed as the contracts say) and raw messages to this run's topics."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send(
                prefix + envelope.topic, envelope.to_bytes(), key=envelope.key.encode()
            )
        for topic, value in raw:
            await producer.send(prefix + topic, value, key=b"garbage")
        await producer.flush()
    finally:
        await producer.stop()


async def processed_count(app: Any) -> int:
    import sqlalchemy as sa

    async with app.state.runtime.sessions() as session:
        return int(await session.scalar(sa.text("SELECT count(*) FROM processed_events")) or 0)


async def projected(app: Any, expected_total: int) -> bool:
    """Whether the projection processed ``expected_total`` events and the roll-ups have
    every change it recorded folded in."""
    import sqlalchemy as sa

    async with app.state.runtime.sessions() as session:
        processed, unfolded = (
            await session.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM processed_events),"
                    " (SELECT count(*) FROM rollup_changes)"
                )
            )
        ).one()
    return bool(processed >= expected_total and unfolded == 0)


async def publish_and_wait(
    app: Any,
    env: dict[str, str],
    envelopes: list[Any],
    expected_total: int,
    raw: Iterable[tuple[str, bytes]] = (),
) -> None:
    """Publish, then wait until the projection processed ``expected_total`` events."""
    from switchboard_runtime.testing import wait_until

    await publish(env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], envelopes, raw)

    async def done() -> bool:
        return await projected(app, expected_total)

    await wait_until(done, timeout=120, interval=0.2, message=f"{expected_total} events projected")


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def analytics(
    settings_env: dict[str, str], run_id: str, running_service: Any
) -> AsyncIterator[Analytics]:
    """Analytics with the generated world projected (in three out-of-order phases).

    Topics, consumer group and database of its own, and stopped after this folder's
    tests: no other package's events reach the world, and this consumer never takes
    partitions from another package's analytics.
    """
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings

    env = dict(settings_env, TOPIC_PREFIX=f"t{run_id}.an.", DATABASE_SUFFIX=f"_an_{run_id}")
    world = generate_world()
    plan = plan_phases(world)
    app = build_app(
        AnalyticsSettings(
            topic_prefix=env["TOPIC_PREFIX"], database_suffix=env["DATABASE_SUFFIX"], log_json=False
        )
    )
    async with running_service(app) as client:
        seen: set[str] = set()
        for number, phase in enumerate(plan.phases):
            seen |= {str(e.event_id) for e in phase}
            extra = plan.duplicates if number == 2 else []
            raw = plan.garbage if number == 2 else ()
            await publish_and_wait(app, env, phase + extra, len(seen), raw)
        yield Analytics(client, app, world, env, role_headers())


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """This module's generators and publishers, for tests that build a world of their own."""
    return SimpleNamespace(
        Call=Call,
        call_events=call_events,
        generate_world=generate_world,
        plan_phases=plan_phases,
        processed_count=processed_count,
        projected=projected,
        publish=publish,
        publish_and_wait=publish_and_wait,
        role_headers=role_headers,
    )
