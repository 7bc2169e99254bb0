"""Appointment questions say what kind of answer they take.

Each question in ``services.questions`` gains ``answer_type`` (``text``, ``number``,
``yes_no``, ``date``); the questions written before it take free text, as they always did.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE services SET questions = (
            SELECT jsonb_agg(
                CASE WHEN q ? 'answer_type' THEN q ELSE q || '{"answer_type": "text"}' END
                ORDER BY n
            )
            FROM jsonb_array_elements(questions) WITH ORDINALITY AS t(q, n)
        )
        WHERE jsonb_array_length(questions) > 0
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE services SET questions = (
            SELECT jsonb_agg(q - 'answer_type' ORDER BY n)
            FROM jsonb_array_elements(questions) WITH ORDINALITY AS t(q, n)
        )
        WHERE jsonb_array_length(questions) > 0
        """
    )
