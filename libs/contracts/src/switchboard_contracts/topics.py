"""Topic names, what each topic carries, and which payload field is its message key.

These are the *logical* names; a deployment may prefix them (the runtime library maps a
logical name to the physical topic). Every message of one entity (one call, one appointment,
one client...) is keyed by that entity's id, so its events stay in order on one partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from switchboard_contracts.base import Event
from switchboard_contracts.errors import ContractError

__all__ = [
    "ALL_TOPICS",
    "ANALYTICS_WORKLIST",
    "BOOKING_APPOINTMENTS",
    "BOOKING_CLIENTS",
    "BOOKING_DIRECTORY",
    "CRM_TOUCHES",
    "NOTIFY_CLAIMS",
    "PBX_EVENTS_RAW",
    "PLATFORM_AUDIT",
    "TELEPHONY_CALLS",
    "TELEPHONY_DIRECTORY",
    "TELEPHONY_SETTINGS",
    "TOPICS",
    "TopicSpec",
    "dlq_topic",
    "key_field",
    "message_key",
    "topic_for",
]

PBX_EVENTS_RAW = "pbx.events.raw"
"""Raw PBX deliveries (webhook bodies, AMI events) as received; consumed by telephony."""
TELEPHONY_CALLS = "telephony.calls"
"""Canonical call events (``CallStarted`` … ``CallEnded``), keyed by ``call_id``."""
BOOKING_APPOINTMENTS = "booking.appointments"
"""Appointment events, keyed by ``appointment_id``."""
BOOKING_CLIENTS = "booking.clients"
"""Client (patient/lead) events, keyed by ``client_id``."""
BOOKING_DIRECTORY = "booking.directory"
"""Operator directory events, keyed by ``operator_id``."""
CRM_TOUCHES = "crm.touches"
"""Caller identification (keyed by ``call_id``) and touch events (keyed by ``touch_id``)."""
TELEPHONY_SETTINGS = "telephony.settings"
"""Integration settings changes (enabled flags only, never credentials)."""
TELEPHONY_DIRECTORY = "telephony.directory"
"""The chain's public numbers (DIDs): clinic and description (``DidChanged``), keyed by ``did``."""
NOTIFY_CLAIMS = "notify.claims"
"""Calls taken from the console pop-up (``CallClaimed``), keyed by ``call_id``."""
ANALYTICS_WORKLIST = "analytics.worklist"
"""Changes of the call-back worklist (``WorklistChanged``), keyed by ``call_id``."""
PLATFORM_AUDIT = "platform.audit"
"""Audited actions of every service (``AuditRecorded``), keyed by the acting operator."""


