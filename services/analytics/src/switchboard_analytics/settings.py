"""Analytics settings (env prefix ``ANALYTICS_``)."""

from __future__ import annotations

from typing import ClassVar

from switchboard_runtime.settings import ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    """What the analytics service reads from its environment."""

    service_name: ClassVar[str] = "analytics"
    model_config = service_config("ANALYTICS_")

    http_port: int = 8004
