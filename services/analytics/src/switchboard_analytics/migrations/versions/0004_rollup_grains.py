"""Report roll-ups at the grains the reports ask for, keyed in the order they are read.

The three roll-ups of 0002 (hour and day x clinic x admin, hour chain-wide) are replaced
by seven: chain-wide per day and per hour, per clinic and day or hour (clinic first), per
admin and month, day or hour (admin first). Key text is in byte order ("C"), so that the
first page of a report is an index range scan in the order rows are shown; the hour
roll-up per admin is also indexed by hour (periods of a few hours). Filled from the call
log.

Revision ID: 0004
Revises: 0003
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIME: dict[str, tuple[str, Any, str]] = {
    "hour": ("local_hour", sa.DateTime(timezone=False), "date_trunc('hour', local_started_at)"),
    "day": ("local_day", sa.Date(), "local_started_at::date"),
    "month": ("local_month", sa.Date(), "date_trunc('month', local_started_at)::date"),
}
_EXPRESSIONS = {"clinic_id": "coalesce(clinic_id, '')", "admin_id": "coalesce(admin_id, '')"}

#: name: (grain, leading key columns, key columns after the time)
ROLLUPS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "calls_by_day_total": ("day", (), ()),
    "calls_by_hour_total": ("hour", (), ()),
    "calls_by_day_clinic": ("day", ("clinic_id",), ()),
    "calls_by_hour_clinic": ("hour", ("clinic_id",), ()),
    "calls_by_month": ("month", ("admin_id",), ("clinic_id",)),
    "calls_by_day": ("day", ("admin_id",), ("clinic_id",)),
    "calls_by_hour": ("hour", ("admin_id",), ("clinic_id",)),
}


def _text(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(collation="C"), primary_key=True)


def _create(name: str, grain: str, leading: tuple[str, ...], rest: tuple[str, ...]) -> None:
    time_name, time_type, time_expr = _TIME[grain]
    op.create_table(
        name,
        *(_text(column) for column in leading),
        sa.Column(time_name, time_type, primary_key=True),
        *(_text(column) for column in rest),
        _text("call_type"),
        _text("disposition"),
        sa.Column("called_back", sa.Boolean, primary_key=True),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("talk_seconds", sa.BigInteger, nullable=False),
        sa.Column("wait_seconds", sa.BigInteger, nullable=False),
    )
    keys = [*leading, time_name, *rest, "call_type", "disposition", "called_back"]
    values = [_EXPRESSIONS.get(k, time_expr if k == time_name else k) for k in keys]
    _fill(name, keys, values)


def _fill(name: str, keys: list[str], values: list[str]) -> None:
    """Fill roll-up ``name`` from the call log: ``values`` (expressions over call_log's
    columns, constants of this module) grouped into the ``keys`` columns."""
    measures = ["calls", "talk_seconds", "wait_seconds"]
    rollup = sa.table(name, *(sa.column(k) for k in [*keys, *measures]))
    log = sa.table(
        "call_log",
        sa.column("ended_at"),
        sa.column("disposition"),
        sa.column("talk_seconds"),
        sa.column("wait_seconds"),
    )
    grouped: Any = (
        sa.select(
            *(sa.literal_column(v) for v in values),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(log.c.talk_seconds), 0),
            sa.func.coalesce(sa.func.sum(log.c.wait_seconds), 0),
        )
        .select_from(log)
        .where(log.c.ended_at.is_not(None), log.c.disposition.is_not(None))
        .group_by(*(sa.literal_column(str(n)) for n in range(1, len(keys) + 1)))
    )
    op.execute(rollup.insert().from_select([*keys, *measures], grouped))


def upgrade() -> None:
    for table in ("calls_by_hour_total", "calls_by_day", "calls_by_hour"):
        op.drop_table(table)
    for name, (grain, leading, rest) in ROLLUPS.items():
        _create(name, grain, leading, rest)
    op.create_index("ix_calls_by_hour_local_hour", "calls_by_hour", ["local_hour"])


def downgrade() -> None:
    for name in ROLLUPS:
        op.drop_table(name)
    old = {
        "calls_by_hour": ("hour", ("clinic_id", "admin_id")),
        "calls_by_day": ("day", ("clinic_id", "admin_id")),
        "calls_by_hour_total": ("hour", ()),
    }
    for name, (grain, dimensions) in old.items():
        time_name, time_type, time_expr = _TIME[grain]
        op.create_table(
            name,
            sa.Column(time_name, time_type, primary_key=True),
            *(sa.Column(d, sa.Text, primary_key=True) for d in dimensions),
            sa.Column("call_type", sa.Text, primary_key=True),
            sa.Column("disposition", sa.Text, primary_key=True),
            sa.Column("called_back", sa.Boolean, primary_key=True),
            sa.Column("calls", sa.BigInteger, nullable=False),
            sa.Column("talk_seconds", sa.BigInteger, nullable=False),
            sa.Column("wait_seconds", sa.BigInteger, nullable=False),
        )
        keys = [time_name, *dimensions, "call_type", "disposition", "called_back"]
        values = [_EXPRESSIONS.get(k, time_expr if k == time_name else k) for k in keys]
        _fill(name, keys, values)
