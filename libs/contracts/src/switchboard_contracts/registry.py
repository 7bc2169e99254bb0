"""Every event class, looked up by ``event_type`` and ``schema_version``.

``CURRENT_EVENTS`` lists the class each event type is published with today. When an event
gets an incompatible new ``schema_version``, keep the previous class (renamed, e.g.
``CallEndedV1``, with ``schema_version = 1``) in ``LEGACY_EVENTS`` so that messages already on
the topics (and replays from offset 0) still parse.
"""

from __future__ import annotations

from typing import TypeAlias

from switchboard_contracts.audit import AuditRecorded
from switchboard_contracts.base import Event
from switchboard_contracts.booking import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CallCenterChanged,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    ClinicChanged,
    OperatorChanged,
)
from switchboard_contracts.calls import (
    CallAnswered,
    CallClaimed,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTagged,
    CallTransferred,
)
from switchboard_contracts.errors import ContractError
from switchboard_contracts.settings import DidChanged, IntegrationSettingsChanged
from switchboard_contracts.touches import CallerIdentified, TouchCreated, TouchUpdated
from switchboard_contracts.worklist import WorklistChanged

__all__ = [
    "CURRENT_EVENTS",
    "EVENT_TYPES",
    "EVENT_VERSIONS",
    "LEGACY_EVENTS",
    "AnyEvent",
    "event_class",
]

CURRENT_EVENTS: tuple[type[Event], ...] = (
    CallStarted,
    CallRinging,
    CallTransferred,
    CallAnswered,
    CallEnded,
    CallTagged,
    AppointmentBooked,
    AppointmentRescheduled,
    AppointmentCancelled,
    ClientRegistered,
    ClientUpdated,
    ClientsMerged,
    OperatorChanged,
    ClinicChanged,
    CallCenterChanged,
    CallerIdentified,
    TouchCreated,
    TouchUpdated,
    IntegrationSettingsChanged,
    DidChanged,
    CallClaimed,
    WorklistChanged,
    AuditRecorded,
)
"""The class each event type is published with now (its latest ``schema_version``)."""

LEGACY_EVENTS: tuple[type[Event], ...] = ()
"""Older schema versions still accepted when parsing (none yet)."""

AnyEvent: TypeAlias = (
    CallStarted
    | CallRinging
    | CallTransferred
    | CallAnswered
    | CallEnded
    | CallTagged
    | AppointmentBooked
    | AppointmentRescheduled
    | AppointmentCancelled
    | ClientRegistered
    | ClientUpdated
    | ClientsMerged
    | OperatorChanged
    | ClinicChanged
    | CallCenterChanged
    | CallerIdentified
    | TouchCreated
    | TouchUpdated
    | IntegrationSettingsChanged
    | DidChanged
    | CallClaimed
    | WorklistChanged
    | AuditRecorded
)
"""The union of every event class ``parse_envelope`` can return (use ``match`` on it)."""


def _build_registries() -> tuple[dict[str, type[Event]], dict[tuple[str, int], type[Event]]]:
    current: dict[str, type[Event]] = {}
    versions: dict[tuple[str, int], type[Event]] = {}
    for cls in CURRENT_EVENTS:
        if cls.event_type in current:
            raise RuntimeError(f"event type {cls.event_type!r} registered twice")
        current[cls.event_type] = cls
    for cls in (*CURRENT_EVENTS, *LEGACY_EVENTS):
        key = (cls.event_type, cls.schema_version)
        if key in versions:
            raise RuntimeError(f"{cls.event_type} v{cls.schema_version} registered twice")
        if cls.schema_version > current[cls.event_type].schema_version:
            raise RuntimeError(f"legacy {cls.__name__} is newer than the current class")
        versions[key] = cls
    return current, versions


EVENT_TYPES: dict[str, type[Event]]
"""``event_type`` → the current class for it."""
EVENT_VERSIONS: dict[tuple[str, int], type[Event]]
"""``(event_type, schema_version)`` → class, for every version that still parses."""
EVENT_TYPES, EVENT_VERSIONS = _build_registries()


def event_class(event_type: str, schema_version: int | None = None) -> type[Event]:
    """Return the class for ``event_type`` at ``schema_version`` (the current one if ``None``).

    Raises :class:`ContractError` for an unknown event type or a version that is not (or no
    longer) registered.
    """
    current = EVENT_TYPES.get(event_type)
    if current is None:
        raise ContractError(
            f"unknown event_type {event_type!r}",
            event_type=event_type,
            schema_version=schema_version,
        )
    if schema_version is None:
        return current
    cls = EVENT_VERSIONS.get((event_type, schema_version))
    if cls is None:
        known = sorted(v for (t, v) in EVENT_VERSIONS if t == event_type)
        raise ContractError(
            f"unsupported schema_version {schema_version} for {event_type} "
            f"(supported: {', '.join(map(str, known))})",
            event_type=event_type,
            schema_version=schema_version,
        )
    return cls
