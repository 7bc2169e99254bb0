"""Authentication helpers shared by the services.

Secrets are compared in constant time so a caller cannot learn a token byte by byte
from response times.
"""

from __future__ import annotations

import hmac


def secrets_equal(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one."""
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
