"""CrmTouch settings (env prefix ``CRM_TOUCH_``)."""

from __future__ import annotations

from typing import ClassVar

import phonenumbers
from pydantic import Field, field_validator

from switchboard_runtime.settings import ServiceSettings, service_config


class CrmTouchSettings(ServiceSettings):
    """What the crm-touch service reads from its environment."""

    service_name: ClassVar[str] = "crm-touch"
    model_config = service_config("CRM_TOUCH_")

    http_port: int = 8003
    #: Region used to read numbers written without a country code ("8 495 …" in RU).
    default_region: str = "RU"
    #: Whether Calltouch touch creation is on while no ``IntegrationSettingsChanged`` for
    #: Calltouch was ever seen on ``telephony.settings``. Off by default, so that a fresh
    #: deployment creates no touches until telephony says so; ``make run`` turns it on.
    calltouch_enabled_default: bool = False
    #: Largest page the touch list returns.
    touch_page_max: int = Field(default=500, ge=1, le=5000)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (an ISO 3166 code such as RU)")
        return region
