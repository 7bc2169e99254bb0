"""Handlers of the directory and integration settings: clinics' names and time zones, and
integration switches (crm-touch acts on Calltouch's)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClinicChanged, Envelope, IntegrationSettingsChanged
from switchboard_crm_touch.adapters import repository
from switchboard_crm_touch.adapters.tables import clinics
from switchboard_crm_touch.handlers.shared import Deps
from switchboard_runtime.directory import project_clinic
from switchboard_runtime.logging import get_logger

log = get_logger(__package__)


async def on_clinic_changed(
    session: AsyncSession, envelope: Envelope[ClinicChanged], _deps: Deps
) -> None:
    """Remember the clinic's name and time zone (for "next visit" in local time)."""
    await project_clinic(session, clinics, envelope)


async def on_settings_changed(
    session: AsyncSession, envelope: Envelope[IntegrationSettingsChanged], _deps: Deps
) -> None:
    """Remember an integration's switch (crm-touch acts on Calltouch's)."""
    event = envelope.payload
    await repository.save_integration_setting(
        session, event.integration, event.enabled, event.changed_at
    )
    log.info("crm.integration_switched", integration=event.integration, enabled=event.enabled)
