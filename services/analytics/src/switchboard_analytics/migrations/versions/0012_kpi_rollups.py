"""Service level histograms move to roll-ups of their own, one cumulative array each.

The calls roll-ups carried a column per wait bucket and per call-back delay bucket (142
per roll-up, migrations 0008 and 0010) on every row, of every call type; reading them
summed every column of every row, and each call's roll-up delta named all of them. Now:

- ``kpi_by_*``: roll-ups of ended calls keyed like the chain-wide roll-ups and those
  with a clinic but without call type, disposition or called back (plus one per public
  number and month), with the counts of incoming calls the report reads and two
  ``integer[]`` histograms, cumulative: element ``i`` counts the calls in bucket ``i``
  or lower, so that "answered within X seconds" is one element of a row. They are
  filled from the call log.
- ``histogram_add``: element-wise sum of two such arrays (NULL is all zeros, and a sum
  of zeros is NULL), for the projection's INSERT … ON CONFLICT.
- ``calls_by_month_did``: the calls roll-up per public number and month (the report by
  number over whole months), filled from ``calls_by_day_did``.
- The 142 histogram columns are dropped from the seven calls roll-ups.

The downgrade puts the columns back and fills them from the call log (as 0008 did).
Bounds and names are this revision's own copy (a migration does not follow later code).

Revision ID: 0012
Revises: 0011
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WAIT_BOUNDS = (*range(121), 150, 180, 240, 300, 600)
CALLBACK_DELAY_BOUNDS = (
    0, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200,
    57600, 72000, 86400,
)  # fmt: skip
OLD_COLUMNS = [
    *(f"wait_{lower}s" for lower in WAIT_BOUNDS),
    *(f"callback_delay_{lower}s" for lower in CALLBACK_DELAY_BOUNDS),
]

_HOUR = "date_trunc('hour', local_started_at)"
_DAY = "local_started_at::date"
_MONTH = "date_trunc('month', local_started_at)::date"
_CLINIC, _ADMIN, _DID = "coalesce(clinic_id, '')", "coalesce(admin_id, '')", "coalesce(did, '')"
_TIME_TYPES: dict[str, Any] = {
    "local_hour": sa.DateTime(timezone=False),
    "local_day": sa.Date(),
    "local_month": sa.Date(),
}
#: The calls roll-ups that carried histograms: name: [(key column, from the call log)].
OLD_ROLLUPS: dict[str, list[tuple[str, str]]] = {
    "calls_by_day_clinic": [("clinic_id", _CLINIC), ("local_day", _DAY)],
    "calls_by_hour_clinic": [("clinic_id", _CLINIC), ("local_hour", _HOUR)],
    "calls_by_month": [("admin_id", _ADMIN), ("local_month", _MONTH), ("clinic_id", _CLINIC)],
    "calls_by_day": [("admin_id", _ADMIN), ("local_day", _DAY), ("clinic_id", _CLINIC)],
    "calls_by_hour": [("admin_id", _ADMIN), ("local_hour", _HOUR), ("clinic_id", _CLINIC)],
    "calls_by_day_did": [("did", _DID), ("local_day", _DAY), ("clinic_id", _CLINIC)],
    "calls_by_hour_did": [("did", _DID), ("local_hour", _HOUR), ("clinic_id", _CLINIC)],
}
#: The service level roll-ups: name: [(key column, from the call log)].
KPI_ROLLUPS: dict[str, list[tuple[str, str]]] = {
    "kpi_by_day_total": [("local_day", _DAY)],
    "kpi_by_hour_total": [("local_hour", _HOUR)],
    "kpi_by_day_clinic": OLD_ROLLUPS["calls_by_day_clinic"],
    "kpi_by_hour_clinic": OLD_ROLLUPS["calls_by_hour_clinic"],
    "kpi_by_month": OLD_ROLLUPS["calls_by_month"],
    "kpi_by_day": OLD_ROLLUPS["calls_by_day"],
    "kpi_by_hour": OLD_ROLLUPS["calls_by_hour"],
    "kpi_by_month_did": [("did", _DID), ("local_month", _MONTH), ("clinic_id", _CLINIC)],
    "kpi_by_day_did": OLD_ROLLUPS["calls_by_day_did"],
    "kpi_by_hour_did": OLD_ROLLUPS["calls_by_hour_did"],
}
#: Hourly ones read a page of hours across their leading key.
HOUR_INDEXES = {"kpi_by_hour_clinic": "local_hour", "kpi_by_hour": "local_hour"}
DIMENSIONS = ("call_type", "disposition", "called_back")

#: NULL stands for all zeros both ways: a sum of zeros is NULL, so that a row whose
#: calls all moved elsewhere holds what a fresh count of its calls would.
HISTOGRAM_ADD = """
CREATE FUNCTION histogram_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN a IS NULL THEN b
        WHEN b IS NULL THEN a
        ELSE (
            SELECT CASE WHEN bool_or(x + y <> 0) THEN array_agg(x + y ORDER BY i) END
            FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
        )
    END
