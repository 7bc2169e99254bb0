"""Telephony's tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from switchboard_runtime.db import make_metadata
from switchboard_runtime.directory import operators_table

metadata = make_metadata()

#: One row per call id: the state machine's state, and when the sweeper must look again.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("state", JSONB, nullable=False),
    sa.Column("next_deadline", sa.DateTime(timezone=True), nullable=True),
    sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index(
        "ix_calls_next_deadline",
        "next_deadline",
        postgresql_where=sa.text("next_deadline IS NOT NULL"),
    ),
)

#: The chain's public numbers (E.164) and the clinic each belongs to.
dids = sa.Table(
    "dids",
    metadata,
    sa.Column("did", sa.Text, primary_key=True),
    sa.Column("clinic_id", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

#: Extensions an admin configured, with the clinic each rings in (None: not one clinic's).
extensions = sa.Table(
    "extensions",
    metadata,
    sa.Column("extension", sa.Text, primary_key=True),
    sa.Column("clinic_id", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

#: Booking's operators (from ``OperatorChanged``): who shares which extension.
operators = operators_table(
    metadata,
    "name",
    "role",
    "call_center_id",
    "extension",
    "active",
    extra=(sa.Index("ix_operators_extension", "extension"),),
)

#: Calltouch and Callmarker settings, one row each once an admin saved them.
integration_settings = sa.Table(
    "integration_settings",
    metadata,
    sa.Column("integration", sa.Text, primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("call_data_url", sa.Text, nullable=True),
    sa.Column("request_data_url", sa.Text, nullable=True),
    sa.Column("integration_id", sa.Text, nullable=True),
    sa.Column("token", sa.Text, nullable=True),
    sa.Column("time_lag_minutes", sa.Integer, nullable=True),
    sa.Column("updated_by", sa.Text, nullable=True),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

#: One row; bumped by every change to the tables above, so each replica's in-memory copy
#: of the directory and time lag can see with one cheap query that it must reload.
config_version = sa.Table(
    "config_version",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

#: Ended calls waiting to be (or already) pushed to Callmarker; one per call.
callmarker_deliveries = sa.Table(
    "callmarker_deliveries",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index(
        "ix_callmarker_deliveries_next_attempt_at",
        "next_attempt_at",
        postgresql_where=sa.text("delivered_at IS NULL"),
    ),
)

#: Tags an integration attached to a call (the latest set per source).
call_tags = sa.Table(
    "call_tags",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("tags", JSONB, nullable=False),
    sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
)
