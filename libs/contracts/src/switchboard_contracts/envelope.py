"""The envelope every event travels in, and the functions that build and parse it.

On the wire a message value is the JSON of an :class:`Envelope`::

    {"event_id": "…uuid…", "event_type": "CallEnded", "schema_version": 1,
     "occurred_at": "2025-01-01T09:00:00Z", "recorded_at": "2025-01-01T09:00:01Z",
     "producer": "telephony", "correlation_id": "call-42", "payload": {…}}

Producers build it with :func:`make_envelope` and send :meth:`Envelope.to_bytes`; consumers
call :func:`parse_envelope`, which picks the payload class from ``event_type`` and
``schema_version`` and raises :class:`ContractError` (with the reason) for anything invalid.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeAlias, TypeVar, cast
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, model_validator

from switchboard_contracts.base import Event, NonEmptyStr, UtcDatetime, ensure_utc
from switchboard_contracts.errors import ContractError
from switchboard_contracts.registry import AnyEvent, event_class
from switchboard_contracts.topics import message_key, topic_for

__all__ = [
    "AnyEnvelope",
    "ContractError",
    "Envelope",
    "make_envelope",
    "parse_envelope",
]

PayloadT = TypeVar("PayloadT", bound=Event)
EventT = TypeVar("EventT", bound=Event)


class _EnvelopeHeader(BaseModel):
    """The envelope's fields other than the payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID = Field(description="Unique id of this event; consumers' idempotency key.")
    event_type: NonEmptyStr = Field(description="The payload's event type, e.g. CallEnded.")
    schema_version: int = Field(ge=1, description="Version of the payload's schema.")
    occurred_at: UtcDatetime = Field(description="When it happened at the source (UTC).")
    recorded_at: UtcDatetime = Field(description="When the producer recorded it (UTC).")
    producer: NonEmptyStr = Field(description="The service that published it.")
    correlation_id: str | None = Field(
        default=None, description="Ties related events together: the call id where there is one."
    )


class Envelope(_EnvelopeHeader, Generic[PayloadT]):
    """One published event: metadata plus the payload (an :class:`Event`).

    ``Envelope[CallEnded]`` is an envelope whose payload is a ``CallEnded``; what
    :func:`parse_envelope` returns is an ``Envelope[AnyEvent]``. The ``event_type`` and
    ``schema_version`` fields must match the payload's class.
    """

    # SerializeAsAny: serialise the payload by its runtime class, so an Envelope whose type
    # parameter is the base Event (or unset) still writes every payload field.
    payload: SerializeAsAny[PayloadT]

    @model_validator(mode="after")
    def _header_matches_payload(self) -> Self:
        payload: object = self.payload
        if isinstance(payload, Event) and (
            payload.event_type != self.event_type or payload.schema_version != self.schema_version
        ):
            raise ValueError(
                f"envelope says {self.event_type} v{self.schema_version} but the payload is "
                f"{payload.event_type} v{payload.schema_version}"
            )
        return self

    @property
    def topic(self) -> str:
        """The topic this event is published on (from its ``event_type``)."""
        return topic_for(self.event_type)

    @property
    def key(self) -> str:
        """The Kafka message key: the value of the payload's key field (e.g. ``call_id``)."""
        return message_key(self.payload)

    def to_bytes(self) -> bytes:
        """The message value: this envelope as UTF-8 JSON."""
        return self.model_dump_json().encode()


AnyEnvelope: TypeAlias = Envelope[AnyEvent]
"""An envelope holding any registered event (what :func:`parse_envelope` returns)."""


class _RawEnvelope(_EnvelopeHeader):
    """An envelope whose payload is not yet validated."""

    payload: dict[str, Any]


def make_envelope(
    payload: EventT,
    *,
    producer: str,
    occurred_at: datetime,
    correlation_id: str | None = None,
    event_id: UUID | None = None,
    recorded_at: datetime | None = None,
) -> Envelope[EventT]:
    """Wrap ``payload`` in a new envelope.

    ``event_type`` and ``schema_version`` come from the payload's class, ``event_id`` is a new
    UUID4 unless given, ``recorded_at`` is now (UTC) unless given. ``correlation_id``
    defaults to the payload's ``call_id`` when it has one. ``occurred_at`` must be
    timezone-aware; a naive datetime raises a pydantic ``ValidationError`` (a ``ValueError``).
    """
    if correlation_id is None:
        call_id = getattr(payload, "call_id", None)
        correlation_id = call_id if isinstance(call_id, str) and call_id else None
    if not isinstance(payload, Event) or not producer:
        envelope: Envelope[EventT] = Envelope(
            event_id=event_id if event_id is not None else uuid4(),
            event_type=payload.event_type,
            schema_version=payload.schema_version,
            occurred_at=occurred_at,
            recorded_at=recorded_at if recorded_at is not None else datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id,
            payload=payload,
        )
        return envelope
    # The payload is an event already validated, and the header's type and version are
    # read from its class: checking the times is all that is left, and validating the
    # whole envelope again was most of the cost of staging an event.
    return _trusted_envelope(
        {
            "event_id": event_id if event_id is not None else uuid4(),
            "event_type": payload.event_type,
            "schema_version": payload.schema_version,
            "occurred_at": ensure_utc(occurred_at),
            "recorded_at": (
                ensure_utc(recorded_at) if recorded_at is not None else datetime.now(UTC)
            ),
            "producer": producer,
            "correlation_id": correlation_id,
            "payload": payload,
        }
    )


