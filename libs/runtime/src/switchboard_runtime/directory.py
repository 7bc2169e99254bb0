"""The projection of booking's directory that several services keep: operators and clinics.

Each service keeps its own copy (its own tables, its own migrations) with the columns it
needs, and applies ``OperatorChanged`` / ``ClinicChanged`` through :func:`project_operator` /
:func:`project_clinic`: one row per operator or clinic, the newest change winning whatever
order the events arrive in (each row keeps the ``occurred_at`` of the event it holds).

    operators = operators_table(metadata, "name", "extension", "active")
    ...
    if await project_operator(session, operators, envelope): ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import ClinicChanged, Envelope, OperatorChanged

__all__ = [
    "CLINIC_FIELDS",
    "OPERATOR_FIELDS",
    "clinics_table",
    "newest_wins",
    "operators_table",
    "project_clinic",
    "project_operator",
]

#: What an operator row may keep (all from ``OperatorChanged``): column type, nullable.
OPERATOR_FIELDS: Mapping[str, tuple[Any, bool]] = {
    "name": (sa.Text, False),
    "role": (sa.Text, False),
    "call_center_id": (sa.Text, True),
    "extension": (sa.Text, True),
    "active": (sa.Boolean, False),
}
#: What a clinic row may keep (all from ``ClinicChanged``): column type, nullable.
CLINIC_FIELDS: Mapping[str, tuple[Any, bool]] = {
    "name": (sa.Text, False),
    "city": (sa.Text, True),
    "address": (sa.Text, True),
    "time_zone": (sa.Text, False),
    "active": (sa.Boolean, False),
}


def _table(
    metadata: sa.MetaData,
    name: str,
    key: str,
    known: Mapping[str, tuple[Any, bool]],
    fields: tuple[str, ...],
    version_column: str,
    extra: tuple[Any, ...],
) -> sa.Table:
    unknown = set(fields) - set(known)
    if unknown:
        raise ValueError(f"{name} have no field {sorted(unknown)}")
    return sa.Table(
        name,
        metadata,
        sa.Column(key, sa.Text, primary_key=True),
        *(sa.Column(f, known[f][0], nullable=known[f][1]) for f in fields),
        # The event's occurred_at: an older event never overwrites a newer one.
        sa.Column(version_column, sa.DateTime(timezone=True), nullable=False),
        *extra,
        info={"version_column": version_column},
    )


def operators_table(
    metadata: sa.MetaData,
    *fields: str,
    version_column: str = "changed_at",
    extra: tuple[Any, ...] = (),
) -> sa.Table:
    """The ``operators`` table of a service keeping ``fields`` of :data:`OPERATOR_FIELDS`
    (its migration creates it; ``extra`` adds indexes or columns of the service's own)."""
    return _table(
        metadata, "operators", "operator_id", OPERATOR_FIELDS, fields, version_column, extra
    )


def clinics_table(
    metadata: sa.MetaData,
    *fields: str,
    version_column: str = "changed_at",
    extra: tuple[Any, ...] = (),
) -> sa.Table:
    """The ``clinics`` table of a service keeping ``fields`` of :data:`CLINIC_FIELDS`."""
    return _table(metadata, "clinics", "clinic_id", CLINIC_FIELDS, fields, version_column, extra)


def _version_column(table: sa.Table) -> sa.Column[Any]:
    return table.c[table.info["version_column"]]


def newest_wins(table: sa.Table, values: Mapping[str, Any]) -> Any:
    """The upsert of ``values`` into a directory table that leaves a row holding a newer
    change as it is; it returns the row as stored when it wrote one."""
    (key,) = table.primary_key.columns
    version = _version_column(table)
    insert = pg_insert(table).values(dict(values))
    return insert.on_conflict_do_update(
        index_elements=[key],
        set_={name: insert.excluded[name] for name in values if name != key.name},
        where=version <= insert.excluded[version.name],
    ).returning(*table.columns)


def _row(table: sa.Table, event: Any, key: str, occurred_at: Any) -> dict[str, Any]:
    values = {c.name: getattr(event, c.name) for c in table.columns if hasattr(event, c.name)}
    values[key] = getattr(event, key)
    values[_version_column(table).name] = occurred_at
    return values


async def project_operator(
    session: AsyncSession, table: sa.Table, envelope: Envelope[OperatorChanged]
) -> bool:
    """Store the operator's state the event carries, in the columns ``table`` has; False
    when the stored state is newer (nothing changed)."""
    values = _row(table, envelope.payload, "operator_id", envelope.occurred_at)
    if "extension" in values:
        values["extension"] = (values["extension"] or "").strip() or None
    return (await session.execute(newest_wins(table, values))).first() is not None


async def project_clinic(
    session: AsyncSession, table: sa.Table, envelope: Envelope[ClinicChanged]
) -> sa.Row[Any] | None:
    """Store the clinic's state the event carries, in the columns ``table`` has; returns the
    stored row, or ``None`` when the stored state is newer (nothing changed)."""
    values = _row(table, envelope.payload, "clinic_id", envelope.occurred_at)
    return (await session.execute(newest_wins(table, values))).first()
