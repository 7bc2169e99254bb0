"""Telephony's tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from switchboard_runtime.db import make_metadata

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
