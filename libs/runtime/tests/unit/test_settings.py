"""Each service gets its own database and the run's topic prefix."""

from __future__ import annotations

from typing import ClassVar

import pytest

from switchboard_runtime.settings import ServiceSettings, service_config


class DemoSettings(ServiceSettings):
    service_name: ClassVar[str] = "crm-touch"
    model_config = service_config("DEMO_")


def test_the_service_database_is_derived_from_the_server_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/postgres")
    monkeypatch.setenv("DATABASE_SUFFIX", "_run1")
    monkeypatch.setenv("TOPIC_PREFIX", "t1.")
    s = DemoSettings()
    assert s.service_database_url == "postgresql+asyncpg://u:p@db:5432/switchboard_crm_touch_run1"
    assert s.topic("telephony.calls") == "t1.telephony.calls"


def test_a_prefixed_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db/postgres")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql+asyncpg://u@other/crm")
    monkeypatch.delenv("DATABASE_SUFFIX", raising=False)
    assert DemoSettings().service_database_url == "postgresql+asyncpg://u@other/crm"


def test_one_phone_region_for_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("DEFAULT_REGION", raising=False)
    assert DemoSettings().default_region == "RU"
    monkeypatch.setenv("DEFAULT_REGION", "de")
    assert DemoSettings().default_region == "DE"
    monkeypatch.setenv("DEMO_DEFAULT_REGION", "KZ")
    assert DemoSettings().default_region == "KZ"
    assert DemoSettings(default_region="by").default_region == "BY"
    with pytest.raises(ValueError, match="unknown region"):
        DemoSettings(default_region="Moscow")


def test_every_kafka_client_connects_with_the_services_scram_credentials() -> None:
    from switchboard_runtime.kafka import kafka_client_kwargs

    plain = kafka_client_kwargs(DemoSettings(kafka_bootstrap_servers="k:9092"))
    assert plain == {"bootstrap_servers": "k:9092"}
    secured = kafka_client_kwargs(
        DemoSettings(
            kafka_bootstrap_servers="k:9093",
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="crm-touch",
            kafka_sasl_password="s3cret",
        )
    )
    assert secured["security_protocol"] == "SASL_SSL"
    assert secured["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (secured["sasl_plain_username"], secured["sasl_plain_password"]) == (
        "crm-touch",
        "s3cret",
    )
    assert secured["ssl_context"] is not None


def test_sasl_without_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        DemoSettings(kafka_security_protocol="SASL_PLAINTEXT")
