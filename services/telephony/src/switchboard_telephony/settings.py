"""Telephony settings (env prefix ``TELEPHONY_``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from switchboard_runtime.secret_box import parse_keys
from switchboard_runtime.settings import ServiceSettings, service_config


class TelephonySettings(ServiceSettings):
    """What the telephony service reads from its environment.

    Integration settings (Calltouch, Callmarker) are not here: an admin edits them through
    the API and they live in telephony's database.
    """

    service_name: ClassVar[str] = "telephony"
    model_config = service_config("TELEPHONY_")

    http_port: int = 8001
    #: The PBX ingest applies a whole Kafka batch per transaction and the relay sends a
    #: whole outbox page per produce round: larger than the runtime's 500, so that the
    #: per-batch statements and round trips are paid over more events when a backlog
    #: builds (a quiet stream still goes out as it comes: a batch is what has arrived).
    consumer_batch_max_records: int = Field(default=2000, ge=1, le=10_000)
    outbox_batch_size: int = Field(default=2000, ge=1, le=10_000)
    #: The PBX integration token: the key the PBX signs each webhook delivery with
    #: (``X-Switchboard-Signature``, see ``domain.signing``); it never travels itself.
    pbx_token: SecretStr = SecretStr("dev-pbx-token")
    #: Keys sealing the integration tokens stored in the database (AES-256-GCM):
    #: ``<id>:<base64 of 32 bytes>[,<id>:<key>…]``, the first the current one. To rotate,
    #: put a new key first, keep the old ones, run ``switchboard-telephony rotate-secrets``,
    #: then drop the old keys. The default is for local runs only.
    secret_keys: SecretStr = SecretStr("dev:ZGV2LW9ubHkta2V5LWNoYW5nZS1tZS0zMi1ieXRlcyE=")
    #: How far a delivery's ``X-Switchboard-Timestamp`` may be from this server's clock;
    #: an accepted delivery is remembered this long so that it cannot be replayed.
    pbx_signature_tolerance_seconds: int = Field(default=300, ge=10, le=3600)
    #: Mango Office's realtime API: the VPBX's unique code (``vpbx_api_key``) and its
    #: signing salt (``vpbx_api_salt``); both set turns on ``/api/telephony/pbx/mango``.
    mango_api_key: SecretStr | None = None
    mango_api_salt: SecretStr | None = None
    #: Twilio: the account's Auth Token, the key of ``X-Twilio-Signature``; set turns on
    #: ``/api/telephony/pbx/twilio``.
    twilio_auth_token: SecretStr | None = None
    #: The base URL cloud PBXs call telephony at (``https://hooks.clinic.example``). Twilio
    #: signs the full URL it called, which behind an ingress is not the one telephony sees.
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    #: How long an accepted cloud PBX delivery is remembered against replays, and how far the
    #: time its signed data carries may be from the server's clock (providers sign no
    #: delivery time of their own; Mango's is the event's time, Twilio's the callback's).
    cloud_pbx_replay_window_seconds: int = Field(default=21_600, ge=60, le=604_800)
    #: Minutes the PBX clock is behind real time; added to every PBX timestamp. Only the
    #: fallback: the time lag of an enabled integration (Calltouch first, then Callmarker)
    #: wins over it (see ``domain.integrations.effective_time_lag``).
    time_lag_minutes: int = Field(default=0, ge=-1440, le=1440)
    #: How long to wait for a missing earlier event of a call before going on without it.
    reorder_grace_seconds: float = Field(default=10.0, gt=0, le=3600)
    #: A call with no end this long after its start is closed as failed (timeout).
    no_end_timeout_seconds: float = Field(default=7200.0, gt=0)
    #: Sweeper period: how often held and timed-out calls are looked at.
    sweep_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Webhook limits.
    webhook_max_events: int = Field(default=1000, ge=1)
    webhook_max_bytes: int = Field(default=1_048_576, ge=1024)
    #: How often each replica checks whether DIDs, extensions, operators or integration
    #: settings changed (a one-row query); a change made in this process applies at once.
    config_refresh_seconds: float = Field(default=2.0, gt=0, le=300)
    #: Callmarker push worker: how often it looks for due deliveries.
    callmarker_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Delay after the first failed delivery; doubled on each failure up to the maximum.
    callmarker_backoff_initial_seconds: float = Field(default=2.0, gt=0, le=3600)
    callmarker_backoff_max_seconds: float = Field(default=600.0, gt=0, le=86_400)
    #: Timeout of one delivery request.
    callmarker_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: Deliveries sent per round (concurrently).
    callmarker_batch_size: int = Field(default=20, ge=1, le=500)
    #: Largest body accepted by the Callmarker tags callback.
    callmarker_tags_max_bytes: int = Field(default=65_536, ge=1024)

    #: Click-to-call: ``none`` (off), ``ami`` (Asterisk ``Originate``) or ``webhook`` (a
    #: signed JSON command to ``click_to_call_url``), see ``adapters/originate.py``.
    click_to_call: Literal["none", "ami", "webhook"] = "none"
    click_to_call_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    click_to_call_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    #: The Asterisk AMI the service originates through (user with ``write = originate``).
    ami_host: str | None = None
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str | None = None
    ami_secret: SecretStr | None = None
    #: ``Originate``'s channel (``{extension}`` the operator's), context, priority, the
    #: caller ID the operator's phone shows (``{number}``, ``{extension}``), ring time.
    originate_channel: str = "PJSIP/{extension}"
    originate_context: str = "from-internal"
    originate_priority: int = Field(default=1, ge=1)
    originate_caller_id: str = "{number} <{number}>"
    originate_ring_seconds: int = Field(default=30, ge=5, le=300)

    @property
    def delivery_log_prefix(self) -> str:
        """The prefix of the Redis keys remembering accepted PBX deliveries."""
        return f"{self.topic_prefix}telephony:pbx-delivery:"

    @field_validator("secret_keys")
    @classmethod
    def _keys_are_usable(cls, value: SecretStr) -> SecretStr:
        """Refuse a malformed key list at start-up, saying what is wrong (never the key)."""
        parse_keys(value.get_secret_value())
        return value
