"""Switchboard's event contracts: the envelope, every event, topic names and keys.

Contracts are data: pydantic models and constants, no I/O (except the export CLI). Import
what you need from the package root::

    from switchboard_contracts import CallEnded, TELEPHONY_CALLS, make_envelope, parse_envelope
"""

from switchboard_contracts._version import __version__
from switchboard_contracts.base import (
    CallDirection,
    CallDisposition,
    ClientKind,
    ContractModel,
    E164Phone,
    Event,
    NonEmptyStr,
    Role,
    UtcDatetime,
    ensure_utc,
)
from switchboard_contracts.booking import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    CallCenterChanged,
    ClinicChanged,
    OperatorChanged,
)
from switchboard_contracts.calls import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTagged,
    CallTransferred,
)
from switchboard_contracts.envelope import AnyEnvelope, Envelope, make_envelope, parse_envelope
from switchboard_contracts.errors import ContractError
from switchboard_contracts.registry import (
    CURRENT_EVENTS,
    EVENT_TYPES,
    EVENT_VERSIONS,
    LEGACY_EVENTS,
    AnyEvent,
    event_class,
)
from switchboard_contracts.settings import Integration, IntegrationSettingsChanged
from switchboard_contracts.topics import (
    ALL_TOPICS,
    BOOKING_APPOINTMENTS,
    BOOKING_CLIENTS,
    BOOKING_DIRECTORY,
    CRM_TOUCHES,
    PBX_EVENTS_RAW,
    TELEPHONY_CALLS,
    TELEPHONY_SETTINGS,
    TOPICS,
    TopicSpec,
    dlq_topic,
    key_field,
    message_key,
    topic_for,
)
from switchboard_contracts.touches import (
    ContactRef,
    TouchContact,
    TouchCreated,
    TouchResult,
    TouchStatus,
    TouchUpdated,
)

__all__ = [
    "ALL_TOPICS",
    "BOOKING_APPOINTMENTS",
    "BOOKING_CLIENTS",
    "BOOKING_DIRECTORY",
    "CRM_TOUCHES",
    "CURRENT_EVENTS",
    "EVENT_TYPES",
    "EVENT_VERSIONS",
    "LEGACY_EVENTS",
    "PBX_EVENTS_RAW",
    "TELEPHONY_CALLS",
    "TELEPHONY_SETTINGS",
    "TOPICS",
    "AnyEnvelope",
    "AnyEvent",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentRescheduled",
    "CallAnswered",
    "CallDirection",
    "CallDisposition",
    "CallEnded",
    "CallRinging",
    "CallStarted",
    "CallTagged",
    "CallTransferred",
    "ClientKind",
    "ClientRegistered",
    "ClientUpdated",
    "ClientsMerged",
    "ContactRef",
    "ContractError",
    "ContractModel",
    "E164Phone",
    "Envelope",
    "Event",
    "Integration",
    "IntegrationSettingsChanged",
    "NonEmptyStr",
    "CallCenterChanged",
    "ClinicChanged",
    "OperatorChanged",
    "Role",
    "TopicSpec",
    "TouchContact",
    "TouchCreated",
    "TouchResult",
    "TouchStatus",
    "TouchUpdated",
    "UtcDatetime",
    "__version__",
    "dlq_topic",
    "ensure_utc",
    "event_class",
    "key_field",
    "make_envelope",
    "message_key",
    "parse_envelope",
    "topic_for",
]
