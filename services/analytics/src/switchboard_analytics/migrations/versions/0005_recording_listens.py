"""Recording listens (append-only) and operators' call center (who may hear a call).

Operators projected before this revision have no call center until ``rebuild`` (or their
next ``OperatorChanged``) fills it; until then their calls are heard by admins, managers
and the operator who handled them only.

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
    op.add_column("operators", sa.Column("call_center_id", sa.Text))
    op.create_table(
        "recording_listens",
        sa.Column("listen_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("operator_id", sa.Text, nullable=False),
        sa.Column("operator_name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("listened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("byte_range", sa.Text),
        sa.Column("status", sa.Integer, nullable=False),
    )
    op.create_index("ix_recording_listens_call_id", "recording_listens", ["call_id", "listen_id"])
    op.execute(
        """
        CREATE FUNCTION recording_listens_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'recording_listens is append-only';
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER recording_listens_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON recording_listens FOR EACH STATEMENT EXECUTE FUNCTION recording_listens_append_only()"
    )


def downgrade() -> None:
    op.drop_table("recording_listens")
    op.execute("DROP FUNCTION recording_listens_append_only()")
    op.drop_column("operators", "call_center_id")
