"""Analytics' tables: the call log projection."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard_runtime.db import make_metadata

metadata = make_metadata()

#: One row per call, filled as its canonical events arrive.
call_log = sa.Table(
    "call_log",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("call_type", sa.Text, nullable=False),
    sa.Column("src", sa.Text, nullable=False),
    sa.Column("dst", sa.Text, nullable=False),
    sa.Column("extension", sa.Text),
    sa.Column("clinic_id", sa.Text),
    sa.Column("operator_id", sa.Text),
    sa.Column("disposition", sa.Text),
    sa.Column("wait_seconds", sa.Integer),
    sa.Column("talk_seconds", sa.Integer),
    sa.Column("total_seconds", sa.Integer),
    sa.Column("recording_url", sa.Text),
    sa.Column("end_reason", sa.Text),
    sa.Index("ix_call_log_started_at_call_id", "started_at", "call_id"),
)
