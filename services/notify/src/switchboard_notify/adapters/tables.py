"""Notify's tables: its projection of booking's directory (operators and clinics)."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard_runtime.db import make_metadata
from switchboard_runtime.directory import clinics_table, operators_table

metadata = make_metadata()

#: Booking's operators (from ``OperatorChanged``): who sits on which extension.
operators = operators_table(
    metadata,
    "name",
    "role",
    "call_center_id",
    "extension",
    "active",
    extra=(sa.Index("ix_operators_extension", "extension"),),
)

#: Booking's clinics (from ``ClinicChanged``): the name a pop-up shows.
clinics = clinics_table(metadata, "name")
