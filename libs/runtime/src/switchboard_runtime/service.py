"""The life cycle every service shares: database, migrations, broker, relay, HTTP.

A service's ``bootstrap.py`` builds a :class:`ServiceRuntime` from its settings,
registers its subscribers and routers on it, and gets a FastAPI app whose lifespan
starts and stops everything in the right order. One process per service runs the
HTTP API, the consumers and the outbox relay.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from switchboard_contracts import ALL_TOPICS
from switchboard_runtime.consumer import (
    BatchHandler,
    BatchProcessor,
    DedupeKey,
    Handler,
    Parser,
    subscribe,
)
from switchboard_runtime.db import make_engine, make_session_factory, migrate_at_start
from switchboard_runtime.health import ReadinessCheck, health_router
from switchboard_runtime.kafka import Broker, ensure_topics, make_broker
from switchboard_runtime.logging import configure_logging, get_logger
from switchboard_runtime.memory import release_free_heap
from switchboard_runtime.messaging import (
    Subscription,
    event_id_key,
    outbox_session_info,
    parse_contract_event,
)
from switchboard_runtime.outbox import OutboxRelay
from switchboard_runtime.redis_client import make_redis
from switchboard_runtime.sessions import SessionRevocations
from switchboard_runtime.settings import ServiceSettings

log = get_logger(__name__)

D = TypeVar("D")


#: SQLSTATEs of text PostgreSQL cannot store: character_not_in_repertoire (a NUL byte),
#: untranslatable_character (``\\u0000`` inside JSON).
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


async def unstorable_text(request: Request, exc: Exception) -> JSONResponse:
    """422 for a request whose text PostgreSQL cannot store (a NUL character, in a body
    field or a query parameter); any other database error stays a 500.

    Every text column and query of every service would otherwise need its own check for
    the one character PostgreSQL refuses.
    """
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) not in _UNSTORABLE_TEXT:
        raise exc
    return JSONResponse(
        {"detail": "text contains a character that cannot be stored (NUL, \\u0000)"},
        status_code=422,
    )


class ServiceRuntime:
    """Concrete infrastructure of one service process, built from its settings."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations_dir: Path | None,
        topics: Iterable[str] = (),
        configure_logs: bool = True,
    ) -> None:
        self.settings = settings
        if configure_logs:
            configure_logging(
                settings.service_name, level=settings.log_level, json=settings.log_json
            )
        self.migrations_dir = migrations_dir
        # Every topic of the contracts (a service publishes to its own and reads others'),
        # plus the dead-letter topics its subscriptions add: created at start where the
        # deployment lets services create topics (local runs, tests).
        self.topics = {*ALL_TOPICS, *topics}
        self.engine: AsyncEngine = make_engine(
            settings.service_database_url, pool_size=settings.db_pool_size
        )
        self.sessions: async_sessionmaker[AsyncSession] = make_session_factory(self.engine)
        #: The same, planned for their parameters each time (``db.CustomPlanSession``):
        #: for API reads whose filters decide which index serves them.
        self.read_sessions: async_sessionmaker[AsyncSession] = make_session_factory(
            self.engine, custom_plans=True
        )
        self.broker: Broker = make_broker(settings)
        self.relay = OutboxRelay(self.engine, self.broker, settings)
        #: The process's Redis client (connects on first use), for what replicas share.
        self.redis: Redis = make_redis(settings.redis_url)
        #: Ended sessions; every service's ``authenticator`` checks them.
        self.revocations = SessionRevocations(self.redis, settings.topic_prefix)
        # Every session knows where publish() stages events and which relay to wake.
        for factory in (self.sessions, self.read_sessions):
            factory.configure(info=outbox_session_info(settings, self.relay.wake))
        self.readiness: dict[str, ReadinessCheck] = {
            "database": self._check_database,
            "kafka": self._check_kafka,
        }
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._processors: list[BatchProcessor[Any]] = []
        self.started = False

    def subscribe(
        self,
        *,
        topics: list[str],
        group: str,
        parse: Parser[Any],
        dedupe_key: DedupeKey[Any],
        handle: Handler[Any] | None = None,
        handle_batch: BatchHandler[Any] | None = None,
    ) -> BatchProcessor[Any]:
        """Register an idempotent consumer (see :func:`switchboard_runtime.consumer.subscribe`).

        The outbox relay is woken after each committed batch, so events a handler
        staged are published at once.
        """
        from switchboard_contracts import dlq_topic

        self.topics.update(topics)
        self.topics.update(dlq_topic(t, group) for t in topics)
        processor = subscribe(
            self.broker,
            self.settings,
            self.sessions,
            topics=topics,
            group=group,
            parse=parse,
            dedupe_key=dedupe_key,
            handle=handle,
            handle_batch=handle_batch,
            after_commit=self.relay.wake,
        )
        self._processors.append(processor)
        return processor

    def handle(self, subscription: Subscription[D], deps: D) -> BatchProcessor[Any]:
        """Consume the contract events of ``subscription`` (its topics come from the
        contracts) and call its handlers with ``deps``: one envelope parse per message,
        ``invalid_event`` dead letters, idempotency on ``event_id``."""
        handle, handle_batch = subscription.bind(deps)
        return self.subscribe(
            topics=list(subscription.topics),
            group=subscription.group,
            parse=parse_contract_event,
            dedupe_key=event_id_key,
            handle=handle,
            handle_batch=handle_batch,
        )

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` after the broker started (background tasks, caches)."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` before the broker stops."""
        self._on_stop.append(hook)

    async def start(self) -> None:
        """Migrate the database, create topics, start consumers and the relay."""
        if self.migrations_dir is not None:
            await migrate_at_start(self.migrations_dir, self.settings.service_database_url)
        if self.settings.kafka_create_topics:
            await ensure_topics(
                self.settings,
                [self.settings.topic(t) for t in self.topics],
                replication=self.settings.kafka_topic_replication,
            )
        # What start-up built (modules, schemas, settings, the phone metadata) lives as
        # long as the process: frozen, the collector stops walking it on every full
        # collection (a fifth of the PBX ingest's time was full collections over it). What
        # it freed goes back to the system rather than staying in the process's RSS.
        gc.collect()
        gc.freeze()
        release_free_heap()
        # A consumer applying a batch allocates thousands of short-lived objects per
        # batch (events, envelopes, rows) that reference counting frees; at the default
        # threshold (700) the young generation was collected hundreds of times a batch,
        # and ~10 % of the PBX ingest's time went to collections. Objects caught in a
        # cycle wait a little longer: a few MB at most.
        gc.set_threshold(20_000, 20, 20)
        await self.broker.start()
        self.relay.start()
        for hook in self._on_start:
            await hook()
        self.started = True
        log.info("service.started", service=self.settings.service_name)

    async def stop(self) -> None:
        """Drain: stop hooks, consumers (committing what was processed), relay, pools."""
        for hook in reversed(self._on_stop):
            await hook()
        await self.broker.stop()
        await self.relay.stop()
        await self.engine.dispose()
        await self.redis.aclose()
        self.started = False
        log.info("service.stopped", service=self.settings.service_name)

    def fastapi_app(self, *, title: str, routers: Iterable[APIRouter] = ()) -> FastAPI:
        """The service's HTTP app; its lifespan starts and stops the runtime."""

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, lifespan=lifespan)
        app.state.runtime = self
        app.add_exception_handler(sa.exc.DBAPIError, unstorable_text)
        app.include_router(health_router(self.readiness))
        for router in routers:
            app.include_router(router)
        return app

    async def _check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def _check_kafka(self) -> None:
        if not self.started:
            raise RuntimeError("not started")
        # ``ping`` answers False (it does not raise) when no broker answered in time.
        if not await self.broker.ping(timeout=1.5):
            raise ConnectionError("no Kafka broker answered")
