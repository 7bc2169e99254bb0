"""Service level and friends: histograms on the roll-ups with a clinic, clinics' targets.

The five roll-ups with a clinic dimension get a column per wait bucket (answered incoming
calls: one per whole second up to 120 s, then 150, 180, 240, 300, 600 s and more) and per
call-back delay bucket (called-back missed calls), NULL meaning zero; they are filled from
the call log. ``service_level_targets`` holds each clinic's service level target.
The bounds are this revision's own copy (a migration does not follow later code).

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WAIT_BOUNDS = (*range(121), 150, 180, 240, 300, 600)
CALLBACK_DELAY_BOUNDS = (
    0, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200,
    57600, 72000, 86400,
)  # fmt: skip
COLUMNS = [
    *(f"wait_{lower}s" for lower in WAIT_BOUNDS),
    *(f"callback_delay_{lower}s" for lower in CALLBACK_DELAY_BOUNDS),
]

_HOUR = "date_trunc('hour', local_started_at)"
_DAY = "local_started_at::date"
_MONTH = "date_trunc('month', local_started_at)::date"
_CLINIC, _ADMIN = "coalesce(clinic_id, '')", "coalesce(admin_id, '')"
#: name: [(key column, the same key computed from the call log)]
ROLLUPS: dict[str, list[tuple[str, str]]] = {
    "calls_by_day_clinic": [("clinic_id", _CLINIC), ("local_day", _DAY)],
    "calls_by_hour_clinic": [("clinic_id", _CLINIC), ("local_hour", _HOUR)],
    "calls_by_month": [("admin_id", _ADMIN), ("local_month", _MONTH), ("clinic_id", _CLINIC)],
    "calls_by_day": [("admin_id", _ADMIN), ("local_day", _DAY), ("clinic_id", _CLINIC)],
    "calls_by_hour": [("admin_id", _ADMIN), ("local_hour", _HOUR), ("clinic_id", _CLINIC)],
}
DIMENSIONS = ("call_type", "disposition", "called_back")


def _fill(name: str, keys: list[tuple[str, str]]) -> None:
    log = sa.table(
        "call_log",
        *(
            sa.column(c)
            for c in (
                "ended_at",
                "call_type",
                "disposition",
                "called_back",
                "wait_seconds",
                "callback_delay_seconds",
            )
        ),
    )
    incoming = log.c.call_type == "incoming"
    wait_bucket = sa.func.width_bucket(
        sa.func.coalesce(log.c.wait_seconds, 0), sa.literal(list(WAIT_BOUNDS), pg.ARRAY(sa.Integer))
    )
    delay_bucket = sa.func.width_bucket(
        sa.func.coalesce(log.c.callback_delay_seconds, 0),
        sa.literal(list(CALLBACK_DELAY_BOUNDS), pg.ARRAY(sa.Integer)),
    )
    counts: list[Any] = []
    for index in range(1, len(WAIT_BOUNDS) + 1):
        answered = sa.and_(incoming, log.c.disposition == "answered", wait_bucket == index)
        counts.append(sa.func.nullif(sa.func.count().filter(answered), 0))
    for index in range(1, len(CALLBACK_DELAY_BOUNDS) + 1):
        called_back = sa.and_(
            incoming, log.c.disposition == "missed", log.c.called_back, delay_bucket == index
        )
        counts.append(sa.func.nullif(sa.func.count().filter(called_back), 0))
    key_names = [k for k, _ in keys] + list(DIMENSIONS)
    key_values = [sa.literal_column(v) for _, v in keys] + [log.c[d] for d in DIMENSIONS]
    grouped = (
        sa.select(
            *(v.label(f"k_{n}") for n, v in zip(key_names, key_values, strict=True)),
            *(c.label(col) for c, col in zip(counts, COLUMNS, strict=True)),
        )
        .select_from(log)
        .where(log.c.ended_at.is_not(None), log.c.disposition.is_not(None))
        .group_by(*(sa.literal_column(str(n)) for n in range(1, len(key_names) + 1)))
        .subquery("grouped")
    )
    rollup = sa.table(name, *(sa.column(c) for c in [*key_names, *COLUMNS]))
    op.execute(
        sa.update(rollup)
        .values({c: grouped.c[c] for c in COLUMNS})
        .where(*(rollup.c[n] == grouped.c[f"k_{n}"] for n in key_names))
    )


def upgrade() -> None:
    for name, keys in ROLLUPS.items():
        for column in COLUMNS:
            op.add_column(name, sa.Column(column, sa.BigInteger))
        _fill(name, keys)
    op.create_table(
        "service_level_targets",
        sa.Column("clinic_id", sa.Text, primary_key=True),
        sa.Column("target_seconds", sa.Integer, nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target_seconds BETWEEN 1 AND 120", name="target_seconds"),
    )


def downgrade() -> None:
    op.drop_table("service_level_targets")
    for name in ROLLUPS:
        for column in COLUMNS:
            op.drop_column(name, column)
