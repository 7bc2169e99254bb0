"""Analytics settings (env prefix ``ANALYTICS_``)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from switchboard_runtime.settings import ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    """What the analytics service reads from its environment."""

    service_name: ClassVar[str] = "analytics"
    model_config = service_config("ANALYTICS_")

    http_port: int = 8004
    # The zone of calls whose clinic's zone is not known (yet): the chain's head office.
    default_time_zone: str = "Europe/Moscow"
    # How long after a missed call a call to or from the number counts as calling back.
    callback_window_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    # The region numbers typed without a country code are read in (search).
    phone_region: str = "RU"

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone: {value!r}") from exc
        return value

    @property
    def callback_window(self) -> timedelta:
        """The called-back window as a duration."""
        return timedelta(hours=self.callback_window_hours)
