"""What the state machine knows about one call between its events, and how that is stored.

:class:`CallState` holds the facts kept from the PBX's events and the canonical events
already emitted; it is stored between events as JSON, in a PostgreSQL JSONB column, in the
layout :data:`STATE_FORMAT` names (every earlier layout still reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from switchboard_contracts import CallAnswered, CallEnded, CallStarted
from switchboard_telephony.domain.call_events import call_summary
from switchboard_telephony.domain.pbx_events import Fact, read_event, read_timestamp

__all__ = ["STATE_FORMAT", "CallState"]

_E = TypeVar("_E", CallStarted, CallAnswered, CallEnded)

STATE_FORMAT = 2
"""Version of :meth:`CallState.to_dict`'s layout, stored with it. :meth:`CallState.from_dict`
reads every earlier one too (format 1 repeated the call id and the absent fields in every
fact and event: 2.5 KB of JSONB per call, rewritten by every batch that touches the call)."""


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
        event=read_event(
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
        return cls._from_format_2(data)

    def _facts(self) -> list[Fact]:
        kept = [f for f in (self.started, self.answered, self.ended) if f is not None]
        return kept + list(self.ringing.values()) + list(self.transfers.values())

    @classmethod
    def _from_format_2(cls, data: Mapping[str, Any]) -> CallState:
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

    @classmethod
    def _from_format_1(cls, data: Mapping[str, Any]) -> CallState:
        started_event = data.get("started_event")
        answered_event = data.get("answered_event")
        ended_event = data.get("ended_event")
        return cls(
            call_id=data["call_id"],
            first_seen_at=read_timestamp(data["first_seen_at"]),
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
