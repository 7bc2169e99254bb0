"""CrmTouch settings (env prefix ``CRM_TOUCH_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from switchboard_runtime.settings import ServiceSettings, service_config


class CrmTouchSettings(ServiceSettings):
    """What the crm-touch service reads from its environment."""

    service_name: ClassVar[str] = "crm-touch"
    model_config = service_config("CRM_TOUCH_")

    http_port: int = 8003
    #: Whether Calltouch touch creation is on while no ``IntegrationSettingsChanged`` for
    #: Calltouch was ever seen on ``telephony.settings``. Off by default, so that a fresh
    #: deployment creates no touches until telephony says so; ``make run`` turns it on.
    calltouch_enabled_default: bool = False
    #: Largest page the touch list returns.
    touch_page_max: int = Field(default=500, ge=1, le=5000)
