"""Clinics keep the time of the change they hold, so an older ClinicChanged read late never
overwrites a newer one (the runtime's directory projection).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before this kept no time: any change read from now on is newer.
    op.add_column(
        "clinics",
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("'1970-01-01T00:00:00Z'"),
        ),
    )
    op.alter_column("clinics", "changed_at", server_default=None)


def downgrade() -> None:
    op.drop_column("clinics", "changed_at")
