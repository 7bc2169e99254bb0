"""The generic JSON PBX format: what the webhook accepts and ``pbx.events.raw`` carries.

One event is a JSON object (see the service README for an example of each type)::

    {"type": "call.started", "call_id": "c-1", "timestamp": "2026-11-25T09:00:00+03:00",
     "from": "+7 495 123-45-67", "to": "101", "event_id": "optional, unique per event"}

Timestamps are ISO 8601 with an offset (or Unix seconds) in the PBX's clock; the
configured time lag is applied when they are turned into :class:`PbxEvent`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from switchboard_telephony.domain.pbx_events import PbxEvent

EVENT_KINDS = {
    "call.started": "started",
    "call.ringing": "ringing",
    "call.answered": "answered",
    "call.ended": "ended",
    "call.transferred": "transferred",
}

# A PBX clock can be off, but not by years: outside this window a timestamp is garbage.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)


class GenericPbxEvent(BaseModel):
    """One event in the generic JSON format, validated."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    event_id: str | None = Field(default=None, max_length=200)
    type: Literal["call.started", "call.ringing", "call.answered", "call.ended", "call.transferred"]
    call_id: str = Field(min_length=1, max_length=200)
    timestamp: AwareDatetime
    caller: str | None = Field(default=None, alias="from", max_length=64)
    callee: str | None = Field(default=None, alias="to", max_length=64)
    did: str | None = Field(default=None, max_length=64)
    extension: str | None = Field(default=None, max_length=32)
    to_extension: str | None = Field(default=None, max_length=32)
    operator_id: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=64)
    recording_url: str | None = Field(default=None, max_length=2000)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_or_iso(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, tz=UTC)
            except (OverflowError, OSError, ValueError) as exc:
                # E.g. milliseconds sent where seconds are expected: year 50000.
                raise PydanticCustomError(
                    "impossible_timestamp", "Unix time out of any plausible range"
                ) from exc
        return value

    @field_validator("timestamp")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        # Compared in UTC: datetimes of one tzinfo compare without asking each its offset.
        utc = value.astimezone(UTC)
        if utc < _EARLIEST or utc > datetime.now(UTC) + _FUTURE_SLACK:
            raise PydanticCustomError(
                "impossible_timestamp",
                "timestamp is not a plausible call time (before 2000 or days in the future)",
            )
        return utc

    def source_key(self, raw: dict[str, Any]) -> str:
        """The dedupe key: the PBX's own event id, else a hash of the event's content."""
        if self.event_id:
            return f"id:{self.event_id}"
        canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def to_pbx_event(self, raw: dict[str, Any], time_lag: timedelta) -> PbxEvent:
        """The domain's view of this event, with the PBX clock corrected by ``time_lag``."""
        return self.keyed_pbx_event(self.source_key(raw), time_lag)

    def keyed_pbx_event(self, source_key: str, time_lag: timedelta) -> PbxEvent:
        """:meth:`to_pbx_event` with the dedupe key already computed from the raw object."""
        return PbxEvent(
            source_key=source_key,
            kind=EVENT_KINDS[self.type],  # type: ignore[arg-type]
            call_id=self.call_id,
            at=self.timestamp + time_lag,
            caller=self.caller or None,
            callee=self.callee or None,
            did=self.did or None,
            extension=self.extension or None,
            to_extension=self.to_extension or None,
            operator_id=self.operator_id or None,
            end_status=(self.status or "").lower() or None,
            recording_url=self.recording_url or None,
        )


class InvalidPbxEvent(ValueError):
    """A raw PBX event that cannot be read; ``errors`` lists each field and what is wrong."""

    def __init__(self, reason: str, errors: list[dict[str, str]]):
        super().__init__(reason + ": " + "; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.reason = reason
        self.errors = errors


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field", "message"}`` pairs a PBX integrator can act on."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(event)", "message": err["msg"]}
        for err in exc.errors()
    ]


def rejection_reason(exc: ValidationError) -> str:
    """One word for why an event was refused (the dead-letter reason), most telling first:
    ``missing_type``, ``unknown_type``, ``missing_call_id``, ``invalid_call_id``,
    ``missing_timestamp``, ``impossible_timestamp``, ``invalid_timestamp``, else
    ``invalid_event``."""

    def kind(error: Any) -> str:
        # null and "" (or blanks) count as missing: a PBX with no value writes one of those.
        blank = error["type"] == "string_too_short" or error.get("input", "") is None
        return "missing" if blank else str(error["type"])

    problems = {(str(e["loc"][0]) if e["loc"] else "", kind(e)) for e in exc.errors()}
    fields = {name for name, _ in problems}
    if "type" in fields:
        return "missing_type" if ("type", "missing") in problems else "unknown_type"
    if "call_id" in fields:
        return "missing_call_id" if ("call_id", "missing") in problems else "invalid_call_id"
    if "timestamp" in fields:
        if ("timestamp", "missing") in problems:
            return "missing_timestamp"
        if ("timestamp", "impossible_timestamp") in problems:
            return "impossible_timestamp"
        return "invalid_timestamp"
    return "invalid_event"


def parse_generic(raw: Any) -> tuple[GenericPbxEvent, dict[str, Any]]:
    """Validate one decoded JSON value as a generic PBX event."""
    if not isinstance(raw, dict):
        raise InvalidPbxEvent(
            "not_an_object", [{"field": "(event)", "message": "must be a JSON object"}]
        )
    try:
        return GenericPbxEvent.model_validate(raw), raw
    except ValidationError as exc:
        raise InvalidPbxEvent(rejection_reason(exc), validation_errors(exc)) from exc


def decode_raw(value: bytes) -> PbxEventSource:
    """Decode the bytes of one ``pbx.events.raw`` record."""
    try:
        # The common case in one pass over the bytes; the decoded object is needed only
        # for the content hash of an event without an id (made when asked for).
        return PbxEventSource(GenericPbxEvent.model_validate_json(value), None, value)
    except ValidationError:
        pass  # decoded again below, to say exactly what is wrong
    try:
        raw = json.loads(value)
    except (ValueError, RecursionError) as exc:
        # ValueError: not UTF-8, not JSON, or an integer of more digits than Python converts;
        # RecursionError: arrays/objects nested deeper than the decoder recurses.
        raise InvalidPbxEvent("not_json", [{"field": "(body)", "message": str(exc)}]) from exc
    event, raw = parse_generic(raw)
    return PbxEventSource(event, raw)


class PbxEventSource:
    """A validated generic event with the raw object it came from (for its dedupe key):
    given decoded, or as the bytes it is decoded from when first needed."""

    __slots__ = ("_key", "_raw", "_value", "event")

    def __init__(self, event: GenericPbxEvent, raw: dict[str, Any] | None, value: bytes = b""):
        if raw is None and not value:
            raise ValueError("give the raw object or the bytes it was decoded from")
        self.event = event
        self._raw = raw
        self._value = value
        self._key: str | None = None

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object the event was read from."""
        if self._raw is None:
            self._raw = json.loads(self._value)
        return self._raw

    @property
    def source_key(self) -> str:
        """The dedupe key (see :meth:`GenericPbxEvent.source_key`), computed once."""
        if self._key is None:
            # With the PBX's own id the raw object is not read at all.
            self._key = self.event.source_key({} if self.event.event_id else self.raw)
        return self._key

    def to_pbx_event(self, time_lag: timedelta) -> PbxEvent:
        """See :meth:`GenericPbxEvent.to_pbx_event`."""
        return self.event.keyed_pbx_event(self.source_key, time_lag)
