"""CrmTouch settings (env prefix ``CRM_TOUCH_``)."""

from __future__ import annotations

from typing import ClassVar

from switchboard_runtime.settings import ServiceSettings, service_config


class CrmTouchSettings(ServiceSettings):
    """What the crm-touch service reads from its environment."""

    service_name: ClassVar[str] = "crm-touch"
    model_config = service_config("CRM_TOUCH_")

    http_port: int = 8003
