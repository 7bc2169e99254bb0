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
from typing import Any, Literal, TypeVar, get_args

import switchboard_phones as phones
from switchboard_contracts import CallAnswered, CallDirection, CallEnded, CallStarted
from switchboard_telephony.domain.call_events import call_summary

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

_E = TypeVar("_E", CallStarted, CallAnswered, CallEnded)

STATE_FORMAT = 2
"""Version of :meth:`CallState.to_dict`'s layout, stored with it. :meth:`CallState.from_dict`
reads every earlier one too (format 1 repeated the call id and the absent fields in every
fact and event: 2.5 KB of JSONB per call, rewritten by every batch that touches the call)."""


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _dt(value: str) -> datetime:
    return _aware_utc(datetime.fromisoformat(value), "timestamp")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: datetime) -> int:
    """``value`` as whole microseconds since the Unix epoch: how format 2 stores a time (a
    fifth of the cost of an ISO string, and half its length)."""
    return (value - _EPOCH) // _MICROSECOND


def _from_micros(value: int) -> datetime:
    return _EPOCH + _MICROSECOND * value


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PbxEvent:
        """Read an event as format 1 of the stored call state wrote it (every field, the
        call id included)."""
        return _read_event(data, data["source_key"], data["kind"], data["call_id"], _dt(data["at"]))


