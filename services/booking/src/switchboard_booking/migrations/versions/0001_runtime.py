"""Outbox and processed events.

Revision ID: 0001
Revises:
"""

from alembic import op

from switchboard_runtime.db import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables()


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
