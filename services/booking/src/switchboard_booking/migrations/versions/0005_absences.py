"""Practitioners' absences and clinics' closed days.

An absence is either a span of instants (``starts_at``/``ends_at``: a half day off) or of
local dates (``starts_on``/``ends_on``, inclusive: a holiday), read in the zone of each
clinic the practitioner works at. A closure is a span of the clinic's local dates.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practitioner_absences",
        sa.Column("absence_id", sa.Text(), primary_key=True),
        sa.Column(
            "practitioner_id",
            sa.Text(),
            sa.ForeignKey("practitioners.practitioner_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at"
            " AND starts_on IS NULL AND ends_on IS NULL)"
            " OR (starts_on IS NOT NULL AND ends_on IS NOT NULL AND ends_on >= starts_on"
            " AND starts_at IS NULL AND ends_at IS NULL)",
            name=op.f("ck_practitioner_absences_one_span"),
        ),
    )
    op.create_index(
        op.f("ix_practitioner_absences_practitioner_id"),
        "practitioner_absences",
        ["practitioner_id"],
    )
    op.create_table(
        "clinic_closures",
        sa.Column("closure_id", sa.Text(), primary_key=True),
        sa.Column(
            "clinic_id",
            sa.Text(),
            sa.ForeignKey("clinics.clinic_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_clinic_closures_ends_on_after")),
    )
    op.create_index(op.f("ix_clinic_closures_clinic_id"), "clinic_closures", ["clinic_id"])


def downgrade() -> None:
    op.drop_table("clinic_closures")
    op.drop_table("practitioner_absences")
