"""The plain data telephony's state machine works on.

:class:`PbxEvent` is one raw PBX event after an adapter has read it; :class:`Directory` and
:class:`Timing` are the configuration the rules need; :class:`CallState` is everything known
about one call, stored between events (as JSON, in a PostgreSQL JSONB column).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import switchboard_phones as phones
from switchboard_contracts import CallAnswered, CallDirection, CallEnded, CallStarted

__all__ = [
    "PBX_EVENT_KINDS",
    "STATE_FORMAT",
    "CallState",
    "Directory",
    "Fact",
    "PbxEvent",
    "PbxEventKind",
    "Timing",
]

PbxEventKind = Literal["started", "ringing", "answered", "ended", "transferred"]
"""What a raw PBX event says happened."""

PBX_EVENT_KINDS: tuple[str, ...] = get_args(PbxEventKind)

STATE_FORMAT = 1
"""Version of :meth:`CallState.to_dict`'s layout, stored with it."""


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _dt(value: str) -> datetime:
    return _aware_utc(datetime.fromisoformat(value), "timestamp")


_OPTIONAL_EVENT_FIELDS = (
    "caller",
    "callee",
    "did",
    "extension",
    "to_extension",
    "operator_id",
    "end_status",
    "recording_url",
)


@dataclass(frozen=True, slots=True)
class PbxEvent:
    """One raw PBX event as an adapter read it, before any rule is applied.

    ``at`` is when it happened, in UTC, with the PBX clock's configured lag already
    corrected. Numbers are as the PBX wrote them; the state machine normalises them.
    """

    source_key: str
    """Dedupe key of the raw event (the PBX's event id, or a hash of its content)."""
    kind: PbxEventKind
    call_id: str
    at: datetime
    caller: str | None = None
    callee: str | None = None
    did: str | None = None
    """The dialled public number, when the PBX gives it apart from ``callee``."""
    extension: str | None = None
    """The ringing, answering or dialling extension; for ``transferred`` the source."""
    to_extension: str | None = None
    """The transfer target (``transferred`` only)."""
    operator_id: str | None = None
    end_status: str | None = None
    """The PBX's own word for how the call ended ("answered", "no_answer", "busy", ...)."""
    recording_url: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PBX_EVENT_KINDS:
            raise ValueError(f"unknown PBX event kind {self.kind!r}")
        if not self.source_key:
            raise ValueError("source_key must not be empty")
        if not self.call_id:
            raise ValueError("call_id must not be empty")
        # Frozen dataclass: normalising the timestamp needs the base-class setter.
        object.__setattr__(self, "at", _aware_utc(self.at, "at"))

    def to_dict(self) -> dict[str, Any]:
        """This event as a JSON-able dict (the inverse of :meth:`from_dict`); absent fields
        are left out (a call's state is written on every batch that touches the call, and
        most of an event's fields are absent)."""
        data: dict[str, Any] = {
            "source_key": self.source_key,
            "kind": self.kind,
            "call_id": self.call_id,
            "at": self.at.isoformat(),
        }
        for name in _OPTIONAL_EVENT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PbxEvent:
        """Read an event written by :meth:`to_dict`."""
        return cls(
            source_key=data["source_key"],
            kind=data["kind"],
            call_id=data["call_id"],
            at=_dt(data["at"]),
            caller=data.get("caller"),
            callee=data.get("callee"),
            did=data.get("did"),
            extension=data.get("extension"),
            to_extension=data.get("to_extension"),
            operator_id=data.get("operator_id"),
            end_status=data.get("end_status"),
            recording_url=data.get("recording_url"),
        )


class _CanonicalForm(str):
    """A number already in canonical form, handed to :func:`_canonical` to be remembered as
    its own answer without a parse: it hashes and compares as the plain string, so the
    cache entry it makes answers the plain string's later lookups."""

    __slots__ = ()


@functools.lru_cache(maxsize=65_536)
def _canonical(raw: str, region: str, extensions: frozenset[str], max_digits: int) -> str:
    # Every event of a call names the same parties, and a chain's callers ring again:
    # remember the answers (pure in its arguments) instead of parsing each time. The answer
    # is remembered as its own answer too (the canonical form reads as itself): the rules
    # look at a number again once canonical (is the caller one of our DIDs?), and that
    # second reading was a second parse of every new caller (the phone library's own cache
    # is keyed by what it parsed, so it misses too).
    if isinstance(raw, _CanonicalForm):
        return str(raw)
    number = phones.canonical(raw, region, extensions=extensions, max_extension_digits=max_digits)
    _canonical(_CanonicalForm(number), region, extensions, max_digits)
    return number


