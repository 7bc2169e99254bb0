"""Call log columns (clinic-local time, tags, contact, admin, called back), the directory
and touch projections, and the report roll-ups.

Rows projected before this revision get the default time zone and are counted in the
roll-ups; their tags, contacts and call-backs appear after ``switchboard-analytics rebuild``.

Revision ID: 0002
Revises: 0001
"""

import os
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _measures() -> list[sa.Column[Any]]:
    return [
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("talk_seconds", sa.BigInteger, nullable=False),
        sa.Column("wait_seconds", sa.BigInteger, nullable=False),
    ]


def _rollup_keys(time_column: sa.Column[Any], with_clinic_admin: bool) -> list[sa.Column[Any]]:
    columns = [time_column]
    if with_clinic_admin:
        columns += [
            sa.Column("clinic_id", sa.Text, primary_key=True),
            sa.Column("admin_id", sa.Text, primary_key=True),
        ]
    return [
        *columns,
        sa.Column("call_type", sa.Text, primary_key=True),
        sa.Column("disposition", sa.Text, primary_key=True),
        sa.Column("called_back", sa.Boolean, primary_key=True),
    ]


def upgrade() -> None:
    # Trigram indexes for "number contains"; a trusted extension (PostgreSQL 13+), so the
    # database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    default_zone = os.environ.get("ANALYTICS_DEFAULT_TIME_ZONE", "Europe/Moscow")
    op.add_column("call_log", sa.Column("time_zone", sa.Text))
    op.execute(sa.text("UPDATE call_log SET time_zone = :zone").bindparams(zone=default_zone))
    op.alter_column("call_log", "time_zone", nullable=False)
    op.add_column(
        "call_log",
        sa.Column(
            "local_started_at",
            sa.DateTime(timezone=False),
            sa.Computed("timezone(time_zone, started_at)", persisted=True),
        ),
    )
    op.add_column(
        "call_log",
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("call_log", sa.Column("assigned_operator_id", sa.Text))
    op.add_column(
        "call_log",
        sa.Column(
            "admin_id",
            sa.Text,
            sa.Computed("coalesce(operator_id, assigned_operator_id)", persisted=True),
        ),
    )
    op.add_column("call_log", sa.Column("contact_id", sa.Text))
    op.add_column("call_log", sa.Column("contact_kind", sa.Text))
    op.add_column("call_log", sa.Column("contact_name", sa.Text))
    op.add_column(
        "call_log",
        sa.Column("called_back", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("call_log", sa.Column("callback_call_id", sa.Text))
    op.add_column("call_log", sa.Column("callback_delay_seconds", sa.Integer))
    op.add_column(
        "call_log",
        sa.Column(
            "numbers_digits",
            sa.Text,
            sa.Computed(
                "regexp_replace(src, '[^0-9]', '', 'g') || ' ' || "
                "regexp_replace(dst, '[^0-9]', '', 'g')",
                persisted=True,
            ),
        ),
    )
    op.create_index(
        "ix_call_log_local_started_at_call_id", "call_log", ["local_started_at", "call_id"]
    )
    op.create_index("ix_call_log_src_started_at", "call_log", ["src", "started_at"])
    op.create_index("ix_call_log_dst_started_at", "call_log", ["dst", "started_at"])
    op.create_index("ix_call_log_admin_id_started_at", "call_log", ["admin_id", "started_at"])
    op.create_index("ix_call_log_clinic_id_started_at", "call_log", ["clinic_id", "started_at"])
    op.create_index(
        "ix_call_log_numbers_digits_trgm",
        "call_log",
        ["numbers_digits"],
        postgresql_using="gin",
        postgresql_ops={"numbers_digits": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_call_log_contact_name_trgm",
        "call_log",
        ["contact_name"],
        postgresql_using="gin",
        postgresql_ops={"contact_name": "gin_trgm_ops"},
    )
    op.create_index("ix_call_log_tags", "call_log", ["tags"], postgresql_using="gin")

    op.create_table(
        "operators",
        sa.Column("operator_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text),
        sa.Column("extension", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "clinics",
        sa.Column("clinic_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "touches",
        sa.Column("touch_id", sa.Text, primary_key=True),
        sa.Column("call_id", sa.Text),
        sa.Column("contact_id", sa.Text),
        sa.Column("contact_kind", sa.Text),
        sa.Column("contact_name", sa.Text),
        sa.Column("operator_id", sa.Text),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_touches_call_id", "touches", ["call_id"])
    op.create_table(
        "call_tags",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "calls_by_hour",
        *_rollup_keys(sa.Column("local_hour", sa.DateTime(timezone=False), primary_key=True), True),
        *_measures(),
    )
    op.create_table(
        "calls_by_day",
        *_rollup_keys(sa.Column("local_day", sa.Date, primary_key=True), True),
        *_measures(),
    )
    op.create_table(
        "calls_by_hour_total",
        *_rollup_keys(
            sa.Column("local_hour", sa.DateTime(timezone=False), primary_key=True), False
        ),
        *_measures(),
    )

    # Count the calls projected so far.
    for table, time_expr, clinic_admin in (
        ("calls_by_hour", "date_trunc('hour', local_started_at)", True),
        ("calls_by_day", "local_started_at::date", True),
        ("calls_by_hour_total", "date_trunc('hour', local_started_at)", False),
    ):
        keys = "coalesce(clinic_id, ''), coalesce(admin_id, ''), " if clinic_admin else ""
        names = "clinic_id, admin_id, " if clinic_admin else ""
        time_name = "local_day" if table == "calls_by_day" else "local_hour"
        op.execute(
            f"INSERT INTO {table} ({time_name}, {names}call_type, disposition, called_back, "  # noqa: S608
            f"calls, talk_seconds, wait_seconds) "
            f"SELECT {time_expr}, {keys}call_type, disposition, called_back, count(*), "
            f"coalesce(sum(talk_seconds), 0), coalesce(sum(wait_seconds), 0) FROM call_log "
            f"WHERE ended_at IS NOT NULL AND disposition IS NOT NULL "
            f"GROUP BY 1, {keys}call_type, disposition, called_back"
        )


def downgrade() -> None:
    for table in (
        "calls_by_hour_total",
        "calls_by_day",
        "calls_by_hour",
        "call_tags",
        "touches",
        "clinics",
        "operators",
    ):
        op.drop_table(table)
    for index in (
        "ix_call_log_tags",
        "ix_call_log_contact_name_trgm",
        "ix_call_log_numbers_digits_trgm",
        "ix_call_log_clinic_id_started_at",
        "ix_call_log_admin_id_started_at",
        "ix_call_log_dst_started_at",
        "ix_call_log_src_started_at",
        "ix_call_log_local_started_at_call_id",
    ):
        op.drop_index(index, table_name="call_log")
    for column in (
        "numbers_digits",
        "callback_delay_seconds",
        "callback_call_id",
        "called_back",
        "contact_name",
        "contact_kind",
        "contact_id",
        "admin_id",
        "assigned_operator_id",
        "tags",
        "local_started_at",
        "time_zone",
    ):
        op.drop_column("call_log", column)
