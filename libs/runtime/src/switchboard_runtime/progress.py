"""Progress of a long job (a rebuild's replay, a simulated day): done / total, rate, ETA.

On a terminal it is a live bar (rich); elsewhere (a Kubernetes job, a file, CI) it is a
structured log line every few seconds and one at the end, so a job that runs for an hour
never goes quiet::

    with Progress("rebuild.replay", total=events, unit="events") as progress:
        for batch in batches:
            ...
            progress.advance(len(batch))
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from switchboard_runtime.logging import get_logger


@dataclass(frozen=True)
class ProgressState:
    """Where a job is: ``done`` of ``total`` (``None`` while unknown), its mean rate since
    it started and the time left at that rate (``None`` while it cannot be told)."""

    done: int
    total: int | None
    seconds: float
    rate: float | None
    eta_seconds: float | None


class Progress:
    """Counts a job's work and shows it (see the module doc).

    ``terminal`` (default: whether ``stream`` is one) picks the live bar; ``every`` is the
    seconds between log lines otherwise; ``clock`` is what time is measured with.
    """

    def __init__(
        self,
        what: str,
        total: int | None = None,
        *,
        unit: str = "events",
        terminal: bool | None = None,
        stream: TextIO | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        logger: Any = None,
    ):
        self.what = what
        self.unit = unit
        self.total = total
        self.done = 0
        self.every = every
        self._clock = clock
        self._log = logger if logger is not None else get_logger("switchboard.progress")
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = self._stream.isatty() if terminal is None else terminal
        self._started = clock()
        self._logged_at = self._started
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self._terminal:
            self._bar = _rich_bar(self._stream, self._clock, self.unit)
            self._task = self._bar.add_task(self.what, total=self.total)
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(failed=error is not None)

    def state(self) -> ProgressState:
        """The job's state now."""
        seconds = self._clock() - self._started
        rate = self.done / seconds if seconds > 0 and self.done else None
        eta = None
        if rate and self.total is not None:
            eta = max(0, self.total - self.done) / rate
        return ProgressState(self.done, self.total, seconds, rate, eta)

    def set_total(self, total: int | None) -> None:
        """The total once it is known (or when it grows: more arrived meanwhile)."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def advance(self, count: int = 1) -> None:
        """``count`` more units done."""
        self.done += count
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif self._clock() - self._logged_at >= self.every:
            self._logged_at = self._clock()
            self._emit("progress")

    def close(self, *, failed: bool = False) -> None:
        """Stop the bar, or write the last log line."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        else:
            self._emit("progress.failed" if failed else "progress.done")

    def _emit(self, event: str) -> None:
        state = self.state()
        self._log.info(
            event,
            job=self.what,
            unit=self.unit,
            done=state.done,
            total=state.total,
            seconds=round(state.seconds, 1),
            rate_per_second=round(state.rate, 1) if state.rate is not None else None,
            eta_seconds=round(state.eta_seconds) if state.eta_seconds is not None else None,
        )


def _rich_bar(stream: TextIO, clock: Callable[[], float], unit: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            seconds = task.elapsed or 0.0
            rate = task.completed / seconds if seconds > 0 else None
            return Text(f"{rate:,.0f} {unit}/s" if rate else f"- {unit}/s")

    return RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=stream, force_terminal=True),
        get_time=clock,
        transient=False,
    )
