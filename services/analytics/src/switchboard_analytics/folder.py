"""The roll-up folder: the analytics service's background task that folds the changes the
projection records (``rollup_changes``) into the roll-ups, on a connection of its own.

The consumer wakes it after each batch it commits; it also looks every
:data:`POLL_SECONDS` (changes another replica or a rebuild's swap left, a fold that
failed). A fold takes every committed change at once: the more the consumer committed
meanwhile, the more calls share each roll-up row. Failures are logged and retried at the
next wake or poll: the changes stay in their table until a fold commits.
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from switchboard_analytics.adapters.rollup_deltas import fold_all, vacuum_changes
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)

#: How often the folder looks for changes nobody woke it for.
POLL_SECONDS = 1.0
#: The folder vacuums the changes' table once it has folded this many (autovacuum would
#: wait for its next round while every read of the roll-ups walks the dead rows).
VACUUM_AFTER = 10_000

FOLDED = Counter(
    "switchboard_analytics_rollup_changes_folded_total",
    "Calls' roll-up changes folded into the roll-ups",
)


class RollupFolder:
    """Folds ``rollup_changes`` into the roll-ups whenever woken (see the module doc)."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._since_vacuum = 0

    def wake(self) -> None:
        """Fold soon: changes were committed."""
        self._woken.set()

    async def start(self) -> None:
        """Start folding in the background."""
        self._task = asyncio.create_task(self._run(), name="analytics.rollup_folder")

    async def stop(self) -> None:
        """Stop folding (what is not folded stays recorded, for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._poll_seconds)
            self._woken.clear()
            try:
                folded = await fold_all(self._sessions)
                FOLDED.inc(folded)
                self._since_vacuum += folded
                if self._since_vacuum >= VACUUM_AFTER:
                    await vacuum_changes(self._engine)
                    self._since_vacuum = 0
            except Exception as exc:
                log.warning("analytics.fold_failed", error=repr(exc))
