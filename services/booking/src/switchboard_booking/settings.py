"""Booking settings (env prefix ``BOOKING_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from switchboard_runtime.settings import ServiceSettings, service_config


class BookingSettings(ServiceSettings):
    """What the booking service reads from its environment."""

    service_name: ClassVar[str] = "booking"
    model_config = service_config("BOOKING_")

    http_port: int = 8002
    #: Whether the chain requires a cancellation reason (from the configured list).
    cancellation_reason_required: bool = True
    #: Spacing of the start times availability offers.
    slot_step_minutes: int = Field(default=15, ge=5, le=240)
