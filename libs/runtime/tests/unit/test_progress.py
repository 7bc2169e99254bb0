"""Progress of long jobs: log lines every few seconds off a terminal, a bar on one."""

from __future__ import annotations

import io
from typing import Any

import pytest

from switchboard_runtime.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Lines:
    """Stands in for a structlog logger: keeps what ``info`` was called with."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


def test_off_a_terminal_a_log_line_every_few_seconds_with_rate_and_eta() -> None:
    clock, log = Clock(), Lines()
    with Progress(
        "rebuild.replay", 1000, terminal=False, every=5, clock=clock, logger=log
    ) as progress:
        clock.now += 1
        progress.advance(100)  # 1 s in: too early for a line
        assert log.lines == []
        clock.now += 4
        progress.advance(200)  # 5 s in: 300 done at 60/s, 700 left: 11.7 s
        clock.now += 2
        progress.advance(100)  # 7 s in: 2 s since the last line
        clock.now += 3
        progress.advance(400)  # 10 s in: 800 done at 80/s, 200 left: 2.5 s
        clock.now += 1
        progress.advance(200)
    assert [event for event, _ in log.lines] == ["progress", "progress", "progress.done"]
    first, second, last = (fields for _, fields in log.lines)
    assert first == {
        "job": "rebuild.replay",
        "unit": "events",
        "done": 300,
        "total": 1000,
        "seconds": 5.0,
        "rate_per_second": 60.0,
        "eta_seconds": 12,
    }
    assert (second["done"], second["rate_per_second"], second["eta_seconds"]) == (800, 80.0, 2)
    assert (last["done"], last["seconds"], last["eta_seconds"]) == (1000, 11.0, 0)


def test_a_total_learnt_later_and_a_failure_are_said() -> None:
    clock, log = Clock(), Lines()
    with (
        pytest.raises(RuntimeError),
        Progress("simulate", terminal=False, every=1, clock=clock, logger=log) as progress,
    ):
        clock.now += 2
        progress.advance(50)  # no total yet: no time left to tell
        progress.set_total(200)
        clock.now += 2
        progress.advance(50)  # 100 of 200 in 4 s: 25/s, 4 s left
        raise RuntimeError("broker gone")
    assert [(e, f["done"], f["total"], f["eta_seconds"]) for e, f in log.lines] == [
        ("progress", 50, None, None),
        ("progress", 100, 200, 4),
        ("progress.failed", 100, 200, 4),
    ]


def test_on_a_terminal_a_bar_with_done_of_total_rate_and_time_left() -> None:
    clock, log, screen = Clock(), Lines(), io.StringIO()
    with Progress(
        "rebuild.replay", 1000, terminal=True, stream=screen, clock=clock, logger=log
    ) as progress:
        clock.now += 10
        progress.advance(300)
    shown = screen.getvalue()
    assert "rebuild.replay" in shown
    assert "300/1000" in shown
    assert "30 events/s" in shown  # 300 in 10 s
    assert "ETA" in shown
    assert log.lines == []  # the bar says it all
