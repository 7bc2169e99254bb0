"""Analytics settings (env prefix ``ANALYTICS_``)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator

from switchboard_runtime.settings import Region, ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    """What the analytics service reads from its environment."""

    service_name: ClassVar[str] = "analytics"
    model_config = service_config("ANALYTICS_")

    http_port: int = 8004
    #: The projection applies a whole Kafka batch per transaction, its roll-up delta in
    #: one statement: a backlog (a restart, a burst, a chain's morning) drains in batches
    #: twenty times the runtime's 500, over which that statement's fixed cost is paid and
    #: more calls share each roll-up row. A quiet stream still goes out as it comes: a
    #: batch is what has arrived.
    consumer_batch_max_records: int = Field(default=10_000, ge=1, le=10_000)
    # The zone of calls whose clinic's zone is not known (yet): the chain's head office.
    default_time_zone: str = "Europe/Moscow"
    # How long after a missed call a call to or from the number counts as calling back.
    callback_window_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    # How far back the call-back worklist reaches: older missed calls are left to the call
    # log (a number that called a month ago is no longer waiting for a call).
    worklist_days: int = Field(default=7, ge=1, le=366)
    # The platform's one region setting; ANALYTICS_PHONE_REGION is its name before it was
    # one setting, still read so that older deployments keep their region.
    default_region: Region = Field(
        default="RU",
        validation_alias=AliasChoices("ANALYTICS_DEFAULT_REGION", "ANALYTICS_PHONE_REGION"),
    )

    #: The PBX's recording server: recordings are fetched only from under this base URL
    #: (``https://pbx.clinic.local/recordings/``), with HTTP basic auth when both the
    #: username and password are set. Unset: no recording can be played.
    recording_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    recording_username: str | None = None
    recording_password: SecretStr | None = None
    #: Connecting to and waiting for the recording server (not the length of a download).
    recording_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    #: How long the audit trail keeps a record (days after the action); the retention job
    #: (``switchboard-analytics prune-audit``) deletes older ones. The database refuses to
    #: delete anything younger than 30 days whatever this says.
    audit_retention_days: int = Field(
        default=400,
        ge=30,
        le=36_500,
        validation_alias=AliasChoices("ANALYTICS_AUDIT_RETENTION_DAYS", "AUDIT_RETENTION_DAYS"),
    )

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone: {value!r}") from exc
        return value

    @property
    def worklist_horizon(self) -> timedelta:
        """How far back the call-back worklist reaches."""
        return timedelta(days=self.worklist_days)

    @property
    def callback_window(self) -> timedelta:
        """The called-back window as a duration."""
        return timedelta(hours=self.callback_window_hours)