@dataclass(frozen=True)
class TopicSpec:
    """What one topic carries.

    ``keys`` maps each event type on the topic to the payload field whose value is the Kafka
    message key. ``key_description`` describes the key in words (for topics like
    ``pbx.events.raw`` that carry no contract events).
    """

    name: str
    description: str
    producer: str
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    key_description: str = ""

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types published on this topic, in declaration order."""
        return tuple(self.keys)


def _spec(
    name: str, description: str, producer: str, key_description: str, **keys: str
) -> TopicSpec:
    return TopicSpec(
        name=name,
        description=description,
        producer=producer,
        keys=MappingProxyType(dict(keys)),
        key_description=key_description,
    )


TOPICS: Mapping[str, TopicSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec(
                PBX_EVENTS_RAW,
                "Raw PBX deliveries exactly as received (generic JSON webhook bodies, Asterisk "
                "AMI events). Adapter-specific, not a contract event; telephony normalises them "
                "into the events on telephony.calls.",
                "telephony (PBX webhook / AMI ingest)",
                "the PBX's own call identifier, when the delivery has one",
            ),
            _spec(
                TELEPHONY_CALLS,
                "Canonical call events, each emitted once per call by telephony's state machine.",
                "telephony",
                "call_id",
                CallStarted="call_id",
                CallRinging="call_id",
                CallTransferred="call_id",
                CallAnswered="call_id",
                CallEnded="call_id",
                CallTagged="call_id",
            ),
            _spec(
                BOOKING_APPOINTMENTS,
                "Appointments booked, moved and cancelled.",
                "booking",
                "appointment_id",
                AppointmentBooked="appointment_id",
                AppointmentRescheduled="appointment_id",
                AppointmentCancelled="appointment_id",
            ),
            _spec(
                BOOKING_CLIENTS,
                "Client (patient/lead) records: registered, updated (full state), merged.",
                "booking",
                "client_id (ClientsMerged: primary_client_id)",
                ClientRegistered="client_id",
                ClientUpdated="client_id",
                ClientsMerged="primary_client_id",
            ),
            _spec(
                BOOKING_DIRECTORY,
                "The directory: operators (roles, call centers, extensions), clinics (with their "
                "time zones) and call centers.",
                "booking",
                "operator_id / clinic_id / call_center_id",
                OperatorChanged="operator_id",
                ClinicChanged="clinic_id",
                CallCenterChanged="call_center_id",
            ),
            _spec(
                CRM_TOUCHES,
                "Who each external call is with (CallerIdentified, whether or not touch creation "
                "is on), and touches: one per call while touch creation is on, with the "
                "identified contact, status, result and the appointment it led to.",
                "crm-touch",
                "call_id (CallerIdentified) / touch_id (touch events)",
                CallerIdentified="call_id",
                TouchCreated="touch_id",
                TouchUpdated="touch_id",
            ),
            _spec(
                TELEPHONY_SETTINGS,
                "Integration settings changes (Calltouch, Callmarker enabled flags). Never "
                "carries tokens or other credentials.",
                "telephony",
                "integration",
                IntegrationSettingsChanged="integration",
            ),
            _spec(
                TELEPHONY_DIRECTORY,
                "The chain's public numbers (DIDs): each number's clinic and description "
                "(what it advertises) after an admin added, changed or removed it.",
                "telephony",
                "did",
                DidChanged="did",
            ),
            _spec(
                NOTIFY_CLAIMS,
                "Calls an operator took from the incoming-call pop-up (the call's admin).",
                "notify",
                "call_id",
                CallClaimed="call_id",
            ),
            _spec(
                ANALYTICS_WORKLIST,
                "The call-back worklist changed: a missed call joined it, an operator claimed, "
                "released or closed a call-back, a call to the number took calls off it.",
                "analytics",
                "call_id",
                WorklistChanged="call_id",
            ),
            _spec(
                PLATFORM_AUDIT,
                "The audit trail: who viewed a client's card, heard a recording, exported a "
                "list, merged clients, changed settings or operators; when and from where. "
                "Every service publishes its own actions; analytics keeps them.",
                "every service",
                "actor_id",
                AuditRecorded="actor_id",
            ),
        )
    }
)
"""Topic name → :class:`TopicSpec`, for every topic of the platform (dead-letter topics aside)."""

ALL_TOPICS: tuple[str, ...] = tuple(TOPICS)
"""Every topic name (dead-letter topics aside)."""

_TOPIC_OF_EVENT: Mapping[str, str] = MappingProxyType(
    {event_type: spec.name for spec in TOPICS.values() for event_type in spec.keys}
)


def dlq_topic(topic: str, group: str) -> str:
    """Return the dead-letter topic of consumer group ``group`` for ``topic``.

    It carries the original message bytes and the error, so one poison message never stops
    the partition.
    """
    if not topic or not group:
        raise ValueError("dlq_topic needs a non-empty topic and group")
    return f"{topic}.dlq.{group}"


def topic_for(event_type: str) -> str:
    """Return the topic an event type is published on; :class:`ContractError` if unknown."""
    try:
        return _TOPIC_OF_EVENT[event_type]
    except KeyError:
        raise ContractError(f"no topic carries event_type {event_type!r}") from None


def key_field(event_type: str) -> str:
    """Return the name of the payload field used as the message key for ``event_type``."""
    return TOPICS[topic_for(event_type)].keys[event_type]


def message_key(event: Event) -> str:
    """Return the Kafka message key for ``event`` (the value of its key field)."""
    value = getattr(event, key_field(event.event_type))
    if not isinstance(value, str) or not value:
        raise ContractError(
            f"{event.event_type}.{key_field(event.event_type)} must be a non-empty string key",
            event_type=event.event_type,
        )
    return value
