"""Integration settings (Calltouch, Callmarker): what a valid configuration is, which time
lag corrects the PBX clock.

Plain data and functions; the API, the database and the push worker call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from switchboard_telephony.domain.errors import FieldError, InvalidRequest

__all__ = [
    "INTEGRATIONS",
    "MAX_TIME_LAG_MINUTES",
    "Integration",
    "IntegrationSettings",
    "TimeLag",
    "effective_time_lag",
    "validate",
]

Integration = Literal["calltouch", "callmarker"]
INTEGRATIONS: tuple[Integration, ...] = ("calltouch", "callmarker")
"""Every integration, in the order their time lags take precedence."""

MAX_TIME_LAG_MINUTES = 1440
"""A PBX clock off by more than a day is misconfigured, not lagging."""

_REQUIRED_WHEN_ENABLED = (
    "call_data_url",
    "request_data_url",
    "integration_id",
    "token",
    "time_lag_minutes",
)


@dataclass(frozen=True, slots=True)
class IntegrationSettings:
    """One integration's configuration. ``token`` is a secret: it is stored and used, never
    shown (the API says only whether one is set)."""

    integration: Integration
    enabled: bool = False
    call_data_url: str | None = None
    request_data_url: str | None = None
    integration_id: str | None = None
    token: str | None = None
    time_lag_minutes: int | None = None

    @property
    def token_set(self) -> bool:
        """Whether a token is stored."""
        return bool(self.token)

    def with_changes(self, **changes: object) -> IntegrationSettings:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "must be a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    try:
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError:
        return "has an invalid port"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    return None


def validate(settings: IntegrationSettings) -> IntegrationSettings:
    """``settings`` with blank strings read as unset, or :class:`InvalidRequest` naming
    every invalid field.

    Every field is mandatory when the integration is enabled; whatever is given must be
    valid even when it is disabled (http(s) URLs, a time lag in whole minutes within a day
    either way).
    """
    cleaned = settings.with_changes(
        call_data_url=_blank_to_none(settings.call_data_url),
        request_data_url=_blank_to_none(settings.request_data_url),
        integration_id=_blank_to_none(settings.integration_id),
        token=settings.token if settings.token else None,
    )
    errors: list[FieldError] = []
    if cleaned.enabled:
        errors += [
            FieldError(name, "is required when the integration is enabled")
            for name in _REQUIRED_WHEN_ENABLED
            if getattr(cleaned, name) is None
        ]
    for name in ("call_data_url", "request_data_url"):
        url = getattr(cleaned, name)
        problem = _url_problem(url) if url is not None else None
        if problem:
            errors.append(FieldError(name, problem))
    lag = cleaned.time_lag_minutes
    if lag is not None and not -MAX_TIME_LAG_MINUTES <= lag <= MAX_TIME_LAG_MINUTES:
        errors.append(
            FieldError(
                "time_lag_minutes",
                f"must be between {-MAX_TIME_LAG_MINUTES} and {MAX_TIME_LAG_MINUTES} minutes",
            )
        )
    if errors:
        raise InvalidRequest(errors)
    return cleaned


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True, slots=True)
class TimeLag:
    """The correction applied to PBX timestamps and where it comes from."""

    minutes: int
    source: Literal["calltouch", "callmarker", "environment"]


def effective_time_lag(
    integrations: Iterable[IntegrationSettings], fallback_minutes: int
) -> TimeLag:
    """Which time lag corrects the PBX clock.

    An enabled integration's lag wins over the environment's
    (``TELEPHONY_TIME_LAG_MINUTES``): Calltouch's first, then Callmarker's. A disabled
    integration's settings have no effect.
    """
    by_name = {s.integration: s for s in integrations}
    for name in INTEGRATIONS:
        found = by_name.get(name)
        if found is not None and found.enabled and found.time_lag_minutes is not None:
            return TimeLag(found.time_lag_minutes, name)
    return TimeLag(fallback_minutes, "environment")
