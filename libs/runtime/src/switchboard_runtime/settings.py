"""Settings every service shares, read from the environment with pydantic-settings.

A service subclasses :class:`ServiceSettings` once, with its own ``env_prefix``
(``TELEPHONY_``, ``ANALYTICS_`` …). The three infrastructure endpoints are read
from the unprefixed ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` and ``REDIS_URL``
too, so one environment can point every service at the same servers, while
``<PREFIX>DATABASE_URL`` still lets an operator give a service a server of its own. The
chain's phone region is read the same way (``DEFAULT_REGION``).
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from switchboard_phones import check_region

#: An ISO 3166 region code ``phonenumbers`` knows, upper-cased.
Region = Annotated[str, AfterValidator(check_region)]


class ServiceSettings(BaseSettings):
    """Base settings of a Switchboard service.

    Subclasses set ``service_name`` and ``model_config = service_config("PREFIX_")``.
    Each service owns one PostgreSQL database; when the database URL names the
    server's default ``postgres`` database, the service's own database name
    (``switchboard_<service>``, plus ``database_suffix`` in tests) is used instead.
    """

    service_name: ClassVar[str] = "service"

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    #: How every Kafka client of the service connects: ``PLAINTEXT`` (local runs),
    #: ``SASL_PLAINTEXT`` or ``SASL_SSL`` with SCRAM credentials of the service's own Kafka
    #: user, whose ACLs allow its own topics only (:func:`switchboard_runtime.acls.kafka_acls`).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    #: CA bundle that signed the brokers' certificates (``SASL_SSL``); the system's when unset.
    kafka_ssl_cafile: str | None = None
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:15432/postgres"
    redis_url: str = "redis://127.0.0.1:16379/0"
    # Prepended to every topic and consumer group: lets test runs and several
    # chains share one broker without seeing each other's messages.
    topic_prefix: str = ""
    database_suffix: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    #: Region of phone numbers written without a country code (``8 495 …`` is Moscow in
    #: ``RU``): one chain, one region, so every service reads and searches numbers alike.
    default_region: Region = "RU"
    # Shared secret the console and services use to sign operator sessions.
    auth_secret: SecretStr = SecretStr("dev-only-secret-change-me-in-every-deployment")
    #: Create missing topics on start (local runs and tests); in Kubernetes the
    #: Strimzi KafkaTopic resources own topics and this is switched off.
    kafka_create_topics: bool = True
    kafka_topic_replication: int = Field(default=1, ge=1, le=5)
    #: Connections kept per process (and as many again on bursts).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # Consumer tuning: bounded retries before a message is dead-lettered.
    consumer_max_attempts: int = Field(default=3, ge=1, le=20)
    consumer_batch_max_records: int = Field(default=500, ge=1, le=10_000)
    #: How long a fetch waits at the broker for new records. The consumer keeps one fetch
    #: in flight per broker and leaves out of it the partitions whose records it has not
    #: handled yet, so a record arriving on one of those waits for that fetch to end: at
    #: Kafka's 500 ms default, the tail of every hop (the pop-up's p99). Idle, each
    #: consumer asks its brokers this often.
    consumer_fetch_max_wait_ms: int = Field(default=20, ge=1, le=500)
    outbox_poll_interval_seconds: float = Field(default=0.2, gt=0, le=10)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Proxies (addresses or CIDRs) whose ``X-Forwarded-For`` is believed about the
    #: browser's address (the audit trail's "from where"): the console gateway, which runs
    #: beside the services locally; in a cluster, its pods' network.
    trusted_proxies: list[str] = Field(default=["127.0.0.0/8", "::1/128"])

    @model_validator(mode="before")
    @classmethod
    def _read_unprefixed_infra(cls, data: Any) -> Any:
        """Accept the unprefixed infrastructure variables as fallbacks."""
        if not isinstance(data, dict):
            return data
        for name in (
            "kafka_bootstrap_servers",
            "kafka_security_protocol",
            "kafka_sasl_mechanism",
            "kafka_sasl_username",
            "kafka_sasl_password",
            "kafka_ssl_cafile",
            "database_url",
            "redis_url",
            "topic_prefix",
            "database_suffix",
            "auth_secret",
            "log_level",
            "log_json",
            "kafka_create_topics",
            "kafka_topic_replication",
            "default_region",
        ):
            if name not in data and name.upper() in os.environ:
                data[name] = os.environ[name.upper()]
        return data

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> ServiceSettings:
        # Refused at start rather than as an authentication failure on the first connect.
        if self.kafka_security_protocol != "PLAINTEXT" and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # A typo must not silently trust nobody (or somebody else): refuse it at start.
        return [str(ipaddress.ip_network(entry.strip(), strict=False)) for entry in value]

    @property
    def service_database_url(self) -> str:
        """The SQLAlchemy async URL of this service's own database."""
        url = make_url(self.database_url)
        if url.database in (None, "", "postgres"):
            url = url.set(database=f"switchboard_{self.service_name.replace('-', '_')}")
        if self.database_suffix:
            url = url.set(database=f"{url.database}{self.database_suffix}")
        return url.render_as_string(hide_password=False)

    def topic(self, name: str) -> str:
        """The physical Kafka topic for a logical topic name from the contracts."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """The physical consumer group id for a logical group name."""
        return f"{self.topic_prefix}{name}"


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The settings config for a service: its env prefix, unknown variables ignored."""
    return SettingsConfigDict(env_prefix=env_prefix, extra="ignore", populate_by_name=True)


__all__ = ["Region", "ServiceSettings", "service_config"]
