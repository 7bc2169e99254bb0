"""The in-memory copy of the directory and the PBX time lag that every event needs.

The call state machine reads the :class:`Directory` and the time lag for each raw event;
reading them from PostgreSQL each time would cost several queries per event. This cache
holds one immutable snapshot and replaces it when ``config_version`` (bumped by every
write to the tables it is built from) moves: at once after a change made in this process,
and within ``config_refresh_seconds`` after one made by another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_runtime.logging import get_logger
from switchboard_runtime.secret_box import SecretBox
from switchboard_telephony.adapters import directory_repository, queries
from switchboard_telephony.domain.config import Directory
from switchboard_telephony.domain.integrations import TimeLag, effective_time_lag

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """The configuration as of one ``config_version``."""

    version: int
    directory: Directory
    time_lag: TimeLag


class ConfigCache:
    """The current :class:`ConfigSnapshot`, refreshed when the database says it changed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        default_region: str,
        fallback_time_lag_minutes: int,
        refresh_seconds: float,
        secrets: SecretBox,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._default_region = default_region
        self._fallback_lag = fallback_time_lag_minutes
        self._refresh_seconds = refresh_seconds
        self._snapshot = ConfigSnapshot(
            version=-1,
            directory=Directory(default_region=default_region),
            time_lag=TimeLag(fallback_time_lag_minutes, "environment"),
        )
        self._loaded = asyncio.Event()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def snapshot(self) -> ConfigSnapshot:
        """The configuration in force now."""
        return self._snapshot

    @property
    def directory(self) -> Directory:
        """The state machine's directory."""
        return self._snapshot.directory

    @property
    def time_lag(self) -> timedelta:
        """The correction added to every PBX timestamp."""
        return timedelta(minutes=self._snapshot.time_lag.minutes)

    async def ensure_loaded(self) -> None:
        """Load the configuration once, if nothing has loaded it yet (consumers call this
        before their first event: they may start before the refresher)."""
        if not self._loaded.is_set():
            await self.refresh()

    async def refresh(self) -> bool:
        """Reload if the stored version moved; returns whether the snapshot changed."""
        async with self._lock:
            async with self._sessions() as session:
                version = await directory_repository.read_version(session)
                if version == self._snapshot.version:
                    self._loaded.set()
                    return False
                # Read after the version: the data is at least as new as the version says.
                directory = await queries.state_machine_directory(session, self._default_region)
                integrations = await directory_repository.load_integrations(session, self._secrets)
            self._snapshot = ConfigSnapshot(
                version=version,
                directory=directory,
                time_lag=effective_time_lag(integrations, self._fallback_lag),
            )
            self._loaded.set()
        log.info(
            "telephony.config_loaded",
            version=version,
            dids=len(directory.did_to_clinic),
            extensions=len(directory.extensions),
            time_lag_minutes=self._snapshot.time_lag.minutes,
            time_lag_source=self._snapshot.time_lag.source,
        )
        return True

    async def refresh_after_change(self) -> None:
        """Reload after a change this process just committed; if the database does not
        answer now, the background refresher catches up (the change is already stored, so
        its caller must not fail)."""
        try:
            await self.refresh()
        except Exception as exc:
            log.warning("telephony.config_refresh_failed", error=repr(exc))
            self.wake()

    def wake(self) -> None:
        """Ask the background refresher to look now (e.g. after a consumed change commits)."""
        self._wake.set()

    def start(self) -> None:
        """Start refreshing in the background."""
        self._task = asyncio.create_task(self._run(), name="config-refresher")

    async def stop(self) -> None:
        """Stop the background refresher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._refresh_seconds)
            self._wake.clear()
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("telephony.config_refresh_failed", error=repr(exc))
