"""crm-touch's handlers: one per consumed event and per API command.

Each gets the session of its unit of work and its dependencies as arguments, loads what it
needs, lets the domain decide, saves, and stages the touch events it causes in the outbox
of the same transaction.

One module per area: booking's clients and merges in :mod:`.clients`, telephony's calls in
:mod:`.calls`, booking's appointments in :mod:`.appointments`, clinics and integration
switches in :mod:`.directory`, operators' commands on touches in :mod:`.touches`;
:class:`~.shared.Deps` and saving a changed touch in :mod:`.shared`; the subscription here.
"""

from __future__ import annotations

from switchboard_contracts import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CallAnswered,
    CallEnded,
    CallStarted,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    ClinicChanged,
    IntegrationSettingsChanged,
)
from switchboard_crm_touch.handlers.appointments import (
    on_appointment_booked,
    on_appointment_cancelled,
    on_appointment_rescheduled,
)
from switchboard_crm_touch.handlers.calls import on_call_event
from switchboard_crm_touch.handlers.clients import on_client_state, on_clients_merged
from switchboard_crm_touch.handlers.directory import on_clinic_changed, on_settings_changed
from switchboard_crm_touch.handlers.shared import Deps
from switchboard_runtime.messaging import Subscription

__all__ = ["SUBSCRIPTION", "SUBSCRIPTIONS"]

#: crm-touch's whole subscription: one consumer group over every input topic, so within a
#: replica events are applied one after the other (no two handlers race for one touch).
#: Other events on these topics (ringing, transfers, tags, operators) are skipped.
SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="crm-touch",
    handlers={
        IntegrationSettingsChanged: on_settings_changed,
        ClinicChanged: on_clinic_changed,
        ClientRegistered: on_client_state,
        ClientUpdated: on_client_state,
        ClientsMerged: on_clients_merged,
        CallStarted: on_call_event,
        CallAnswered: on_call_event,
        CallEnded: on_call_event,
        AppointmentBooked: on_appointment_booked,
        AppointmentRescheduled: on_appointment_rescheduled,
        AppointmentCancelled: on_appointment_cancelled,
    },
)
SUBSCRIPTIONS = (SUBSCRIPTION,)
