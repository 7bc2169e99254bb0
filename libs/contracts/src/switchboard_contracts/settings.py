"""Telephony's settings events: integrations on ``telephony.settings``, the chain's public
numbers on ``telephony.directory``.

Integration events say only whether an integration is switched on. Credentials (tokens,
IDs, URLs) never leave telephony's database and never appear in an event. DID events are
the directory of the chain's advertised numbers (Settings → Numbers and clinics), so that
reports can label a number with what it advertises.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from switchboard_contracts.base import Event, NonEmptyStr, UtcDatetime

__all__ = ["DidChanged", "Integration", "IntegrationSettingsChanged"]

Integration = Literal["calltouch", "callmarker"]
"""An external call-tracking / speech-analytics integration."""


class IntegrationSettingsChanged(Event):
    """An integration was switched on or off (e.g. crm-touch reads Calltouch's flag)."""

    event_type: ClassVar[str] = "IntegrationSettingsChanged"

    integration: Integration
    enabled: bool
    changed_at: UtcDatetime


class DidChanged(Event):
    """A public number (DID) was added, changed (its clinic or description) or removed: its
    whole state after the change, keyed by the number, so a compacted topic keeps the last."""

    event_type: ClassVar[str] = "DidChanged"

    did: NonEmptyStr = Field(description="The public number, E.164; the message key.")
    clinic_id: str | None = Field(default=None, description="The clinic its calls are routed to.")
    description: str | None = Field(
        default=None, description="What the number is for (a campaign, a site), as admins put it."
    )
    active: bool = Field(default=True, description="False once the number is removed.")
    changed_at: UtcDatetime
