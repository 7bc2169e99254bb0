"""Conversion from roll-ups: per-call conversion columns on the call log, conversion
measures on every roll-up.

The call log gets ``has_touch`` (a touch names the call), ``appointments_booked`` (booked
during the call, or from one of its touches without naming a call) and
``appointments_cancelled`` (of them), filled from ``touches`` and ``appointments``;
every roll-up gets ``with_touch``, ``with_appointment``, ``cancelled``, ``appointments``
and ``appointments_cancelled`` (answered incoming calls with a touch, and so on: see
``domain/conversion.py``), filled from the call log. The rules are this revision's own
copy (a migration does not follow later code).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CALL_COLUMNS = (
    ("has_touch", sa.Boolean, sa.false()),
    ("appointments_booked", sa.Integer, "0"),
    ("appointments_cancelled", sa.Integer, "0"),
)
MEASURES = ("with_touch", "with_appointment", "cancelled", "appointments", "appointments_cancelled")

_HOUR = "date_trunc('hour', local_started_at)"
_DAY = "local_started_at::date"
_MONTH = "date_trunc('month', local_started_at)::date"
_CLINIC, _ADMIN = "coalesce(clinic_id, '')", "coalesce(admin_id, '')"
_DID = "coalesce(did, '')"
#: name: [(key column, the same key computed from the call log)]
ROLLUPS: dict[str, list[tuple[str, str]]] = {
    "calls_by_day_total": [("local_day", _DAY)],
    "calls_by_hour_total": [("local_hour", _HOUR)],
    "calls_by_day_clinic": [("clinic_id", _CLINIC), ("local_day", _DAY)],
    "calls_by_hour_clinic": [("clinic_id", _CLINIC), ("local_hour", _HOUR)],
    "calls_by_month": [("admin_id", _ADMIN), ("local_month", _MONTH), ("clinic_id", _CLINIC)],
    "calls_by_day": [("admin_id", _ADMIN), ("local_day", _DAY), ("clinic_id", _CLINIC)],
    "calls_by_hour": [("admin_id", _ADMIN), ("local_hour", _HOUR), ("clinic_id", _CLINIC)],
    "calls_by_day_did": [("did", _DID), ("local_day", _DAY), ("clinic_id", _CLINIC)],
    "calls_by_hour_did": [("did", _DID), ("local_hour", _HOUR), ("clinic_id", _CLINIC)],
    "calls_by_month_did": [("did", _DID), ("local_month", _MONTH), ("clinic_id", _CLINIC)],
}
DIMENSIONS = ("call_type", "disposition", "called_back")

#: Per call with a touch or an appointment: the three columns.
_FILL_CALLS = """
UPDATE call_log SET
    has_touch = facts.has_touch,
    appointments_booked = facts.booked,
    appointments_cancelled = facts.cancelled
FROM (
    SELECT call_id, bool_or(touch) AS has_touch, sum(booked)::int AS booked,
           sum(cancelled)::int AS cancelled
    FROM (
        SELECT call_id, true AS touch, 0 AS booked, 0 AS cancelled
        FROM touches WHERE call_id IS NOT NULL
        UNION ALL
        SELECT call_id, false, (booked_at IS NOT NULL)::int,
               (booked_at IS NOT NULL AND cancelled_at IS NOT NULL)::int
        FROM appointments WHERE call_id IS NOT NULL
        UNION ALL
        SELECT t.call_id, false, (a.booked_at IS NOT NULL)::int,
               (a.booked_at IS NOT NULL AND a.cancelled_at IS NOT NULL)::int
        FROM appointments a JOIN touches t ON t.touch_id = a.touch_id
        WHERE a.call_id IS NULL AND t.call_id IS NOT NULL
    ) linked
    GROUP BY call_id
) facts
WHERE call_log.call_id = facts.call_id
"""


_LOG = sa.table(
    "call_log",
    *(
        sa.column(c)
        for c in (
            "ended_at",
            "call_type",
            "disposition",
            "called_back",
            "has_touch",
            "appointments_booked",
            "appointments_cancelled",
        )
    ),
)


def _fill_rollup(name: str, keys: list[tuple[str, str]]) -> None:
    log = _LOG.c
    names = [k for k, _ in keys] + list(DIMENSIONS)
    values = [sa.literal_column(v) for _, v in keys] + [log[d] for d in DIMENSIONS]
    booked = log.appointments_booked > 0
    grouped = (
        sa.select(
            *(v.label(f"k_{n}") for n, v in zip(names, values, strict=True)),
            sa.func.count().label("with_touch"),
            sa.func.count().filter(booked).label("with_appointment"),
            sa.func.count()
            .filter(booked, log.appointments_cancelled == log.appointments_booked)
            .label("cancelled"),
            sa.func.coalesce(sa.func.sum(log.appointments_booked).filter(booked), 0).label(
                "appointments"
            ),
            sa.func.coalesce(sa.func.sum(log.appointments_cancelled).filter(booked), 0).label(
                "appointments_cancelled"
            ),
        )
        .select_from(_LOG)
        .where(
            log.ended_at.is_not(None),
            log.call_type == "incoming",
            log.disposition == "answered",
            log.has_touch,
        )
        .group_by(*(sa.literal_column(str(n)) for n in range(1, len(names) + 1)))
        .subquery("g")
    )
    rollup = sa.table(name, *(sa.column(c) for c in [*names, *MEASURES]))
    op.execute(
        sa.update(rollup)
        .values({m: grouped.c[m] for m in MEASURES})
        .where(*(rollup.c[n] == grouped.c[f"k_{n}"] for n in names))
    )


def upgrade() -> None:
    for column, type_, default in CALL_COLUMNS:
        op.add_column("call_log", sa.Column(column, type_, nullable=False, server_default=default))
    op.execute(_FILL_CALLS)
    for name, keys in ROLLUPS.items():
        for measure in MEASURES:
            op.add_column(
                name, sa.Column(measure, sa.BigInteger, nullable=False, server_default="0")
            )
        _fill_rollup(name, keys)


def downgrade() -> None:
    for name in ROLLUPS:
        for measure in MEASURES:
            op.drop_column(name, measure)
    for column, _, _ in reversed(CALL_COLUMNS):
        op.drop_column("call_log", column)
