"""The directory projection against the real PostgreSQL: the newest change wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClinicChanged, Envelope, OperatorChanged, make_envelope
from switchboard_runtime.db import ensure_database, make_engine, make_metadata
from switchboard_runtime.directory import (
    clinics_table,
    operators_table,
    project_clinic,
    project_operator,
)
from switchboard_runtime.settings import ServiceSettings, service_config

pytestmark = [pytest.mark.integration]

metadata = make_metadata()
operators = operators_table(metadata, "name", "extension", "active")
clinics = clinics_table(metadata, "name", "time_zone", version_column="version_at")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class DirectorySettings(ServiceSettings):
    service_name: ClassVar[str] = "directory-probe"
    model_config = service_config("DIRPROBE_")


def _operator(name: str, extension: str | None, at: datetime) -> Envelope[OperatorChanged]:
    event = OperatorChanged(
        operator_id="op-1", name=name, role="admin", extension=extension, active=True
    )
    return make_envelope(event, producer="booking", occurred_at=at)


def test_a_table_keeps_only_directory_fields() -> None:
    with pytest.raises(ValueError, match="no field"):
        operators_table(make_metadata(), "name", "salary")


@pytest.mark.asyncio(loop_scope="session")
async def test_the_newest_change_wins_in_any_order() -> None:
    settings = DirectorySettings()
    await ensure_database(settings.service_database_url)
    engine = make_engine(settings.service_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
        async with engine.begin() as conn:
            session = AsyncSession(bind=conn)
            newer = _operator("Anna Smirnova", " 102 ", T0 + timedelta(minutes=5))
            older = _operator("Anna", "101", T0)
            assert await project_operator(session, operators, newer)
            assert not await project_operator(session, operators, older)
            row = (await session.execute(sa.select(operators))).one()
            assert (row.name, row.extension, row.changed_at) == (
                "Anna Smirnova",
                "102",
                T0 + timedelta(minutes=5),
            )
            clinic = ClinicChanged(clinic_id="c-1", name="Tverskaya", time_zone="Europe/Moscow")
            moved = clinic.model_copy(update={"time_zone": "Europe/Berlin"})
            stored = await project_clinic(
                session, clinics, make_envelope(clinic, producer="booking", occurred_at=T0)
            )
            assert stored is not None and stored.time_zone == "Europe/Moscow"
            later = make_envelope(moved, producer="booking", occurred_at=T0 + timedelta(hours=1))
            stored = await project_clinic(session, clinics, later)
            assert stored is not None and stored.time_zone == "Europe/Berlin"
            stale = make_envelope(clinic, producer="booking", occurred_at=T0)
            assert await project_clinic(session, clinics, stale) is None
            await session.close()
    finally:
        await engine.dispose()
