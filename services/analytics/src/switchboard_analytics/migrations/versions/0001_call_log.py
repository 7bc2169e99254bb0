"""Call log, outbox and processed events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from switchboard_runtime.db import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables()
    op.create_table(
        "call_log",
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
    )
    op.create_index("ix_call_log_started_at_call_id", "call_log", ["started_at", "call_id"])


def downgrade() -> None:
    op.drop_table("call_log")
    op.drop_table("processed_events")
    op.drop_table("outbox")
