"""The notification worker: a background task in ``serve`` (every replica), or a process of
its own (``switchboard-booking deliver``).

It sends what is due, then waits until woken (new notifications committed) or until the
poll interval passes (reminders and retries coming due). Every replica may run one: rows
are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from switchboard_booking.adapters.channels import Senders, build_senders, close_senders
from switchboard_booking.handlers.delivery import deliver_due
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)


class DeliveryWorker:
    """Sends due notifications until stopped."""

    def __init__(self, deps: Deps, senders: Senders) -> None:
        self.deps = deps
        self.senders = senders
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for due notifications now (called after new ones are committed)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Send everything due now, batch after batch; returns how many were attempted."""
        total = 0
        while True:
            claimed = await deliver_due(self.deps, self.senders)
            total += claimed
            if claimed < self.deps.settings.notifications_batch_size:
                return total

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception as exc:  # the database away: the next round tries again
                log.warning("notification.worker_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=self.deps.settings.notifications_poll_seconds
                )

    async def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="notification-worker")

    async def stop(self) -> None:
        """Stop it (a send in progress is abandoned; its lease hands it on) and close the
        channels."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await close_senders(self.senders)


def configure_deliver(parser: argparse.ArgumentParser) -> None:
    """``switchboard-booking deliver``: the worker alone, without HTTP or Kafka."""
    parser.description = "send due notifications (email, SMS) until stopped"


def run_deliver(args: argparse.Namespace) -> None:
    """Run the notification worker in this process until SIGTERM or SIGINT."""
    from switchboard_booking.settings import BookingSettings
    from switchboard_runtime.db import make_engine, make_session_factory
    from switchboard_runtime.logging import configure_logging

    async def main() -> None:
        settings = BookingSettings()
        configure_logging("booking", level=settings.log_level, json=settings.log_json)
        engine = make_engine(settings.service_database_url)
        worker = DeliveryWorker(
            Deps(make_session_factory(engine), settings), build_senders(settings)
        )
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
        await worker.start()
        log.info("notification.worker_started")
        try:
            await stopped.wait()
        finally:
            await worker.stop()
            await engine.dispose()

    asyncio.run(main())
