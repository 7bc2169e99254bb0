"""A raw PBX event as the state machine reads it, and as it keeps it.

:class:`PbxEvent` is one event after an adapter has read it, before any rule is applied;
:class:`Fact` is one the state machine kept, with the time it arrived. The readers at the
bottom turn a stored event back into a :class:`PbxEvent` (:mod:`.call_state` stores them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

__all__ = [
    "PBX_EVENT_KINDS",
    "Fact",
    "PbxEvent",
    "PbxEventKind",
    "read_event",
    "read_timestamp",
]

PbxEventKind = Literal["started", "ringing", "answered", "ended", "transferred"]
"""What a raw PBX event says happened."""

PBX_EVENT_KINDS: tuple[str, ...] = get_args(PbxEventKind)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def read_timestamp(value: str) -> datetime:
    """An ISO timestamp as format 1 of the stored call state wrote it, in UTC."""
    return _aware_utc(datetime.fromisoformat(value), "timestamp")


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
        return read_event(
            data, data["source_key"], data["kind"], data["call_id"], read_timestamp(data["at"])
        )


@dataclass(frozen=True, slots=True)
class Fact:
    """A PBX event the state machine kept, with the processing time it arrived at."""

    event: PbxEvent
    received_at: datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        """Read a fact as format 1 of the stored call state wrote it."""
        return cls(
            event=PbxEvent.from_dict(data["event"]),
            received_at=read_timestamp(data["received_at"]),
        )


def read_event(
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
