"""Telephony's handlers: one per command or consumed message kind, dependencies as arguments.

Consumed messages (raw PBX events, directory events) are handled inside the consumer's
transaction (``session``); commands from the API open their own unit of work from
:class:`Deps`, commit, then refresh the in-memory configuration and wake the outbox relay.

One module per area: raw PBX events and the sweeper in :mod:`.calls`, booking's operators,
DIDs and extensions in :mod:`.directory`, integration settings and Callmarker in
:mod:`.integrations`; :class:`Deps` in :mod:`.shared`; the subscriptions here. Every
handler is importable from this package.
"""

from __future__ import annotations

from switchboard_contracts import PBX_EVENTS_RAW, OperatorChanged
from switchboard_runtime.messaging import RawSubscription, Subscription
from switchboard_telephony.handlers.calls import (
    call_envelopes,
    handle_pbx_event,
    handle_pbx_events,
    sweep_due_calls,
)
from switchboard_telephony.handlers.directory import (
    add_did,
    add_extension,
    canonical_did,
    canonical_extension,
    change_did,
    change_extension,
    find_did,
    find_extension,
    on_operator_changed,
    publish_did,
    remove_did,
    remove_extension,
)
from switchboard_telephony.handlers.integrations import (
    CALLMARKER_PUSHES,
    IntegrationUpdate,
    IntegrationView,
    callmarker_delivery_status,
    callmarker_retry,
    check_callmarker_token,
    push_callmarker_deliveries,
    read_integration,
    save_integration,
    tag_call,
)
from switchboard_telephony.handlers.shared import Deps

__all__ = [
    "CALLMARKER_PUSHES",
    "DIRECTORY_SUBSCRIPTION",
    "PBX_INGEST",
    "SUBSCRIPTIONS",
    "Deps",
    "IntegrationUpdate",
    "IntegrationView",
    "add_did",
    "add_extension",
    "call_envelopes",
    "callmarker_delivery_status",
    "callmarker_retry",
    "canonical_did",
    "canonical_extension",
    "change_did",
    "change_extension",
    "check_callmarker_token",
    "find_did",
    "find_extension",
    "handle_pbx_event",
    "handle_pbx_events",
    "on_operator_changed",
    "publish_did",
    "push_callmarker_deliveries",
    "read_integration",
    "remove_did",
    "remove_extension",
    "save_integration",
    "sweep_due_calls",
    "tag_call",
]

#: The directory subscription (group ``telephony.directory``); clinics and call centers
#: tell telephony nothing.
DIRECTORY_SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="telephony.directory", handlers={OperatorChanged: on_operator_changed}
)
#: Raw PBX input (not contract events): its consumer, with its own parser, is the PBX
#: ingest in entrypoints/consumers.py.
PBX_INGEST = RawSubscription(group="telephony.pbx-ingest", topics=(PBX_EVENTS_RAW,))
SUBSCRIPTIONS = (PBX_INGEST, DIRECTORY_SUBSCRIPTION)
