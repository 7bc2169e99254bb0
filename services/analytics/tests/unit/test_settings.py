"""Analytics' settings: the platform's one phone region, under its old name too."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from switchboard_analytics.settings import AnalyticsSettings


@pytest.fixture(autouse=True)
def _no_region_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANALYTICS_DEFAULT_REGION", "ANALYTICS_PHONE_REGION", "DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_the_region_is_default_region_like_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AnalyticsSettings().default_region == "RU"
    monkeypatch.setenv("DEFAULT_REGION", "gb")
    assert AnalyticsSettings().default_region == "GB"
    monkeypatch.setenv("ANALYTICS_DEFAULT_REGION", "de")
    assert AnalyticsSettings().default_region == "DE"
    assert AnalyticsSettings(default_region="kz").default_region == "KZ"
    with pytest.raises(ValidationError):
        AnalyticsSettings(default_region="Moscow")


def test_the_old_variable_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_REGION", "GB")
    monkeypatch.setenv("ANALYTICS_PHONE_REGION", "DE")
    assert AnalyticsSettings().default_region == "DE"
    monkeypatch.setenv("ANALYTICS_DEFAULT_REGION", "FR")
    assert AnalyticsSettings().default_region == "FR"
