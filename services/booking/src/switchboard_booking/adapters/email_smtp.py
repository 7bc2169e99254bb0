"""Email over SMTP (aiosmtplib): STARTTLS or implicit TLS, and login, from settings.

SMTP has no idempotency key. The Message-ID is derived from the notification's key, so a
message sent again after a crash between the server's acceptance and our record of it is
the same message (mail stores and filters can recognise the copy), but it is delivered
twice: the window is the milliseconds between the server's ``250`` and the database commit.
"""

from __future__ import annotations

import hashlib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

import aiosmtplib

from switchboard_booking.domain.delivery import OutgoingMessage, SendFailed
from switchboard_booking.settings import BookingSettings


def _domain(sender: str) -> str:
    addresses = getaddresses([sender])
    address = addresses[0][1] if addresses else ""
    return address.rpartition("@")[2] or "switchboard.invalid"


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The email for ``message``: plain text (UTF-8), a Message-ID stable across attempts,
    and the one-click unsubscribe headers (RFC 8058) when there is a link."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = Address(addr_spec=message.to)
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    email["Message-ID"] = f"<{digest}@{_domain(sender)}>"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body, charset="utf-8")
    return email


def _response_failure(code: int, text: str) -> SendFailed:
    # 4xx: the server is busy or the mailbox is temporarily unavailable; 5xx: refused.
    return SendFailed(f"SMTP {code}: {text[:200]}", temporary=not 500 <= code < 600)


class SmtpSender:
    """Sends email through one SMTP server."""

    channel = "email"

    def __init__(self, settings: BookingSettings) -> None:
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_ca_file:
            self._tls = ssl.create_default_context(cafile=settings.smtp_ca_file)

    async def send(self, message: OutgoingMessage) -> str:
        """Send one email; returns its Message-ID. :class:`SendFailed` otherwise."""
        s = self._settings
        if not s.smtp_host:
            raise SendFailed("email is not configured (BOOKING_SMTP_HOST)", temporary=False)
        try:
            email = build_email(message, s.smtp_from)
        except (ValueError, IndexError) as exc:
            raise SendFailed(f"not a usable email address: {exc}", temporary=False) from exc
        password = s.smtp_password.get_secret_value()
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=password if s.smtp_username else None,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                validate_certs=s.smtp_validate_certs,
                tls_context=self._tls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise _response_failure(first.code, first.message) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Wrong credentials are fixed by an admin; until then the emails wait.
            raise SendFailed(f"SMTP login refused ({exc.code})", temporary=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _response_failure(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Unreachable, refused connection, TLS failure, timeout, disconnected.
            raise SendFailed(
                f"SMTP server unavailable: {type(exc).__name__}", temporary=True
            ) from exc
        return str(email["Message-ID"])

    async def aclose(self) -> None:
        """Nothing to close: each send opens its own connection."""
