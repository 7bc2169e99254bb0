"""Telephony settings (env prefix ``TELEPHONY_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from switchboard_runtime.settings import ServiceSettings, service_config


class TelephonySettings(ServiceSettings):
    """What the telephony service reads from its environment."""

    service_name: ClassVar[str] = "telephony"
    model_config = service_config("TELEPHONY_")

    http_port: int = 8001
    #: The PBX integration token the webhook demands (header ``X-Integration-Token``).
    pbx_token: SecretStr = SecretStr("dev-pbx-token")
    #: Region used to read numbers written without a country code.
    default_region: str = "RU"
    #: Minutes the PBX clock is behind real time; added to every PBX timestamp.
    time_lag_minutes: int = Field(default=0, ge=-1440, le=1440)
    #: How long to wait for a missing earlier event of a call before going on without it.
    reorder_grace_seconds: float = Field(default=10.0, gt=0, le=3600)
    #: A call with no end this long after its start is closed as failed (timeout).
    no_end_timeout_seconds: float = Field(default=7200.0, gt=0)
    #: Sweeper period: how often held and timed-out calls are looked at.
    sweep_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Webhook limits.
    webhook_max_events: int = Field(default=1000, ge=1)
    webhook_max_bytes: int = Field(default=1_048_576, ge=1024)
