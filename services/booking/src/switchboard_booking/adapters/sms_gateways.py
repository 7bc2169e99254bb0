"""SMS through an HTTP gateway: two API shapes behind one interface (``send`` → the
provider's message id, or :class:`SendFailed`).

**Generic JSON webhook** (``BOOKING_SMS_PROVIDER=webhook``)::

    POST <BOOKING_SMS_WEBHOOK_URL>
    Authorization: Bearer <BOOKING_SMS_WEBHOOK_TOKEN>
    Idempotency-Key: <key>
    {"to": "+79161234567", "text": "...", "idempotency_key": "<key>", "sender": "Clinic"}
    → 2xx {"id": "<message id>"}

The gateway must treat a repeated ``Idempotency-Key`` as the same message (answer with the
first id, send nothing): that is what makes a retry after a crash between sending and
recording safe.

**Twilio Messages** (``BOOKING_SMS_PROVIDER=twilio``)::

    POST <base>/2010-04-01/Accounts/<AccountSid>/Messages.json   (HTTP Basic: sid, token)
    To=+79161234567&Body=...&From=<number>   (or MessagingServiceSid=MG...)
    → 201 {"sid": "SM...", "status": "queued", ...}

Twilio's Messages API takes no idempotency key: a crash after Twilio accepted a message and
before booking recorded it sends that SMS again on the retry.

Both: 5xx, 408, 429 and network errors are temporary (tried again later); other 4xx are
permanent (the number or text is refused), except 401/403, which an admin fixes, so those
wait too.
"""

from __future__ import annotations

from typing import Any

import httpx

from switchboard_booking.domain.delivery import OutgoingMessage, SendFailed
from switchboard_booking.settings import BookingSettings

_RETRY_STATUSES = frozenset({401, 403, 408, 425, 429})


def _failure(response: httpx.Response, provider: str) -> SendFailed:
    detail = ""
    try:
        body: Any = response.json()
        if isinstance(body, dict):
            # Twilio: {"code": 21211, "message": "..."}; the webhook: {"error": "..."}
            code = body.get("code")
            text = body.get("message") or body.get("error") or body.get("detail") or ""
            detail = f" {code}: {text}" if code else f": {text}" if text else ""
    except ValueError:
        pass
    status = response.status_code
    temporary = status >= 500 or status in _RETRY_STATUSES
    return SendFailed(f"{provider} HTTP {status}{detail}"[:300], temporary=temporary)


async def _post(client: httpx.AsyncClient, provider: str, url: str, **kwargs: Any) -> Any:
    try:
        response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        # The error's text names the URL, never the headers (the token).
        raise SendFailed(f"{provider} unreachable: {type(exc).__name__}", temporary=True) from exc
    if not response.is_success:
        raise _failure(response, provider)
    try:
        return response.json()
    except ValueError:
        return {}


class WebhookSms:
    """The generic JSON webhook."""

    channel = "sms"

    def __init__(self, settings: BookingSettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)

    async def send(self, message: OutgoingMessage) -> str:
        """POST the message; returns the gateway's id for it."""
        s = self._settings
        if not s.sms_webhook_url:
            raise SendFailed(
                "SMS webhook is not configured (BOOKING_SMS_WEBHOOK_URL)", temporary=False
            )
        headers = {"Idempotency-Key": message.idempotency_key}
        token = s.sms_webhook_token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = {"to": message.to, "text": message.body, "idempotency_key": message.idempotency_key}
        if s.sms_sender:
            body["sender"] = s.sms_sender
        answer = await _post(
            self._http, "SMS gateway", s.sms_webhook_url, json=body, headers=headers
        )
        return str(answer.get("id") or "") if isinstance(answer, dict) else ""

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class TwilioSms:
    """Twilio's Messages API."""

    channel = "sms"

    def __init__(self, settings: BookingSettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)

    async def send(self, message: OutgoingMessage) -> str:
        """Create the Message; returns its SID."""
        s = self._settings
        token = s.twilio_auth_token.get_secret_value()
        if not (
            s.twilio_account_sid and token and (s.twilio_from or s.twilio_messaging_service_sid)
        ):
            raise SendFailed(
                "Twilio is not configured (BOOKING_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM)",
                temporary=False,
            )
        form = {"To": message.to, "Body": message.body}
        if s.twilio_messaging_service_sid:
            form["MessagingServiceSid"] = s.twilio_messaging_service_sid
        else:
            form["From"] = s.twilio_from
        base = s.twilio_base_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{s.twilio_account_sid}/Messages.json"
        answer = await _post(
            self._http, "Twilio", url, data=form, auth=(s.twilio_account_sid, token)
        )
        return str(answer.get("sid") or "") if isinstance(answer, dict) else ""

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class NoSms:
    """SMS not configured: every SMS fails, saying so."""

    channel = "sms"

    async def send(self, message: OutgoingMessage) -> str:
        """Refuse: there is no gateway."""
        raise SendFailed("SMS is not configured (BOOKING_SMS_PROVIDER)", temporary=False)

    async def aclose(self) -> None:
        """Nothing to close."""