_ENVELOPE_FIELDS = frozenset(Envelope.model_fields)
# What _trusted_envelope leaves out of model_construct must not matter for Envelope.
assert not Envelope.__pydantic_post_init__ and Envelope.model_config.get("extra") != "allow"


def _trusted_envelope(values: dict[str, Any]) -> Envelope[Any]:
    """An envelope of values already checked, one for every field: what
    ``Envelope.model_construct(**values)`` builds, without its loop over the fields' aliases
    and defaults (staging an event spent more on that loop than on the rest of its
    envelope)."""
    envelope = Envelope.__new__(Envelope)
    object.__setattr__(envelope, "__dict__", values)
    object.__setattr__(envelope, "__pydantic_fields_set__", set(_ENVELOPE_FIELDS))
    object.__setattr__(envelope, "__pydantic_extra__", None)
    object.__setattr__(envelope, "__pydantic_private__", None)
    return envelope


def _describe(error: ValidationError) -> str:
    """Summarise a validation error as ``field: message; …`` (never echoing input values,
    which may hold phone numbers or names)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"])
        parts.append(f"{location}: {item['msg']}" if location else item["msg"])
    return "; ".join(parts)


def parse_envelope(raw: bytes | bytearray | str | Mapping[str, Any]) -> Envelope[AnyEvent]:
    """Parse and validate one message value (JSON bytes/str, or an already decoded dict).

    The envelope is validated first, then the payload against the class registered for its
    ``event_type`` and ``schema_version``. Unknown fields are ignored at both levels, so
    additive changes by producers do not break consumers.

    Raises :class:`ContractError` saying what was wrong: invalid JSON, an invalid envelope,
    an unknown event type or version, or an invalid payload (naming the fields).
    """
    if isinstance(raw, bytes | bytearray):
        parsed = _parse_in_one_pass(raw)
        if parsed is not None:
            return parsed
    try:
        if isinstance(raw, bytes | bytearray | str):
            header = _RawEnvelope.model_validate_json(raw)
        else:
            header = _RawEnvelope.model_validate(dict(raw))
    except ValidationError as exc:
        raise ContractError(f"invalid envelope: {_describe(exc)}") from exc

    cls = event_class(header.event_type, header.schema_version)
    try:
        payload = cast(AnyEvent, cls.model_validate(header.payload))
    except ValidationError as exc:
        raise ContractError(
            f"invalid {header.event_type} v{header.schema_version} payload: {_describe(exc)}",
            event_type=header.event_type,
            schema_version=header.schema_version,
        ) from exc

    fields = {name: getattr(header, name) for name in _HEADER_FIELDS}
    # The header is already validated and the payload matches it by construction.
    return _ANY_ENVELOPE.model_construct(**fields, payload=payload)


_ANY_ENVELOPE = Envelope[AnyEvent]
_HEADER_FIELDS = tuple(_EnvelopeHeader.model_fields)
_EVENT_TYPE = re.compile(rb'"event_type"\s*:\s*"([A-Za-z0-9_]+)"')
_SCHEMA_VERSION = re.compile(rb'"schema_version"\s*:\s*([0-9]+)')


def _parse_in_one_pass(raw: bytes | bytearray) -> Envelope[AnyEvent] | None:
    """The common case in one validation: the envelope typed by the event class its
    ``event_type`` and ``schema_version`` name (read from the bytes), validated from JSON
    in one pass (header, payload and their agreement). ``None`` when that does not work
    (other key order, an unknown type, anything invalid): :func:`parse_envelope` then
    takes the general path, which says exactly what is wrong."""
    event_type = _EVENT_TYPE.search(raw)
    version = _SCHEMA_VERSION.search(raw)
    if event_type is None or version is None:
        return None
    try:
        cls = event_class(event_type.group(1).decode(), int(version.group(1)))
        envelope = _typed_envelope(cls).model_validate_json(raw)
    except (ContractError, ValidationError, ValueError):
        return None
    # The type as a string: ``Envelope[AnyEvent]`` evaluated here looks the generic up in
    # pydantic's cache on every event (7 % of parsing).
    return cast("Envelope[AnyEvent]", envelope)


@functools.cache
def _typed_envelope(cls: type[Event]) -> type[Envelope[Any]]:
    return Envelope[cls]  # type: ignore[valid-type]