@dataclass(frozen=True, slots=True)
class Directory:
    """What the rules need to know about the chain's numbers, and the rules on them.

    ``did_to_clinic`` is keyed by E.164 DIDs; ``extensions`` and ``extension_to_clinic`` by
    bare extensions. A digits-only number of at most ``max_extension_digits`` digits is an
    extension even when it is not listed. Numbers are read by the platform's phone library
    (``switchboard_phones``) in ``default_region``.
    """

    default_region: str = "RU"
    extensions: frozenset[str] = frozenset()
    did_to_clinic: Mapping[str, str] = field(default_factory=dict)
    extension_to_clinic: Mapping[str, str] = field(default_factory=dict)
    max_extension_digits: int = 5

    def canonical(self, raw: str) -> str:
        """The one form of a party as the PBX wrote it ("+7 (495) 123-45-67", "84951234567",
        "sip:101@pbx.local"): the bare extension, or E.164 for an outside number. Raises
        :class:`switchboard_phones.InvalidPhoneNumber` for anything else ("anonymous")."""
        return _canonical(raw, self.default_region, self.extensions, self.max_extension_digits)

    def is_extension(self, number: str) -> bool:
        """Whether ``number`` (raw or canonical) is an internal extension: ASCII digits only,
        and listed or no longer than ``max_extension_digits``."""
        return phones.is_extension(
            number, extensions=self.extensions, max_digits=self.max_extension_digits
        )

    def is_own_did(self, number: str) -> bool:
        """Whether ``number`` is one of the chain's public numbers (a DID)."""
        try:
            return self.canonical(number) in self.did_to_clinic
        except phones.InvalidPhoneNumber:
            return False

    def call_direction(self, caller: str, callee: str) -> CallDirection:
        """Who started a call, judged from its two numbers.

        An extension (or one of the chain's own DIDs, which some PBXes present as the caller
        of outbound calls) calling an extension is ``internal``, calling anything else
        ``outgoing``; a call from any other number, or from an unknown one (``""``), is
        ``incoming``.
        """
        if caller and (self.is_extension(caller) or self.is_own_did(caller)):
            return "internal" if callee and self.is_extension(callee) else "outgoing"
        return "incoming"


@dataclass(frozen=True, slots=True)
class Timing:
    """The state machine's clocks."""

    reorder_grace: timedelta = timedelta(seconds=10)
    """How long to wait for a missing earlier event before going on with what is known."""
    no_end_timeout: timedelta = timedelta(hours=2)
    """A call with no end this long after its start is closed as failed ("timeout")."""


