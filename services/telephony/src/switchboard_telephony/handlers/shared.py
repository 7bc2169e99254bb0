"""What every area's handlers share: their dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_runtime.secret_box import SecretBox
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.settings import TelephonySettings

__all__ = ["Deps"]


@dataclass(frozen=True)
class Deps:
    """What command handlers need, built once in ``bootstrap``."""

    sessions: async_sessionmaker[AsyncSession]
    settings: TelephonySettings
    config: ConfigCache
    #: Seals and opens the integration tokens stored in the database.
    secrets: SecretBox
