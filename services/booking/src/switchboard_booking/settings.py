"""Booking settings (env prefix ``BOOKING_``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr

from switchboard_runtime.settings import ServiceSettings, service_config


class BookingSettings(ServiceSettings):
    """What the booking service reads from its environment.

    Credentials (SMTP password, SMS tokens) are ``SecretStr``: they print as ``**********``
    and the logs drop secret-looking keys, so they are never logged.
    """

    service_name: ClassVar[str] = "booking"
    model_config = service_config("BOOKING_")

    http_port: int = 8002
    #: Whether the chain requires a cancellation reason (from the configured list).
    cancellation_reason_required: bool = True
    #: Spacing of the start times availability offers.
    slot_step_minutes: int = Field(default=15, ge=5, le=240)

    # --- logins: lockouts after failures (state in Redis, shared by every replica) ----
    #: Failures of one username allowed before it is locked out, then the lockout: the
    #: first, doubling per failure up to the cap; failures are forgotten after a quiet while.
    login_user_free_failures: int = Field(default=5, ge=1, le=100)
    #: The same per client address (higher: several operators share a clinic's address).
    login_address_free_failures: int = Field(default=30, ge=1, le=10_000)
    login_lockout_first_seconds: float = Field(default=2.0, gt=0, le=3600)
    login_lockout_max_seconds: float = Field(default=900.0, gt=0, le=86_400)
    login_forget_after_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    #: How long a session found not ended in Redis is taken as such without asking again
    #: (0: ask at every request). Booking ends sessions itself, and forgets at once what it
    #: remembered when it does; a session ended through another replica is refused by this
    #: one within that time.
    session_check_remember_seconds: float = Field(default=1.0, ge=0, le=5)
    #: Proxies (CIDRs) whose ``X-Forwarded-For`` names the client, for login lockouts and
    #: the audit trail: ``BOOKING_TRUSTED_PROXIES`` like every service (the runtime's
    #: setting); the earlier ``BOOKING_LOGIN_TRUSTED_PROXIES`` is still read.
    trusted_proxies: list[str] = Field(
        default=["127.0.0.0/8", "::1/128"],
        validation_alias=AliasChoices(
            "BOOKING_TRUSTED_PROXIES", "BOOKING_LOGIN_TRUSTED_PROXIES", "trusted_proxies"
        ),
    )
    #: The shortest password an operator may choose (or an admin may reset one to).
    password_min_length: int = Field(default=10, ge=8, le=128)

    # --- notifications: the worker ------------------------------------------------------
    #: Whether ``serve`` also sends due notifications (every replica may: rows are claimed
    #: with FOR UPDATE SKIP LOCKED). Off where a separate ``deliver`` process does it.
    notifications_worker: bool = True
    #: How often the worker looks for due notifications when nothing wakes it.
    notifications_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    #: Notifications one worker claims at a time (and sends concurrently).
    notifications_batch_size: int = Field(default=20, ge=1, le=500)
    #: How long a claim holds a notification: a worker that dies mid-send releases it
    #: after this. Longer than any send can take (the channels' timeouts).
    notifications_lease_seconds: int = Field(default=180, ge=10, le=3600)
    #: Attempts before a temporary failure is recorded as failed.
    notifications_max_attempts: int = Field(default=10, ge=1, le=100)
    #: Back-off between attempts after temporary failures: first delay, cap (seconds).
    notifications_retry_first_seconds: float = Field(default=30.0, gt=0)
    notifications_retry_max_seconds: float = Field(default=3600.0, gt=0)
    #: The language of clients registered without one.
    default_language: Literal["ru", "en"] = "ru"
    #: The public origin the console is served from: unsubscribe links point there.
    public_url: str = "http://127.0.0.1:8080"

    # --- email over SMTP ----------------------------------------------------------------
    #: The SMTP server; empty: email is not configured (emails fail, saying so).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` (587), ``tls`` (implicit TLS, 465) or ``none`` (a local relay only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    #: The From header, e.g. ``Clinic <no-reply@clinic.example>``.
    smtp_from: str = "Switchboard <no-reply@switchboard.invalid>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    smtp_validate_certs: bool = True
    #: A CA bundle (PEM) for a relay whose certificate a private CA issued.
    smtp_ca_file: str = ""

    # --- SMS through an HTTP gateway -----------------------------------------------------
    #: ``webhook`` (the generic JSON format), ``twilio`` (Twilio's Messages API) or
    #: ``none`` (SMS not configured: SMS fail, saying so).
    sms_provider: Literal["none", "webhook", "twilio"] = "none"
    sms_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    #: Generic webhook: where to POST, and the bearer token it expects.
    sms_webhook_url: str = ""
    sms_webhook_token: SecretStr = SecretStr("")
    #: Optional sender name the webhook passes on.
    sms_sender: str = ""
    #: Twilio: account, auth token, and a From number or a Messaging Service.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    #: Twilio's API origin (a stand-in's address in local runs).
    twilio_base_url: str = "https://api.twilio.com"