@dataclass(frozen=True, slots=True)
class Fact:
    """A PBX event the state machine kept, with the processing time it arrived at."""

    event: PbxEvent
    received_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """This fact as a JSON-able dict."""
        return {"event": self.event.to_dict(), "received_at": self.received_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        """Read a fact written by :meth:`to_dict`."""
        return cls(event=PbxEvent.from_dict(data["event"]), received_at=_dt(data["received_at"]))


def _opt_fact(data: Mapping[str, Any] | None) -> Fact | None:
    return None if data is None else Fact.from_dict(data)


@dataclass(slots=True)
class CallState:
    """Everything known about one call: what the PBX said, and what was already emitted.

    Facts are kept per kind (one ``started``/``answered``/``ended``, one ringing per
    extension, one transfer per target and time). The ``*_event`` fields hold the canonical
    events already emitted, so later events repeat exactly what was published. Counters
    let the caller see what was dropped (compare before and after :func:`~.calls.apply`).
    """

    call_id: str
    first_seen_at: datetime
    """Processing time (``now``) of the first event of the call."""
    seen_keys: set[str] = field(default_factory=set)
    started: Fact | None = None
    answered: Fact | None = None
    ended: Fact | None = None
    ringing: dict[str, Fact] = field(default_factory=dict)
    """Ringing facts by (normalised) extension."""
    transfers: dict[str, Fact] = field(default_factory=dict)
    """Transfer facts by ``"<to_extension>@<isoformat time>"``."""
    started_event: CallStarted | None = None
    answered_event: CallAnswered | None = None
    ended_event: CallEnded | None = None
    emitted_keys: list[str] = field(default_factory=list)
    """:func:`~.calls.canonical_event_key` of every event emitted, in emission order."""
    start_synthesised: bool = False
    """True when CallStarted was made up from later events because no start came."""
    duplicate_events: int = 0
    """Raw events dropped because their ``source_key`` was already seen."""
    late_events: int = 0
    """Raw events that arrived after the call was settled (CallEnded emitted)."""
    ignored_events: int = 0
    """Raw events that told nothing new (e.g. a second start after CallStarted went out)."""

    @property
    def settled(self) -> bool:
        """True once CallEnded was emitted: nothing more will ever be emitted."""
        return self.ended_event is not None

    def copy(self) -> CallState:
        """An independent copy (facts and events are immutable; containers are copied)."""
        return CallState(
            call_id=self.call_id,
            first_seen_at=self.first_seen_at,
            seen_keys=set(self.seen_keys),
            started=self.started,
            answered=self.answered,
            ended=self.ended,
            ringing=dict(self.ringing),
            transfers=dict(self.transfers),
            started_event=self.started_event,
            answered_event=self.answered_event,
            ended_event=self.ended_event,
            emitted_keys=list(self.emitted_keys),
            start_synthesised=self.start_synthesised,
            duplicate_events=self.duplicate_events,
            late_events=self.late_events,
            ignored_events=self.ignored_events,
        )

    def to_dict(self) -> dict[str, Any]:
        """This state as a JSON-able dict (stable key order, sorted sets)."""
        return {
            "format": STATE_FORMAT,
            "call_id": self.call_id,
            "first_seen_at": self.first_seen_at.isoformat(),
            "seen_keys": sorted(self.seen_keys),
            "started": self.started.to_dict() if self.started else None,
            "answered": self.answered.to_dict() if self.answered else None,
            "ended": self.ended.to_dict() if self.ended else None,
            "ringing": {k: f.to_dict() for k, f in sorted(self.ringing.items())},
            "transfers": {k: f.to_dict() for k, f in sorted(self.transfers.items())},
            "started_event": _dump(self.started_event),
            "answered_event": _dump(self.answered_event),
            "ended_event": _dump(self.ended_event),
            "emitted_keys": list(self.emitted_keys),
            "start_synthesised": self.start_synthesised,
            "duplicate_events": self.duplicate_events,
            "late_events": self.late_events,
            "ignored_events": self.ignored_events,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallState:
        """Read a state written by :meth:`to_dict` (e.g. loaded from JSONB)."""
        fmt = data.get("format", STATE_FORMAT)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unsupported call state format {fmt!r}")
        started_event = data.get("started_event")
        answered_event = data.get("answered_event")
        ended_event = data.get("ended_event")
        return cls(
            call_id=data["call_id"],
            first_seen_at=_dt(data["first_seen_at"]),
            seen_keys=set(data.get("seen_keys", ())),
            started=_opt_fact(data.get("started")),
            answered=_opt_fact(data.get("answered")),
            ended=_opt_fact(data.get("ended")),
            ringing={k: Fact.from_dict(v) for k, v in data.get("ringing", {}).items()},
            transfers={k: Fact.from_dict(v) for k, v in data.get("transfers", {}).items()},
            started_event=(CallStarted.model_validate(started_event) if started_event else None),
            answered_event=(
                CallAnswered.model_validate(answered_event) if answered_event else None
            ),
            ended_event=CallEnded.model_validate(ended_event) if ended_event else None,
            emitted_keys=list(data.get("emitted_keys", ())),
            start_synthesised=bool(data.get("start_synthesised", False)),
            duplicate_events=int(data.get("duplicate_events", 0)),
            late_events=int(data.get("late_events", 0)),
            ignored_events=int(data.get("ignored_events", 0)),
        )


def _dump(event: CallStarted | CallAnswered | CallEnded | None) -> dict[str, Any] | None:
    return None if event is None else event.model_dump(mode="json")
