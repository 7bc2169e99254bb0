"""Notify's tables: its projection of booking's directory (operators and clinics)."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard_runtime.db import make_metadata

metadata = make_metadata()

#: Booking's operators (from ``OperatorChanged``): who sits on which extension.
operators = sa.Table(
    "operators",
    metadata,
    sa.Column("operator_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("call_center_id", sa.Text, nullable=True),
    sa.Column("extension", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    # The event's occurred_at: an older event never overwrites a newer one.
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_operators_extension", "extension"),
)

#: Booking's clinics (from ``ClinicChanged``): the name a pop-up shows.
clinics = sa.Table(
    "clinics",
    metadata,
    sa.Column("clinic_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)
