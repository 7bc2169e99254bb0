"""Notify settings (env prefix ``NOTIFY_``)."""

from __future__ import annotations

from typing import ClassVar

from switchboard_runtime.settings import ServiceSettings, service_config


class NotifySettings(ServiceSettings):
    """What the notify service reads from its environment."""

    service_name: ClassVar[str] = "notify"
    model_config = service_config("NOTIFY_")

    http_port: int = 8005
