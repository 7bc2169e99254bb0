"""The unsubscribe link of every email: a token that names the client and the address the
email went to, signed (HMAC-SHA256) so nobody can unsubscribe someone else.

It does not expire: an unsubscribe link must keep working in an old email. It unsubscribes
only the address it was sent to; after the client's address changes, it changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from switchboard_booking.domain.errors import InvalidRequest

_PURPOSE = b"switchboard-unsubscribe-v1"


def _key(secret: str) -> bytes:
    # A key of its own, derived from the service secret: a session token is never a valid
    # unsubscribe token, nor the other way round.
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(client_id: str, email: str, secret: str) -> str:
    """The token for ``client_id`` at ``email``."""
    payload = json.dumps([client_id, email.strip().lower()], separators=(",", ":")).encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(token: str, secret: str) -> tuple[str, str]:
    """``(client_id, email)`` of a valid token; :class:`InvalidRequest` otherwise."""
    try:
        payload_text, signature_text = token.split(".", 1)
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(signature, expected):
            raise ValueError("bad signature")
        client_id, email = json.loads(payload)
        if not (isinstance(client_id, str) and isinstance(email, str)):
            raise ValueError("not a pair of strings")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidRequest("this unsubscribe link is not valid") from exc
    return client_id, email
