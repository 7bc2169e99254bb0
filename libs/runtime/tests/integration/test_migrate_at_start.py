"""A service migrates its database as it starts, in a child process, and only when the
database is not at the migrations' head already; a migration that fails stops the start
with its error. Against a real PostgreSQL, with a migrations folder of the test's own."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard_runtime.db import MigrationFailed, migrate_at_start
from switchboard_runtime.settings import ServiceSettings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ENV = """
import sqlalchemy as sa
from switchboard_runtime.db import run_migrations_env

run_migrations_env(sa.MetaData())
"""

REVISION = '''"""{message}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute({sql!r})


def downgrade() -> None:
    pass
'''


def migrations(folder: Path, *statements: str) -> Path:
    """A migrations folder with one revision per statement, each on the one before."""
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    down = None
    for number, sql in enumerate(statements, start=1):
        revision = f"{number:04d}"
        (folder / "versions" / f"{revision}_step.py").write_text(
            REVISION.format(message=f"step {number}", revision=revision, down=down, sql=sql)
        )
        down = revision
    return folder


@pytest.fixture
def url(settings_env: dict[str, str]) -> str:
    """A database of this test's own (dropped with the run's others at the end)."""
    base = make_url(ServiceSettings().service_database_url)
    name = f"migrate_{uuid.uuid4().hex[:8]}{settings_env['DATABASE_SUFFIX']}"
    return base.set(database=name).render_as_string(hide_password=False)


async def scalar(url: str, sql: str) -> object:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(sa.text(sql))
    finally:
        await engine.dispose()


async def test_a_new_database_is_created_and_migrated_to_head(url: str, tmp_path: Path) -> None:
    folder = migrations(
        tmp_path,
        "CREATE TABLE visits (id text PRIMARY KEY)",
        "INSERT INTO visits VALUES ('first')",
    )
    await migrate_at_start(folder, url)
    assert await scalar(url, "SELECT version_num FROM alembic_version") == "0002"
    assert await scalar(url, "SELECT string_agg(id, ',') FROM visits") == "first"


async def test_a_database_at_head_is_left_alone(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = migrations(tmp_path, "CREATE TABLE visits (id text PRIMARY KEY)")
    await migrate_at_start(folder, url)
    # No child process can start now: at head, none is needed.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    await migrate_at_start(folder, url)
    assert await scalar(url, "SELECT version_num FROM alembic_version") == "0001"


async def test_a_failing_migration_stops_the_start_with_its_error(url: str, tmp_path: Path) -> None:
    folder = migrations(
        tmp_path,
        "CREATE TABLE visits (id text PRIMARY KEY)",
        "SELECT no_such_function_here()",
    )
    with pytest.raises(MigrationFailed, match="no_such_function_here"):
        await migrate_at_start(folder, url)
    # One transaction: the first step rolled back with the second.
    assert await scalar(url, "SELECT to_regclass('visits') IS NULL") is True
