"""The conversion columns (migration 0013) in the call log's covering indexes: the
conversion report under a filter only the call log answers (talk or total time, tags, a
period of the log) becomes an index-only scan, as the calls report under the same filters
already is, instead of reading each matching call's row from the table (about 2 to 5 s at
10 M calls for a talk or tag filter over a year, nearly all of it in scattered reads).

Each index is dropped and created again with the three columns last in ``INCLUDE``: on a
large log this takes a few minutes, while the reports wait.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

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
_CONVERSION = ["has_touch", "appointments_booked", "appointments_cancelled"]


def _create(conversion: list[str]) -> None:
    covered = [*_COVERED, *conversion]
    op.create_index(
        "ix_call_log_started_at_call_id",
        "call_log",
        ["started_at", "call_id"],
        postgresql_include=[*covered[1:], "total_seconds", "ended_at"],
    )
    op.create_index(
        "ix_call_log_talk_call_id",
        "call_log",
        [sa.text("coalesce(talk_seconds, 0)"), "call_id"],
        postgresql_include=[*covered, "ended_at"],
    )
    op.create_index(
        "ix_call_log_total_call_id",
        "call_log",
        [sa.text("coalesce(total_seconds, 0)"), "call_id"],
        postgresql_include=[*covered, "total_seconds", "ended_at"],
    )
    op.create_index(
        "ix_call_log_tagged_started_at",
        "call_log",
        ["started_at", "call_id"],
        postgresql_include=["tags", *covered[1:]],
        postgresql_where=sa.text("ended_at IS NOT NULL AND cardinality(tags) > 0"),
    )


def _drop() -> None:
    for name in (
        "ix_call_log_started_at_call_id",
        "ix_call_log_talk_call_id",
        "ix_call_log_total_call_id",
        "ix_call_log_tagged_started_at",
    ):
        op.drop_index(name, table_name="call_log")


def upgrade() -> None:
    _drop()
    _create(_CONVERSION)


def downgrade() -> None:
    _drop()
    _create([])
