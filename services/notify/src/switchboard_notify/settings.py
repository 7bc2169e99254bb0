"""Notify settings (env prefix ``NOTIFY_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from switchboard_runtime.settings import ServiceSettings, service_config


class NotifySettings(ServiceSettings):
    """What the notify service reads from its environment."""

    service_name: ClassVar[str] = "notify"
    model_config = service_config("NOTIFY_")

    http_port: int = 8005
    #: Every replica of one deployment must use the same prefix; empty means
    #: ``<TOPIC_PREFIX>notify:`` so test runs sharing one Redis never meet.
    redis_key_prefix: str = ""
    #: How long an open pop-up is kept when no answer or end ever comes.
    popup_ttl_seconds: int = Field(default=3600, ge=10, le=86_400)
    #: A pop-up with no identification this long after it opened shows the number as
    #: unknown (and is still updated in place if the identification comes later).
    identification_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    #: How long a closed call is remembered (a late CallRinging must not reopen it).
    closed_ttl_seconds: int = Field(default=3600, ge=10, le=86_400)
    #: How long an operator's current call (on the call, then in wrap-up) is kept after its
    #: last change when no end, result or dismissal ever comes: a working shift.
    current_call_ttl_seconds: int = Field(default=43_200, ge=10, le=172_800)
    #: At most this many open pop-ups per extension are replayed to a (re)connecting console.
    resume_max_popups: int = Field(default=50, ge=1, le=1000)
    #: The server sends ``{"type": "ping"}`` this often.
    heartbeat_seconds: float = Field(default=20.0, gt=0, le=300)
    #: A session that sends nothing (no pong, no ping) this long is closed (code 4408).
    idle_timeout_seconds: float = Field(default=75.0, gt=0, le=3600)
    #: Messages queued for one session before it is treated as too slow and closed (1013).
    session_queue_max: int = Field(default=1000, ge=10, le=100_000)
    #: Largest client message accepted (bytes of text).
    max_client_message_bytes: int = Field(default=4096, ge=256, le=1_048_576)
    #: Browser origins allowed to open the WebSocket (comma-separated); empty: any. A
    #: handshake with another ``Origin`` is refused (403) — defence in depth against
    #: cross-site WebSocket hijacking on top of the session cookie's SameSite=Lax.
    allowed_origins: str = ""
    #: Upper bound of the back-off between attempts to reach Redis again.
    redis_reconnect_max_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def redis_prefix(self) -> str:
        """The prefix of every Redis key and channel notify uses."""
        return self.redis_key_prefix or f"{self.topic_prefix}notify:"

    @property
    def allowed_origin_set(self) -> frozenset[str]:
        """:attr:`allowed_origins` as a set (empty: any origin)."""
        origins = (o.strip().rstrip("/") for o in self.allowed_origins.split(","))
        return frozenset(o for o in origins if o)
