"""Console gateway settings (env prefix ``CONSOLE_``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: ``console/dist`` of the repository this package is installed from (editable install).
DEFAULT_STATIC_DIR = Path(__file__).resolve().parents[4] / "console" / "dist"


class ConsoleSettings(BaseSettings):
    """What the console gateway reads from its environment.

    The gateway keeps no state and talks to no database or broker: it serves the built
    console and, for ``make run``, routes ``/api/<service>/…`` (HTTP and the notify
    WebSocket) to each service. In Kubernetes the ingress routes ``/api`` instead, and
    ``CONSOLE_PROXY_ENABLED=false`` leaves the gateway serving only the bundle.
    """

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", populate_by_name=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    #: The built console (``npm run build`` output); ``make console-build`` makes it.
    static_dir: Path = DEFAULT_STATIC_DIR
    proxy_enabled: bool = True
    telephony_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    crm_url: str = "http://127.0.0.1:8003"
    analytics_url: str = "http://127.0.0.1:8004"
    notify_url: str = "http://127.0.0.1:8005"
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Generous, because CSV exports stream the whole filtered call log.
    read_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    max_connections: int = Field(default=200, ge=1, le=10_000)
    #: Proxies (addresses or CIDRs) in front of the gateway whose ``X-Forwarded-Proto`` and
    #: ``X-Forwarded-For`` are believed: the ingress that terminates TLS. Nobody by default,
    #: so a client cannot claim TLS (and HSTS) it does not have.
    trusted_proxies: list[str] = Field(default_factory=list)
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("CONSOLE_LOG_LEVEL", "LOG_LEVEL")
    )
    log_json: bool = Field(
        default=True, validation_alias=AliasChoices("CONSOLE_LOG_JSON", "LOG_JSON")
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # A typo must not silently trust nobody (or somebody else): refuse it at start.
        return [str(ipaddress.ip_network(entry.strip(), strict=False)) for entry in value]

    def upstreams(self) -> dict[str, str]:
        """The first path segment after ``/api/`` → the base URL of the service behind it."""
        return {
            "telephony": self.telephony_url,
            "booking": self.booking_url,
            "crm": self.crm_url,
            "analytics": self.analytics_url,
            "notify": self.notify_url,
        }
