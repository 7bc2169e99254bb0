"""The directory tables as the runtime's directory projection defines them: an operator
always has a role, and ``active`` always comes with the event (no default).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # OperatorChanged always carries a role; a row without one cannot exist.
    op.execute("UPDATE operators SET role = 'unknown' WHERE role IS NULL")
    op.alter_column("operators", "role", nullable=False)
    op.alter_column("operators", "active", server_default=None)
    op.alter_column("clinics", "active", server_default=None)


def downgrade() -> None:
    op.alter_column("clinics", "active", server_default="true")
    op.alter_column("operators", "active", server_default="true")
    op.alter_column("operators", "role", nullable=True)
