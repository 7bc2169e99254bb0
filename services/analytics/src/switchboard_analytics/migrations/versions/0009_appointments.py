"""Appointments for the conversion report: the call each was booked during or the touch
it was booked from, when booked, when cancelled (from booking.appointments).

The table starts empty: appointments booked before this revision count once ``rebuild``
has replayed booking.appointments.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.Text, primary_key=True),
        sa.Column("call_id", sa.Text),
        sa.Column("touch_id", sa.Text),
        sa.Column("booked_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_appointments_call_id", "appointments", ["call_id"])
    op.create_index("ix_appointments_touch_id", "appointments", ["touch_id"])


def downgrade() -> None:
    op.drop_table("appointments")
