"""How long failed logins lock a username or a client address: a pure rule.

A number of failures is free (typing mistakes); each failure past them locks out for
twice as long as the one before, up to a cap. Failures are forgotten once none came for
a while. The lockout is counted from the last failure, so it needs nothing stored but
the count and the time of the last failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleRule:
    """The back-off of one kind of key (username or client address)."""

    free_failures: int
    first_lockout_seconds: float
    max_lockout_seconds: float
    forget_after_seconds: float

    def lockout_seconds(self, failures: int) -> float:
        """How long ``failures`` consecutive failures lock out (0: not locked)."""
        over = failures - self.free_failures
        if over <= 0:
            return 0.0
        # 2 ** over grows without bound; cap the exponent before the multiplication.
        doubled = self.first_lockout_seconds * float(2 ** min(over - 1, 60))
        return min(self.max_lockout_seconds, doubled)

    def remaining(self, failures: int, last_failure: float, now: float) -> float:
        """Seconds of lockout left at ``now`` after ``failures``, the last at ``last_failure``."""
        if failures <= 0 or now - last_failure > self.forget_after_seconds:
            return 0.0
        return max(0.0, last_failure + self.lockout_seconds(failures) - now)
