"""Async SQLAlchemy 2 engine and sessions, the service's own database, and Alembic.

Every service owns one PostgreSQL database. The outbox and processed-events tables
that the runtime needs live in that same database (so that a handler's writes, its
outgoing events and its idempotency mark commit in one transaction); each service's
first migration creates them with :func:`create_runtime_tables`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy

#: Naming convention so that Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> sa.MetaData:
    """A MetaData with the project's naming convention and the runtime's tables in it."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    runtime_tables(metadata)
    return metadata


def runtime_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Define the outbox and processed-events tables on ``metadata``."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("consumer_group", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    return outbox, processed


def create_runtime_tables() -> None:
    """Create the runtime's tables from inside an Alembic migration (``upgrade()``)."""
    from alembic import op

    for table in runtime_tables(sa.MetaData(naming_convention=NAMING_CONVENTION)):
        table.create(op.get_bind())


log = get_logger(__name__)

#: PostgreSQL's answers that mean "run the same transaction again": deadlock_detected and
#: serialization_failure. Its exclusion constraints can deadlock two inserts that overlap.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(exc: BaseException) -> bool:
    """Did PostgreSQL abort the transaction only because of a concurrent one?"""
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    )


def retry_transaction(
    attempts: int = 5, first_delay: float = 0.01
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate a function that runs ONE whole transaction (opens its session, commits,
    nothing else with side effects) so that a deadlock or serialization failure runs it
    again, after a short jittered back-off, instead of failing the request; the last
    attempt's error is raised as is."""
    # A collision clears in milliseconds, so the waits are short (0.01 s, doubling) and
    # jittered by ±50 % so that the transactions that collided do not collide again in step.
    policy = RetryPolicy(
        first_delay=first_delay, jitter=0.5, attempts=attempts, retry_on=is_retryable
    )

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        def log_retry(exc: BaseException, seconds: float, attempt: int) -> None:
            # The SQLSTATE, not the error: its text holds the statement and its parameters.
            log.info(
                "db.transaction_retried",
                transaction=fn.__qualname__,
                sqlstate=getattr(getattr(exc, "orig", None), "sqlstate", None),
                attempt=attempt,
                retry_in=round(seconds, 3),
            )

        @functools.wraps(fn)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            return await policy.call(lambda: fn(*args, **kwargs), on_retry=log_retry)

        return run

    return decorate


#: A pooled connection idle at least this long is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


#: PostgreSQL compiles a statement planned above ``jit_above_cost`` to machine code. None
#: of ours gains from it: the analytics reports that reach that cost read an index for
#: 50 to 500 ms, and the compilation added 20 to 75 ms to each at 10 M calls; a GROUP BY over
#: all 10 M took 3.2 to 3.6 s with or without it (it spent 650 ms compiling).
NO_JIT = {"jit": "off"}


def make_engine(
    url: str, *, pool_size: int = 10, ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    """An asyncpg engine of up to twice ``pool_size`` connections whose pool pings a
    connection idle ``ping_after_idle_seconds`` or longer before handing it out, so a
    restarted PostgreSQL is reconnected."""
    # All of them kept once opened, rather than ``pool_size`` kept and as many again as
    # overflow: an overflow connection is closed as it comes back, so a load just above
    # ``pool_size`` in flight opened a connection per request (a PostgreSQL backend
    # started, the types introspected and every statement prepared again).
    engine = create_async_engine(
        url,
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_recycle=1800,
        connect_args={"server_settings": NO_JIT},
    )
    _ping_when_idle(engine, ping_after_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, seconds: float) -> None:
    # SQLAlchemy's pool_pre_ping pings at every checkout, and asyncpg's ping is three round
    # trips (BEGIN, a statement, ROLLBACK): a fifth of a short request's. A connection in
    # steady use was proven alive moments ago; one that sat idle (a PostgreSQL restart
    # happens while the pool waits) is pinged, and replaced when the ping fails.
    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards the connection and hands out a new one.
            raise DisconnectionError("the pooled connection did not answer a ping") from exc


class CustomPlanSession(Session):
    """A session whose statements PostgreSQL plans for their parameters every time.

    asyncpg prepares every statement, and after five executions PostgreSQL may keep one
    generic plan for it, chosen without the parameters' values. For a report whose
    filters decide which index serves (a talk range, a tag, a period), that plan was
    5 to 9 times slower at 1 M calls (the conversion under a talk filter 20 ms, then
    180 ms from the sixth request on). Planning each time costs a millisecond or two.
    """


@event.listens_for(CustomPlanSession, "after_begin")
def _plan_for_the_parameters(session: Session, transaction: Any, connection: Any) -> None:
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def make_session_factory(
    engine: AsyncEngine, *, custom_plans: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit; with ``custom_plans``,
    :class:`CustomPlanSession` (for reads whose parameters decide their plan)."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        sync_session_class=CustomPlanSession if custom_plans else Session,
    )


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if the server does not have it yet."""
    target = make_url(url)
    name = target.database
    if not name:
        raise ValueError("database URL names no database")
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                # Identifiers cannot be bound parameters; the name is quoted by the dialect.
                quoted = admin.dialect.identifier_preparer.quote(name)
                await conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (tests only), closing its other connections."""
    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            quoted = admin.dialect.identifier_preparer.quote(target.database or "")
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        await admin.dispose()


def alembic_config(migrations_dir: Path, url: str) -> Config:
    """An Alembic config for a service's ``migrations/`` folder, with no ini file."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Create the service's database if needed and upgrade it to ``revision``."""
    await ensure_database(url)
    config = alembic_config(migrations_dir, url)
    # Alembic's command API is synchronous; the env runs its own event loop in a thread.
    await asyncio.to_thread(command.upgrade, config, revision)


class MigrationFailed(RuntimeError):
    """Migrating the service's database at start-up failed (the child process's error)."""


async def migrate_at_start(migrations_dir: Path, url: str) -> None:
    """What a service does to its database as it starts: nothing when it is at the
    migrations' head already (the release's migration Job ran), else :func:`migrate` in a
    child process.

    Migrating in the serving process left its memory there: analytics' migrations of a
    new database took its process from 130 to 151 MiB, and 8 MiB of it stayed after
    ``malloc_trim`` (freed objects in partly used arenas), all of the margin under its
    150 MiB at idle. A child's memory ends with it. Raises :class:`MigrationFailed` with
    the child's error output.
    """
    await ensure_database(url)
    if await _at_head(migrations_dir, url):
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from switchboard_runtime.db import migrate_from_environment; migrate_from_environment()",
        # The URL holds the password: in the child's environment, not on its command line.
        env={**os.environ, _MIGRATE_DIR: str(migrations_dir), _MIGRATE_URL: url},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, errors = await child.communicate()
    except BaseException:
        # Cancelled (the service stops while migrating): the migration's one transaction
        # rolls back with the child.
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        raise MigrationFailed(
            f"migrating {migrations_dir} failed (exit {child.returncode}): "
            + "\n".join(lines[-20:])
        )


_MIGRATE_DIR = "SWITCHBOARD_MIGRATE_DIR"
_MIGRATE_URL = "SWITCHBOARD_MIGRATE_URL"


def migrate_from_environment() -> None:
    """The child process of :func:`migrate_at_start`: :func:`migrate` of the folder and
    database its environment names."""
    asyncio.run(migrate(Path(os.environ[_MIGRATE_DIR]), os.environ[_MIGRATE_URL]))


async def _at_head(migrations_dir: Path, url: str) -> bool:
    """Whether the database's Alembic revisions are the migrations' heads."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, url))
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    finally:
        await engine.dispose()
    return current == set(script.get_heads())


def run_migrations_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's ``migrations/env.py``: online, async, one transaction."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: sa.Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Replicas starting together (or a migration Job racing a pod) take turns:
            # the lock is released when the migration transaction ends.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('alembic'))"))
            context.run_migrations()

    async def _main() -> None:
        engine = create_async_engine(url or "", poolclass=NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(_main())


def migrations_path(package_file: str) -> Path:
    """The ``migrations/`` folder beside a service package's ``__init__.py``."""
    return Path(package_file).resolve().parent / "migrations"
