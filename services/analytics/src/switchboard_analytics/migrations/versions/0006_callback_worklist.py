"""The call-back worklist: what operators did with it (append-only), and the index its
list reads.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_call_log_missed_open_started_at",
        "call_log",
        ["started_at"],
        postgresql_where=sa.text(
            "call_type = 'incoming' AND disposition = 'missed' AND NOT called_back"
        ),
    )
    op.create_table(
        "callback_actions",
        sa.Column("action_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("operator_id", sa.Text, nullable=False),
        sa.Column("operator_name", sa.Text, nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("covers_until", sa.DateTime(timezone=True)),
        sa.CheckConstraint("action IN ('claimed', 'released', 'closed')", name="action"),
        sa.CheckConstraint(
            "(action = 'closed') = (result IS NOT NULL AND covers_until IS NOT NULL)",
            name="closed_has_result",
        ),
    )
    op.create_index("ix_callback_actions_call_id", "callback_actions", ["call_id", "action_id"])
    op.create_index(
        "ix_callback_actions_closed_number",
        "callback_actions",
        ["number", "covers_until"],
        postgresql_where=sa.text("action = 'closed'"),
    )
    op.execute(
        """
        CREATE FUNCTION callback_actions_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'callback_actions is append-only';
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER callback_actions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON callback_actions FOR EACH STATEMENT EXECUTE FUNCTION callback_actions_append_only()"
    )


def downgrade() -> None:
    op.drop_table("callback_actions")
    op.execute("DROP FUNCTION callback_actions_append_only()")
    op.drop_index("ix_call_log_missed_open_started_at", "call_log")