$$
"""


#: The call log columns the fills read.
_LOG = sa.table(
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


def _buckets() -> list[sa.ColumnElement[Any]]:
    """Per ended call: its wait bucket if an answered incoming call, its call-back delay
    bucket if a called-back missed incoming call (1-based, width_bucket of the bounds),
    else NULL."""
    log = _LOG.c
    incoming = log.call_type == "incoming"
    return [
        sa.case(
            (
                sa.and_(incoming, log.disposition == "answered"),
                sa.func.width_bucket(
                    sa.func.coalesce(log.wait_seconds, 0),
                    sa.literal(list(WAIT_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("wait_bucket"),
        sa.case(
            (
                sa.and_(incoming, log.disposition == "missed", log.called_back),
                sa.func.width_bucket(
                    sa.func.coalesce(log.callback_delay_seconds, 0),
                    sa.literal(list(CALLBACK_DELAY_BOUNDS), pg.ARRAY(sa.Integer)),
                ),
            )
        ).label("delay_bucket"),
    ]


def _ended(keys: list[tuple[str, str]], *, incoming_only: bool = False) -> sa.Subquery:
    """The ended calls with their keys (``k_<name>``) and buckets."""
    log = _LOG.c
    where: list[sa.ColumnElement[bool]] = [log.ended_at.is_not(None), log.disposition.is_not(None)]
    if incoming_only:
        where.append(log.call_type == "incoming")
    return (
        sa.select(
            *(sa.literal_column(value).label(f"k_{name}") for name, value in keys),
            log.call_type,
            log.disposition,
            log.called_back,
            log.wait_seconds,
            *_buckets(),
        )
        .select_from(_LOG)
        .where(*where)
        .subquery("ended")
    )


def _cumulative(bucket: sa.ColumnElement[Any], size: int) -> sa.ColumnElement[Any]:
    counts = [sa.func.count().filter(bucket <= i) for i in range(1, size + 1)]
    return sa.case((sa.func.count(bucket) > 0, sa.cast(pg.array(counts), pg.ARRAY(sa.Integer))))


def _key(name: str) -> sa.Column[Any]:
    if name in _TIME_TYPES:
        return sa.Column(name, _TIME_TYPES[name], primary_key=True)
    return sa.Column(name, sa.Text(collation="C"), primary_key=True)


def _create_kpi(name: str, keys: list[tuple[str, str]]) -> None:
    op.create_table(
        name,
        *(_key(column) for column, _ in keys),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("incoming", sa.BigInteger, nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=False),
        sa.Column("missed", sa.BigInteger, nullable=False),
        sa.Column("called_back", sa.BigInteger, nullable=False),
        sa.Column("answered_wait_seconds", sa.BigInteger, nullable=False),
        sa.Column("waits", pg.ARRAY(sa.Integer)),
        sa.Column("callback_delays", pg.ARRAY(sa.Integer)),
    )
    ended = _ended(keys)
    e = ended.c
    incoming = e.call_type == "incoming"
    answered = sa.and_(incoming, e.disposition == "answered")
    missed = sa.and_(incoming, e.disposition == "missed")
    measures = {
        "calls": sa.func.count(),
        "incoming": sa.func.count().filter(incoming),
        "answered": sa.func.count().filter(answered),
        "missed": sa.func.count().filter(missed),
        "called_back": sa.func.count().filter(missed, e.called_back),
        "answered_wait_seconds": sa.func.coalesce(
            sa.func.sum(sa.func.coalesce(e.wait_seconds, 0)).filter(answered), 0
        ),
        "waits": _cumulative(e.wait_bucket, len(WAIT_BOUNDS)),
        "callback_delays": _cumulative(e.delay_bucket, len(CALLBACK_DELAY_BOUNDS)),
    }
    key_columns = [e[f"k_{column}"] for column, _ in keys]
    grouped = sa.select(*key_columns, *measures.values()).group_by(*key_columns)
    table = sa.table(name, *(sa.column(c) for c in [*(k for k, _ in keys), *measures]))
    op.execute(table.insert().from_select([*(k for k, _ in keys), *measures], grouped))


def upgrade() -> None:
    op.execute(HISTOGRAM_ADD)
    for name, keys in KPI_ROLLUPS.items():
        _create_kpi(name, keys)
    for name, column in HOUR_INDEXES.items():
        op.create_index(f"ix_{name}_{column}", name, [column])
    op.create_table(
        "calls_by_month_did",
        _key("did"),
        _key("local_month"),
        _key("clinic_id"),
        *(_key(d) for d in DIMENSIONS[:2]),
        sa.Column("called_back", sa.Boolean, primary_key=True),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("talk_seconds", sa.BigInteger, nullable=False),
        sa.Column("wait_seconds", sa.BigInteger, nullable=False),
    )
    op.execute(
        """
        INSERT INTO calls_by_month_did
        SELECT did, date_trunc('month', local_day)::date, clinic_id, call_type, disposition,
            called_back, sum(calls), sum(talk_seconds), sum(wait_seconds)
        FROM calls_by_day_did GROUP BY 1, 2, 3, 4, 5, 6
        """
    )
    for name in OLD_ROLLUPS:
        for column in OLD_COLUMNS:
            op.drop_column(name, column)


def _fill_old(name: str, keys: list[tuple[str, str]]) -> None:
    """The histogram columns of a calls roll-up, from the call log (as 0008 filled them):
    calls per bucket, NULL for none."""
    ended = _ended(keys, incoming_only=True)
    e = ended.c
    counts = [
        *(e.wait_bucket == i for i in range(1, len(WAIT_BOUNDS) + 1)),
        *(e.delay_bucket == i for i in range(1, len(CALLBACK_DELAY_BOUNDS) + 1)),
    ]
    key_names = [k for k, _ in keys] + list(DIMENSIONS)
    key_columns = [e[f"k_{k}"] for k, _ in keys] + [e[d].label(f"k_{d}") for d in DIMENSIONS]
    grouped = (
        sa.select(
            *key_columns,
            *(
                sa.func.nullif(sa.func.count().filter(where), 0).label(column)
                for where, column in zip(counts, OLD_COLUMNS, strict=True)
            ),
        )
        .group_by(*(sa.literal_column(str(n)) for n in range(1, len(key_names) + 1)))
        .subquery("grouped")
    )
    rollup = sa.table(name, *(sa.column(c) for c in [*key_names, *OLD_COLUMNS]))
    op.execute(
        sa.update(rollup)
        .values({c: grouped.c[c] for c in OLD_COLUMNS})
        .where(*(rollup.c[n] == grouped.c[f"k_{n}"] for n in key_names))
    )


def downgrade() -> None:
    op.drop_table("calls_by_month_did")
    for name in KPI_ROLLUPS:
        op.drop_table(name)
    op.execute("DROP FUNCTION histogram_add(integer[], integer[])")
    for name, keys in OLD_ROLLUPS.items():
        for column in OLD_COLUMNS:
            op.add_column(name, sa.Column(column, sa.BigInteger))
        _fill_old(name, keys)
