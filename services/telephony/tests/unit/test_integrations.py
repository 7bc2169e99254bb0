"""Integration settings rules: validation, which time lag wins, Callmarker retry delays."""

from __future__ import annotations

import pytest

from switchboard_telephony.domain.errors import InvalidRequest
from switchboard_telephony.domain.integrations import (
    IntegrationSettings,
    TimeLag,
    effective_time_lag,
    validate,
)
from switchboard_telephony.handlers import callmarker_retry
from switchboard_telephony.settings import TelephonySettings

COMPLETE = IntegrationSettings(
    integration="callmarker",
    enabled=True,
    call_data_url="https://cm.example/calls",
    request_data_url="http://10.0.0.5:8080/requests?x=1",
    integration_id="42",
    token="secret",
    time_lag_minutes=-15,
)


def _fields(exc: pytest.ExceptionInfo[InvalidRequest]) -> list[str]:
    return sorted(e.field for e in exc.value.errors)


def test_a_complete_enabled_integration_is_valid() -> None:
    assert validate(COMPLETE) == COMPLETE


def test_every_field_is_required_when_enabled() -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate(IntegrationSettings(integration="calltouch", enabled=True))
    assert _fields(exc) == [
        "call_data_url",
        "integration_id",
        "request_data_url",
        "time_lag_minutes",
        "token",
    ]


def test_blank_strings_count_as_missing() -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate(COMPLETE.with_changes(integration_id="  ", token=""))
    assert _fields(exc) == ["integration_id", "token"]


def test_a_disabled_integration_may_be_empty() -> None:
    empty = IntegrationSettings(integration="calltouch")
    assert validate(empty) == empty
    assert validate(empty.with_changes(call_data_url=" ")).call_data_url is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cm.example/x",
        "cm.example/requests",
        "https://",
        "http://cm.example:99999/x",
        "https://cm.example/a b",
        "javascript:alert(1)",
    ],
)
def test_urls_must_be_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate(COMPLETE.with_changes(request_data_url=url))
    assert _fields(exc) == ["request_data_url"]


def test_urls_are_checked_even_when_disabled() -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate(COMPLETE.with_changes(enabled=False, call_data_url="mailto:x@y"))
    assert _fields(exc) == ["call_data_url"]


@pytest.mark.parametrize("lag", [-1441, 1441, 10**6])
def test_the_time_lag_stays_within_a_day(lag: int) -> None:
    with pytest.raises(InvalidRequest) as exc:
        validate(COMPLETE.with_changes(time_lag_minutes=lag))
    assert _fields(exc) == ["time_lag_minutes"]


@pytest.mark.parametrize("lag", [-1440, 0, 1440])
def test_time_lag_bounds_are_allowed(lag: int) -> None:
    assert validate(COMPLETE.with_changes(time_lag_minutes=lag)).time_lag_minutes == lag


def _s(name: str, enabled: bool, lag: int | None) -> IntegrationSettings:
    return IntegrationSettings(integration=name, enabled=enabled, time_lag_minutes=lag)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ([], TimeLag(7, "environment")),
        ([_s("calltouch", False, 30)], TimeLag(7, "environment")),
        ([_s("callmarker", True, -5)], TimeLag(-5, "callmarker")),
        ([_s("callmarker", True, -5), _s("calltouch", True, 30)], TimeLag(30, "calltouch")),
        ([_s("callmarker", True, -5), _s("calltouch", False, 30)], TimeLag(-5, "callmarker")),
        ([_s("calltouch", True, None)], TimeLag(7, "environment")),
        ([_s("calltouch", True, 0)], TimeLag(0, "calltouch")),
    ],
)
def test_an_enabled_integrations_lag_wins_calltouch_first(
    settings: list[IntegrationSettings], expected: TimeLag
) -> None:
    assert effective_time_lag(settings, 7) == expected


@pytest.mark.parametrize(
    ("failures", "unjittered"), [(1, 2), (2, 4), (5, 32), (6, 60), (10**4, 60)]
)
def test_a_failed_callmarker_delivery_waits_within_the_settings_bounds(
    failures: int, unjittered: float
) -> None:
    settings = TelephonySettings(
        callmarker_backoff_initial_seconds=2, callmarker_backoff_max_seconds=60
    )
    delay = callmarker_retry(settings).delay(failures)
    assert unjittered * 0.8 <= delay <= unjittered * 1.2
