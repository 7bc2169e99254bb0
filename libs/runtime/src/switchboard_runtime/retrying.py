"""One way to retry: a :class:`RetryPolicy`, exponential back-off run by tenacity.

Every place that waits and tries again (a consumer whose database is away, the outbox relay,
a deadlocked transaction, a Redis listener, an HTTP push, an AMI connection) says *how* with
a policy: the first delay, the factor each failure multiplies it by, the cap, the jitter, how
many attempts (or until it works), which errors deserve another try, and the line logged
before each retry. The numbers differ from place to place; the shape does not.

A policy is plain data. It runs in one of three ways:

* :meth:`RetryPolicy.call` retries a coroutine function until it returns, and raises the
  last error once the attempts are spent (or at once, for an error not worth retrying);
* :meth:`RetryPolicy.retrying` gives tenacity's ``async for attempt in ...: with attempt:``
  loop, for a long-lived session (a pub/sub listener, an AMI connection) that may be asked
  to stop and that calls :func:`start_over` once it got going;
* :meth:`RetryPolicy.delay` only computes the wait, for retries scheduled in a database
  (the next attempt is a row's ``next_attempt_at``, not a sleep).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import AsyncRetrying, AttemptManager, RetryCallState, retry_if_exception

from switchboard_runtime.logging import get_logger

__all__ = ["Attempt", "OnRetry", "RetryOn", "RetryPolicy", "start_over"]

log = get_logger(__name__)

R = TypeVar("R")

RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which errors are retried: exception classes, or a predicate on the error."""

Attempt = AttemptManager
"""One attempt of :meth:`RetryPolicy.retrying` (``with attempt: ...``); services name it by
this alias rather than importing tenacity themselves."""

OnRetry = Callable[[BaseException, float, int], None]
"""Called before each wait with the error, the seconds about to be waited and the number of
the attempt that failed; it writes the retry's log line."""

# Past this many doublings every cap in use has long been reached; it keeps the power finite
# however long an outage lasts.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: after the n-th failure in a row wait
    ``min(max_delay, first_delay * multiplier ** (n - 1))``, scaled by a random factor in
    ``[1 - jitter, 1 + jitter]``, then try again.

    ``attempts`` counts every try, the first included; ``None`` retries until it works (or
    until the ``stop`` given to :meth:`retrying`). ``retry_on`` chooses the errors worth
    another try: anything else is raised at once, and so is ``asyncio.CancelledError``
    always. ``log_event`` is the event of the line logged, at ``log_level``, before each
    wait (with the error, the attempt and ``retry_in``).
    """

    first_delay: float
    max_delay: float = math.inf
    multiplier: float = 2.0
    jitter: float = 0.0
    attempts: int | None = None
    retry_on: RetryOn = Exception
    log_event: str = "retrying"
    log_level: str = "warning"

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.max_delay < 0:
            raise ValueError("delays cannot be negative")
        if self.multiplier < 1:
            raise ValueError("the multiplier must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("attempts must be at least 1 (or None: until it works)")

    def delay(self, failures: int) -> float:
        """How long to wait after the ``failures``-th failure in a row (0 before any)."""
        if failures < 1:
            return 0.0
        exponent = min(failures - 1, _MAX_EXPONENT)
        seconds = min(self.max_delay, self.first_delay * self.multiplier**exponent)
        if self.jitter:
            # Spread the retries of callers that failed together, so they do not come back
            # in step (not a secret, hence no cryptographic randomness).
            seconds *= random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311
        return seconds

    def retries(self, error: BaseException) -> bool:
        """Whether ``error`` is worth another attempt under this policy."""
        if not isinstance(error, Exception):
            return False  # cancellation, interpreter exit: never swallowed
        if isinstance(self.retry_on, type | tuple):
            return isinstance(error, self.retry_on)
        return self.retry_on(error)

    def retrying(
        self,
        *,
        stop: Callable[[], bool] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        on_retry: OnRetry | None = None,
        **log_fields: Any,
    ) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` running this policy.

        ``stop`` is asked after each failure: once it says yes the loop ends quietly instead
        of waiting (a session being shut down). ``sleep`` replaces ``asyncio.sleep`` (e.g.
        one that returns early on shutdown). ``on_retry`` replaces the policy's log line;
        ``log_fields`` are added to it.
        """
        attempts = self.attempts
        report = on_retry or self._log_line(log_fields)

        def wait(state: RetryCallState) -> float:
            return self.delay(state.attempt_number)

        def must_stop(state: RetryCallState) -> bool:
            spent = attempts is not None and state.attempt_number >= attempts
            return spent or (stop is not None and stop())

        def give_up(state: RetryCallState) -> Any:
            assert state.outcome is not None
            if stop is not None and stop():
                return None
            return state.outcome.result()  # raises the last attempt's error

        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None
            error = state.outcome.exception()
            assert error is not None
            report(error, state.upcoming_sleep, state.attempt_number)

        return AsyncRetrying(
            sleep=sleep or asyncio.sleep,
            stop=must_stop,
            wait=wait,
            retry=retry_if_exception(self.retries),
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )

    async def call(
        self,
        fn: Callable[[], Awaitable[R]],
        *,
        on_retry: OnRetry | None = None,
        **log_fields: Any,
    ) -> R:
        """Await ``fn()`` until it returns; its result is returned.

        An error the policy does not retry is raised at once; once the attempts are spent
        the last error is raised as it is (not wrapped).
        """

        # tenacity awaits only what a coroutine *function* returns; ``fn`` may be a lambda.
        async def attempt() -> R:
            return await fn()

        result: R = await self.retrying(on_retry=on_retry, **log_fields)(attempt)
        return result

    def _log_line(self, fields: dict[str, Any]) -> OnRetry:
        write = getattr(log, self.log_level)

        def report(error: BaseException, seconds: float, attempt: int) -> None:
            write(
                self.log_event,
                error=repr(error),
                attempt=attempt,
                retry_in=round(seconds, 3),
                **fields,
            )

        return report


def start_over(attempt: Attempt) -> None:
    """Count the failures of ``attempt``'s loop from zero again: the session got going
    (connected, subscribed), so when it is lost the next wait is the first delay, not the
    one after the failures that preceded it."""
    attempt.retry_state.attempt_number = 1
