"""Operators who must choose a new password at their next login.

An admin's password reset sets a temporary password and this flag; login then opens no
session until the operator has replaced the temporary password (``POST /auth/password``).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "operators",
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("operators", "must_change_password")