def _read_event(
    data: Mapping[str, Any], source_key: str, kind: str, call_id: str, at: datetime
) -> PbxEvent:
    """A stored event, its optional fields absent or null when the event had none."""
    return PbxEvent(
        source_key=source_key,
        kind=kind,  # type: ignore[arg-type]
        call_id=call_id,
        at=at,
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


@functools.lru_cache(maxsize=65_536)
def _is_extension(number: str, extensions: frozenset[str], max_digits: int) -> bool:
    # Asked several times of each call's numbers (direction, DID, extension, clinic):
    # remembered like the canonical forms, the answer being as pure.
    return phones.is_extension(number, extensions=extensions, max_digits=max_digits)


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
        return _is_extension(number, self.extensions, self.max_extension_digits)

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        """Read a fact as format 1 of the stored call state wrote it."""
        return cls(event=PbxEvent.from_dict(data["event"]), received_at=_dt(data["received_at"]))


def _opt_fact(data: Mapping[str, Any] | None) -> Fact | None:
    return None if data is None else Fact.from_dict(data)


# --- the stored layout (format 2) -----------------------------------------------------------
# What the state's own fields already say is left out of its parts: the call id (of every
# fact, event and emitted key), the kind of a fact where its place says it, a fact's
# processing time when it is the call's first, a seen key that a kept fact carries, absent
# fields. The state's own times (first seen, each fact's time and processing time) are
# microseconds since the Unix epoch; the canonical events are as published. Read back,
# every part is whole again (the same objects as format 1 gives).


def _compact_fact(fact: Fact, first_seen_at: datetime, with_kind: bool) -> dict[str, Any]:
    event = fact.event
    data: dict[str, Any] = {"key": event.source_key, "at": _micros(event.at)}
    if with_kind:
        data["kind"] = event.kind
    if fact.received_at != first_seen_at:
        data["received_at"] = _micros(fact.received_at)
    for name in _OPTIONAL_EVENT_FIELDS:
        value = getattr(event, name)
        if value is not None:
            data[name] = value
    return data


def _full_fact(
    data: Mapping[str, Any], call_id: str, first_seen_at: datetime, kind: str | None
) -> Fact:
    received_at = data.get("received_at")
    return Fact(
        event=_read_event(
            data,
            data["key"],
            data["kind"] if kind is None else kind,
            call_id,
            _from_micros(data["at"]),
        ),
        received_at=first_seen_at if received_at is None else _from_micros(received_at),
    )


def _compact_event(event: CallStarted | CallAnswered) -> dict[str, Any]:
    data = event.model_dump(mode="json", exclude_none=True)
    del data["call_id"]
    return data


def _compact_end(
    ended: CallEnded, started: CallStarted | None, answered: CallAnswered | None
) -> dict[str, Any]:
    """``ended`` without its call id, its absent fields, and what it repeats of the call's
    earlier events (read back from them); a repeated field that differs stays."""
    summary = call_summary(started, answered) if started is not None else {}
    data = ended.model_dump(mode="json")
    del data["call_id"]
    for name, value in summary.items():
        if getattr(ended, name) == value:
            del data[name]
    return {k: v for k, v in data.items() if v is not None or k in summary}


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
        """This state as a JSON-able dict (stable key order, sorted sets), in the current
        :data:`STATE_FORMAT`: what the state's own fields already say is not repeated in its
        parts (the call id, absent fields; see the module's layout notes)."""
        first_seen_at = self.first_seen_at
        prefix = self.call_id + ":"
        data: dict[str, Any] = {
            "format": STATE_FORMAT,
            "call_id": self.call_id,
            "first_seen_at": _micros(first_seen_at),
        }
        for name in ("started", "answered", "ended"):
            fact = getattr(self, name)
            if fact is not None:
                data[name] = _compact_fact(fact, first_seen_at, with_kind=False)
        if self.ringing:
            data["ringing"] = {
                k: _compact_fact(f, first_seen_at, with_kind=False)
                for k, f in sorted(self.ringing.items())
            }
        if self.transfers:
            data["transfers"] = {
                k: _compact_fact(f, first_seen_at, with_kind=True)
                for k, f in sorted(self.transfers.items())
            }
        # Every kept fact's key was seen: only the others (a replaced fact's, an ignored
        # event's) are written apart.
        other_keys = self.seen_keys.difference(f.event.source_key for f in self._facts())
        if other_keys:
            data["other_seen_keys"] = sorted(other_keys)
        if self.started_event is not None:
            data["started_event"] = _compact_event(self.started_event)
        if self.answered_event is not None:
            data["answered_event"] = _compact_event(self.answered_event)
        if self.ended_event is not None:
            data["ended_event"] = _compact_end(
                self.ended_event, self.started_event, self.answered_event
            )
        # Canonical keys are all "<call id>:…" (see canonical_event_key).
        data["emitted"] = [k.removeprefix(prefix) for k in self.emitted_keys]
        if self.start_synthesised:
            data["start_synthesised"] = True
        for name in ("duplicate_events", "late_events", "ignored_events"):
            count = getattr(self, name)
            if count:
                data[name] = count
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallState:
        """Read a state written by :meth:`to_dict` (e.g. loaded from JSONB), of the current
        :data:`STATE_FORMAT` or an earlier one."""
        fmt = data.get("format", 1)
        if fmt == 1:
            return cls._from_format_1(data)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unsupported call state format {fmt!r}")
        call_id = data["call_id"]
        first_seen_at = _from_micros(data["first_seen_at"])
        prefix = call_id + ":"

        def fact(name: str) -> Fact | None:
            stored = data.get(name)
            return None if stored is None else _full_fact(stored, call_id, first_seen_at, name)

        def event(model: type[_E], name: str, **repeated: Any) -> _E | None:
            stored = data.get(name)
            if stored is None:
                return None
            return model.model_validate({"call_id": call_id, **repeated, **stored})

        started_event = event(CallStarted, "started_event")
        answered_event = event(CallAnswered, "answered_event")
        summary = {} if started_event is None else call_summary(started_event, answered_event)

        state = cls(
            call_id=call_id,
            first_seen_at=first_seen_at,
            started=fact("started"),
            answered=fact("answered"),
            ended=fact("ended"),
            ringing={
                k: _full_fact(v, call_id, first_seen_at, "ringing")
                for k, v in data.get("ringing", {}).items()
            },
            transfers={
                k: _full_fact(v, call_id, first_seen_at, None)
                for k, v in data.get("transfers", {}).items()
            },
            started_event=started_event,
            answered_event=answered_event,
            ended_event=event(CallEnded, "ended_event", **summary),
            emitted_keys=[prefix + k for k in data.get("emitted", ())],
            start_synthesised=bool(data.get("start_synthesised", False)),
            duplicate_events=int(data.get("duplicate_events", 0)),
            late_events=int(data.get("late_events", 0)),
            ignored_events=int(data.get("ignored_events", 0)),
        )
        state.seen_keys = set(data.get("other_seen_keys", ()))
        state.seen_keys.update(f.event.source_key for f in state._facts())
        return state

    def _facts(self) -> list[Fact]:
        kept = [f for f in (self.started, self.answered, self.ended) if f is not None]
        return kept + list(self.ringing.values()) + list(self.transfers.values())

    @classmethod
    def _from_format_1(cls, data: Mapping[str, Any]) -> CallState:
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
