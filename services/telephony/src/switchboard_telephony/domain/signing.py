"""Signed PBX webhook deliveries: who may send, and when a delivery is stale.

The scheme is the one Slack and Stripe use for their webhooks. The sender takes the
current Unix time ``t`` and the exact body bytes, computes
``HMAC-SHA256(key=integration token, message=f"v1:{t}:".encode() + body)`` and sends

* ``X-Switchboard-Timestamp: <t>``
* ``X-Switchboard-Signature: v1=<lower-case hex digest>``

The token itself never travels. The receiver recomputes the digest and compares it in
constant time, refuses a timestamp further than the tolerance from its own clock (a
captured delivery is worthless after a few minutes), and remembers each accepted signature
for as long as its timestamp stays acceptable (a captured delivery cannot be sent again
inside the window either: :func:`replay_ttl_seconds`).

:func:`signed_headers` is the one implementation senders use (the simulator, tests, bench).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Any

TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
SIGNATURE_HEADER = "X-Switchboard-Signature"
SCHEME = "v1"
#: Timestamps are decimal Unix seconds; more digits than this is no timestamp.
_MAX_TIMESTAMP_DIGITS = 12


class DeliveryRejected(Exception):
    """Why a delivery is refused; ``reason`` is safe to show to the sender (it never
    contains the token or the expected signature)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """A delivery whose signature matched: its timestamp and digest (the replay key)."""

    timestamp: int
    digest: str


def signature(token: str, timestamp: int, body: bytes) -> str:
    """The ``X-Switchboard-Signature`` value of ``body`` sent at ``timestamp``."""
    message = f"{SCHEME}:{timestamp}:".encode() + body
    digest = hmac.new(token.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signed_headers(token: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers that make ``body`` a valid delivery (``Content-Type`` included).

    ``timestamp`` defaults to now; senders sign each attempt afresh, so a retry after a
    long outage is not refused as stale.
    """
    at = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(at),
        SIGNATURE_HEADER: signature(token, at, body),
        "Content-Type": "application/json",
    }


def signed_json(
    token: str, payload: Any, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """``payload`` as compact JSON bytes and the headers that sign exactly those bytes."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return body, signed_headers(token, body, timestamp=timestamp)


def parse_timestamp(value: str | None) -> int:
    """The sender's timestamp header as Unix seconds; :class:`DeliveryRejected` if absent
    or not a whole number."""
    if value is None or value == "":
        raise DeliveryRejected(
            f"unsigned delivery: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} "
            "(HMAC-SHA256 of the body with the integration token)"
        )
    text = value.strip()
    if not text.isdigit() or len(text) > _MAX_TIMESTAMP_DIGITS:
        raise DeliveryRejected(f"{TIMESTAMP_HEADER} must be Unix time in whole seconds")
    return int(text)


def check_fresh(timestamp: int, *, now: float, tolerance_seconds: int) -> None:
    """Refuse a timestamp more than ``tolerance_seconds`` away from ``now`` (either way:
    a clock far ahead is as suspect as an old capture)."""
    skew = now - timestamp
    if abs(skew) > tolerance_seconds:
        direction = "old" if skew > 0 else "in the future"
        raise DeliveryRejected(
            f"stale delivery: {TIMESTAMP_HEADER} is {abs(int(skew))} s {direction}, "
            f"tolerance {tolerance_seconds} s (check the sender's clock, sign each attempt afresh)"
        )


def verify(token: str, timestamp: int, given: str | None, body: bytes) -> VerifiedDelivery:
    """Check ``given`` (the signature header) against ``body``, in constant time."""
    if not given or not token:
        raise DeliveryRejected(f"unsigned delivery: send {SIGNATURE_HEADER}")
    expected = signature(token, timestamp, body)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise DeliveryRejected("signature does not match the body and the integration token")
    return VerifiedDelivery(timestamp=timestamp, digest=expected.partition("=")[2])


def replay_ttl_seconds(timestamp: int, *, now: float, tolerance_seconds: int) -> int:
    """How long an accepted delivery must be remembered: until its timestamp leaves the
    tolerance window (at least one second)."""
    return max(1, math.ceil(timestamp + tolerance_seconds - now) + 1)
