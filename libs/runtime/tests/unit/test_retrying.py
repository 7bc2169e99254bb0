"""The one retry policy: its delays, what it retries, when it stops, what it logs."""

from __future__ import annotations

import asyncio
import math

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from switchboard_runtime.retrying import RetryPolicy, start_over


class Flaky:
    """Fails with the given errors in turn, then returns ``"done"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Waits:
    """A ``sleep`` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def test_the_delay_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(first_delay=2, max_delay=60)
    assert [policy.delay(n) for n in range(0, 8)] == [0.0, 2, 4, 8, 16, 32, 60, 60]


def test_the_delay_stays_finite_however_long_the_outage() -> None:
    assert RetryPolicy(first_delay=0.1, max_delay=5).delay(10**9) == 5
    assert math.isfinite(RetryPolicy(first_delay=0.1).delay(10**9))


@given(
    failures=st.integers(min_value=1, max_value=10_000),
    jitter=st.floats(min_value=0.0, max_value=0.5),
)
def test_jitter_stays_within_its_fraction_of_the_capped_delay(failures: int, jitter: float) -> None:
    policy = RetryPolicy(first_delay=0.5, max_delay=600, jitter=jitter)
    unjittered = min(600, 0.5 * 2 ** min(failures - 1, 64))
    delay = policy.delay(failures)
    assert unjittered * (1 - jitter) <= delay <= unjittered * (1 + jitter)
    assert 0 < delay <= 600 * (1 + jitter)


@pytest.mark.parametrize(
    "bounds",
    [
        {"first_delay": -1},
        {"first_delay": 1, "multiplier": 0.5},
        {"first_delay": 1, "jitter": 1.0},
        {"first_delay": 1, "attempts": 0},
    ],
)
def test_nonsense_bounds_are_refused(bounds: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bounds)  # type: ignore[arg-type]


async def test_call_retries_until_it_works_waiting_the_policys_delays() -> None:
    flaky = Flaky(OSError("a"), OSError("b"), OSError("c"))
    waits = Waits()
    policy = RetryPolicy(first_delay=0.1, max_delay=0.25)
    assert await policy.retrying(sleep=waits)(flaky) == "done"
    assert flaky.calls == 4
    assert waits.seconds == [0.1, 0.2, 0.25]


async def test_call_awaits_what_a_plain_callable_returns() -> None:
    flaky = Flaky(OSError("once"))
    assert await RetryPolicy(first_delay=0).call(lambda: flaky()) == "done"
    assert flaky.calls == 2


async def test_the_last_error_is_raised_as_is_once_the_attempts_are_spent() -> None:
    flaky = Flaky(*(OSError(str(n)) for n in range(5)))
    with pytest.raises(OSError, match=r"^2$"):
        await RetryPolicy(first_delay=0, attempts=3).call(flaky)
    assert flaky.calls == 3


async def test_an_error_not_worth_retrying_is_raised_at_once() -> None:
    flaky = Flaky(ValueError("bad"))
    policy = RetryPolicy(first_delay=0, retry_on=OSError)
    with pytest.raises(ValueError, match="bad"):
        await policy.call(flaky)
    assert flaky.calls == 1


async def test_a_predicate_chooses_what_is_retried() -> None:
    policy = RetryPolicy(first_delay=0, retry_on=lambda exc: "again" in str(exc))
    assert await policy.call(Flaky(RuntimeError("again"))) == "done"
    with pytest.raises(RuntimeError, match="stop"):
        await policy.call(Flaky(RuntimeError("stop")))


async def test_cancellation_is_never_retried() -> None:
    flaky = Flaky(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await RetryPolicy(first_delay=0, retry_on=BaseException).call(flaky)
    assert flaky.calls == 1


async def test_each_retry_logs_one_line() -> None:
    policy = RetryPolicy(first_delay=0, log_event="thing.retried", log_level="info")
    with structlog.testing.capture_logs() as captured:
        await policy.call(Flaky(OSError("x"), OSError("y")), group="g")
    # capture_logs sees the whole process: keep the policy's own lines (a service another
    # test left running on the session's event loop may log meanwhile).
    logs = [line for line in captured if line["event"] == "thing.retried"]
    assert logs == [
        {
            "event": "thing.retried",
            "log_level": "info",
            "error": repr(OSError(text)),
            "attempt": attempt,
            "retry_in": 0.0,
            "group": "g",
        }
        for attempt, text in [(1, "x"), (2, "y")]
    ]


async def test_on_retry_replaces_the_log_line() -> None:
    seen: list[tuple[str, float, int]] = []
    policy = RetryPolicy(first_delay=0)
    with structlog.testing.capture_logs() as logs:
        await policy.call(Flaky(OSError("x")), on_retry=lambda e, s, n: seen.append((str(e), s, n)))
    assert seen == [("x", 0.0, 1)]
    assert [line for line in logs if line["event"] == policy.log_event] == []


async def test_a_stopped_loop_ends_quietly_instead_of_waiting() -> None:
    stopping = asyncio.Event()
    waits = Waits()
    runs = 0
    async for attempt in RetryPolicy(first_delay=1).retrying(stop=stopping.is_set, sleep=waits):
        with attempt:
            runs += 1
            if runs == 2:
                stopping.set()
            raise OSError("lost")
    assert runs == 2 and waits.seconds == [1]


async def test_start_over_counts_the_failures_from_zero_again() -> None:
    waits = Waits()
    runs = 0
    async for attempt in RetryPolicy(first_delay=1).retrying(sleep=waits):
        with attempt:
            runs += 1
            if runs == 3:
                start_over(attempt)  # this one got going before it was lost
            if runs < 5:
                raise OSError("lost")
    assert waits.seconds == [1, 2, 1, 2]
