"""Analytics' roll-ups: counts and sums of ended calls per clinic-local hour, day or month
and the reports' dimensions (the calls report's and the conversion report's), and the
service level's wait histograms (``kpi_*``). Projection state, kept incrementally: the
transaction that changes the call log records the changes (``rollup_changes``), a fold
adds them (``rollup_deltas``); read by ``rollup_choice``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from switchboard_analytics.adapters.metadata import metadata


def _measures() -> list[sa.Column[int]]:
    return [
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("talk_seconds", sa.BigInteger, nullable=False),
        sa.Column("wait_seconds", sa.BigInteger, nullable=False),
    ]


#: Key text in byte order ("C"), whatever the database's locale: the order reports are
#: sorted by, so that a report's page is an index range scan in the primary key's order.
_KEY_TEXT = sa.Text(collation="C")

#: Every fold rewrites the roll-up rows its calls fall in (``rollup_deltas``): a tenth of
#: each page is left free at insert so that the new version of a row fits on its page (a
#: HOT update: no new entry in the row's indexes). A fold of 4 000 calls' changes on the
#: benchmark's 1 M-call database: 390-410 ms against 460-480; the tables are a ninth
#: larger (migration 0018).
ROLLUP_STORAGE = {"fillfactor": 90}

_TIME_COLUMNS: dict[str, tuple[str, Any]] = {
    "hour": ("local_hour", sa.DateTime(timezone=False)),
    "day": ("local_day", sa.Date()),
    "month": ("local_month", sa.Date()),
}


#: The conversion measures of every roll-up (``domain.conversion``): answered incoming
#: calls with a touch, of them those with an appointment and those whose appointments
#: were all cancelled, and their appointments (booked, cancelled). Added by migration
#: 0013, so they come last in the migrated tables as here.
CONVERSION_COLUMNS: tuple[str, ...] = (
    "with_touch",
    "with_appointment",
    "cancelled",
    "appointments",
    "appointments_cancelled",
)


def _rollup(name: str, grain: str, leading: tuple[str, ...], rest: tuple[str, ...]) -> sa.Table:
    """A roll-up per clinic-local ``grain``: its primary key is ``leading`` columns, the time
    column, ``rest``, then call type, disposition and called back; counts and sums, then
    the conversion measures."""
    time_name, time_type = _TIME_COLUMNS[grain]
    return sa.Table(
        name,
        metadata,
        *(sa.Column(column, _KEY_TEXT, primary_key=True) for column in leading),
        sa.Column(time_name, time_type, primary_key=True),
        *(sa.Column(column, _KEY_TEXT, primary_key=True) for column in rest),
        sa.Column("call_type", _KEY_TEXT, primary_key=True),
        sa.Column("disposition", _KEY_TEXT, primary_key=True),
        sa.Column("called_back", sa.Boolean, primary_key=True),
        *_measures(),
        *(
            sa.Column(column, sa.BigInteger, nullable=False, server_default="0")
            for column in CONVERSION_COLUMNS
        ),
        postgresql_with=ROLLUP_STORAGE,
    )


# Roll-ups: counts and sums of ended calls per clinic-local hour, day or month and the
# report's dimensions, each as small as the reports it answers allow (see
# ``rollup_choice.choose_rollup``). Missing values are '' (no clinic, no admin): key columns
# cannot be NULL. They are kept incrementally, in the transaction that changes the call log.

#: Chain-wide, per day: the day report without a clinic or admin filter.
calls_by_day_total = _rollup("calls_by_day_total", "day", (), ())
#: Chain-wide, per hour: the hour report without a clinic or admin filter.
calls_by_hour_total = _rollup("calls_by_hour_total", "hour", (), ())
#: Per clinic and day (clinic first: one clinic's days are one index range).
calls_by_day_clinic = _rollup("calls_by_day_clinic", "day", ("clinic_id",), ())
#: Per clinic and hour.
calls_by_hour_clinic = _rollup("calls_by_hour_clinic", "hour", ("clinic_id",), ())
#: Per admin and month: the employee x month report (admin first: the report's order).
calls_by_month = _rollup("calls_by_month", "month", ("admin_id",), ("clinic_id",))
#: Per admin and day: the employee x day report, and an admin filter on day reports.
calls_by_day = _rollup("calls_by_day", "day", ("admin_id",), ("clinic_id",))
#: Per admin and hour (the finest grain): an admin filter on hour reports, and periods
#: bounded inside a day.
calls_by_hour = _rollup("calls_by_hour", "hour", ("admin_id",), ("clinic_id",))
# A period of a few hours with employee groupings or an admin filter: a range of hours.
sa.Index("ix_calls_by_hour_local_hour", calls_by_hour.c.local_hour)
#: Per public number (DID) and month: the report by number over whole months.
calls_by_month_did = _rollup("calls_by_month_did", "month", ("did",), ("clinic_id",))
#: Per public number (DID) and day: the report by number, and a number filter on day
#: reports (DID first: one number's days are one index range).
calls_by_day_did = _rollup("calls_by_day_did", "day", ("did",), ("clinic_id",))
#: Per public number and hour: a number filter on hour reports and the heatmap.
calls_by_hour_did = _rollup("calls_by_hour_did", "hour", ("did",), ("clinic_id",))

ROLLUP_TABLES: tuple[sa.Table, ...] = (
    calls_by_day_total,
    calls_by_hour_total,
    calls_by_day_clinic,
    calls_by_hour_clinic,
    calls_by_month,
    calls_by_day,
    calls_by_hour,
    calls_by_month_did,
    calls_by_day_did,
    calls_by_hour_did,
)


def _kpi_rollup(name: str, grain: str, leading: tuple[str, ...], rest: tuple[str, ...]) -> sa.Table:
    """A service level roll-up of ended calls per clinic-local ``grain``: its primary key
    is ``leading`` columns, the time column, then ``rest`` (no call type, disposition or
    called back: a report filtering on those reads the call log). ``calls`` counts every
    call, the other measures incoming calls only.

    ``waits`` and ``callback_delays`` are cumulative histograms (``domain.kpi``): count
    ``i`` (1-based) is of the answered calls whose wait bucket, the called-back missed
    calls whose delay bucket, is ``i`` or lower; NULL when the row has none. "Answered
    within X seconds" is then the one count ``X + 1`` of each row, whatever ``X`` is.
    Each is packed into one number (``domain.kpi.PACKED_DIGITS`` digits a count), so that
    a fold adds histograms and a report sums them as numbers (migration 0019).
    """
    time_name, time_type = _TIME_COLUMNS[grain]
    return sa.Table(
        name,
        metadata,
        *(sa.Column(column, _KEY_TEXT, primary_key=True) for column in leading),
        sa.Column(time_name, time_type, primary_key=True),
        *(sa.Column(column, _KEY_TEXT, primary_key=True) for column in rest),
        # Every ended call: a group of the report is there when it has calls of any type.
        sa.Column("calls", sa.BigInteger, nullable=False),
        # The rest count incoming calls only.
        sa.Column("incoming", sa.BigInteger, nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=False),
        sa.Column("missed", sa.BigInteger, nullable=False),
        sa.Column("called_back", sa.BigInteger, nullable=False),
        sa.Column("answered_wait_seconds", sa.BigInteger, nullable=False),
        sa.Column("waits", sa.Numeric),
        sa.Column("callback_delays", sa.Numeric),
        postgresql_with=ROLLUP_STORAGE,
    )


# Service level roll-ups: chain-wide ones (while every clinic has the same target), one per
# roll-up with a clinic (targets are per clinic), and per public number and month for the
# report by number over whole months.
kpi_by_day_total = _kpi_rollup("kpi_by_day_total", "day", (), ())
kpi_by_hour_total = _kpi_rollup("kpi_by_hour_total", "hour", (), ())
kpi_by_day_clinic = _kpi_rollup("kpi_by_day_clinic", "day", ("clinic_id",), ())
kpi_by_hour_clinic = _kpi_rollup("kpi_by_hour_clinic", "hour", ("clinic_id",), ())
# The report by hour reads a page of hours of every clinic: a range of this index.
sa.Index("ix_kpi_by_hour_clinic_local_hour", kpi_by_hour_clinic.c.local_hour)
kpi_by_month = _kpi_rollup("kpi_by_month", "month", ("admin_id",), ("clinic_id",))
kpi_by_day = _kpi_rollup("kpi_by_day", "day", ("admin_id",), ("clinic_id",))
kpi_by_hour = _kpi_rollup("kpi_by_hour", "hour", ("admin_id",), ("clinic_id",))
sa.Index("ix_kpi_by_hour_local_hour", kpi_by_hour.c.local_hour)
kpi_by_month_did = _kpi_rollup("kpi_by_month_did", "month", ("did",), ("clinic_id",))
kpi_by_day_did = _kpi_rollup("kpi_by_day_did", "day", ("did",), ("clinic_id",))
kpi_by_hour_did = _kpi_rollup("kpi_by_hour_did", "hour", ("did",), ("clinic_id",))

KPI_ROLLUP_TABLES: tuple[sa.Table, ...] = (
    kpi_by_day_total,
    kpi_by_hour_total,
    kpi_by_day_clinic,
    kpi_by_hour_clinic,
    kpi_by_month,
    kpi_by_day,
    kpi_by_hour,
    kpi_by_month_did,
    kpi_by_day_did,
    kpi_by_hour_did,
)


#: The roll-ups' changes not folded in yet: per ended call whose contribution changed, its
#: roll-up keys and measures (``rollup_deltas._changes``) with ``sign`` -1 (what it
#: contributed before the change) or +1 (what it contributes after). The projection
#: appends them in the transaction that changes the call log, cheap inserts into a table
#: without indexes; ``rollup_deltas.fold_changes`` adds them to every roll-up and deletes
#: them, on a connection of its own, beside the consumer. A roll-up plus the changes not
#: folded yet always equals a GROUP BY over the call log.
rollup_changes = sa.Table(
    "rollup_changes",
    metadata,
    sa.Column("local_hour", sa.DateTime(timezone=False), nullable=False),
    sa.Column("local_day", sa.Date(), nullable=False),
    sa.Column("local_month", sa.Date(), nullable=False),
    sa.Column("clinic_id", _KEY_TEXT, nullable=False),
    sa.Column("admin_id", _KEY_TEXT, nullable=False),
    sa.Column("did", _KEY_TEXT, nullable=False),
    sa.Column("call_type", _KEY_TEXT, nullable=False),
    sa.Column("disposition", _KEY_TEXT, nullable=False),
    sa.Column("called_back", sa.Boolean, nullable=False),
    sa.Column("talk_seconds", sa.Integer, nullable=False),
    sa.Column("wait_seconds", sa.Integer, nullable=False),
    # 1-based buckets of ``domain.kpi``'s bounds; NULL where the call has none.
    sa.Column("wait_bucket", sa.Integer),
    sa.Column("delay_bucket", sa.Integer),
    *(sa.Column(column, sa.Integer, nullable=False) for column in CONVERSION_COLUMNS),
    sa.Column("sign", sa.SmallInteger, nullable=False),
)
