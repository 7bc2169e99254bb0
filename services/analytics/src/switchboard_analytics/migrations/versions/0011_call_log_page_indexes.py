"""Indexes for the call log's pages and the calls report under filters only the call log
answers: newest first carrying the columns the filters read, sorted by admin (each
admin's calls in call id order), by talk or total time and their ranges (covering what
the filters and the report read), tagged calls (a partial index covering the same), and
the numbers' runs of six digits for "phone contains" (a trigram of digits is in most
numbers). ``did`` (migration 0010) is among the covered columns: the filter by public
number and the report grouped by it read it.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ENDED = sa.text("ended_at IS NOT NULL")
_COVERED = [
    "started_at",
    "local_started_at",
    "call_type",
    "disposition",
    "talk_seconds",
    "wait_seconds",
    "admin_id",
    "clinic_id",
    "called_back",
    "did",
]


#: Every run of six digits of a call's numbers (``numbers_digits``: both numbers' digits,
#: a space between them), for "phone contains" (``search._digits_found``).
DIGIT_GRAMS = """
CREATE FUNCTION digit_grams(digits text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array(
        SELECT substr(digits, i, 6) FROM generate_series(1, length(digits) - 5) AS i
        WHERE strpos(substr(digits, i, 6), ' ') = 0
    )
$$
"""


def upgrade() -> None:
    op.execute(DIGIT_GRAMS)
    # Newest first under a filter: the page skips the calls it does not show unread.
    op.drop_index("ix_call_log_started_at_call_id", table_name="call_log")
    op.create_index(
        "ix_call_log_started_at_call_id",
        "call_log",
        ["started_at", "call_id"],
        postgresql_include=[*_COVERED[1:], "total_seconds", "ended_at"],
    )
    op.create_index(
        "ix_call_log_numbers_digit_grams",
        "call_log",
        [sa.text("digit_grams(numbers_digits)")],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_call_log_admin_call_id",
        "call_log",
        [sa.text("coalesce(admin_id, '')"), "call_id"],
        postgresql_where=_ENDED,
    )
    op.create_index(
        "ix_call_log_talk_call_id",
        "call_log",
        [sa.text("coalesce(talk_seconds, 0)"), "call_id"],
        postgresql_include=[*_COVERED, "ended_at"],
    )
    op.create_index(
        "ix_call_log_total_call_id",
        "call_log",
        [sa.text("coalesce(total_seconds, 0)"), "call_id"],
        postgresql_include=[*_COVERED, "total_seconds", "ended_at"],
    )
    op.create_index(
        "ix_call_log_tagged_started_at",
        "call_log",
        ["started_at", "call_id"],
        postgresql_include=["tags", *_COVERED[1:]],
        postgresql_where=sa.text("ended_at IS NOT NULL AND cardinality(tags) > 0"),
    )


def downgrade() -> None:
    for name in (
        "ix_call_log_tagged_started_at",
        "ix_call_log_total_call_id",
        "ix_call_log_talk_call_id",
        "ix_call_log_admin_call_id",
    ):
        op.drop_index(name, table_name="call_log")
    op.drop_index("ix_call_log_numbers_digit_grams", table_name="call_log")
    op.execute("DROP FUNCTION digit_grams(text)")
    op.drop_index("ix_call_log_started_at_call_id", table_name="call_log")
    op.create_index("ix_call_log_started_at_call_id", "call_log", ["started_at", "call_id"])
