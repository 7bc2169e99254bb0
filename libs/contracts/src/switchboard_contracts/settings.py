"""Integration settings events, published by telephony on ``telephony.settings``.

They say only whether an integration is switched on. Credentials (tokens, IDs, URLs) never
leave telephony's database and never appear in an event.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from switchboard_contracts.base import Event, UtcDatetime

__all__ = ["Integration", "IntegrationSettingsChanged"]

Integration = Literal["calltouch", "callmarker"]
"""An external call-tracking / speech-analytics integration."""


class IntegrationSettingsChanged(Event):
    """An integration was switched on or off (e.g. crm-touch reads Calltouch's flag)."""

    event_type: ClassVar[str] = "IntegrationSettingsChanged"

    integration: Integration
    enabled: bool
    changed_at: UtcDatetime
