"""DIDs, extensions, the operator projection, integration settings, Callmarker deliveries
and call tags.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _updated_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "dids",
        sa.Column("did", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        _updated_at(),
    )
    op.create_table(
        "extensions",
        sa.Column("extension", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        _updated_at(),
    )
    op.create_table(
        "operators",
        sa.Column("operator_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("call_center_id", sa.Text, nullable=True),
        sa.Column("extension", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_operators_extension", "operators", ["extension"])
    op.create_table(
        "integration_settings",
        sa.Column("integration", sa.Text, primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("call_data_url", sa.Text, nullable=True),
        sa.Column("request_data_url", sa.Text, nullable=True),
        sa.Column("integration_id", sa.Text, nullable=True),
        sa.Column("token", sa.Text, nullable=True),
        sa.Column("time_lag_minutes", sa.Integer, nullable=True),
        sa.Column("updated_by", sa.Text, nullable=True),
        _updated_at(),
    )
    op.create_table(
        "config_version",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO config_version (id, version) VALUES (1, 0)")
    op.create_table(
        "callmarker_deliveries",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "ix_callmarker_deliveries_next_attempt_at",
        "callmarker_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.create_table(
        "call_tags",
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("tags", JSONB, nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "call_tags",
        "callmarker_deliveries",
        "config_version",
        "integration_settings",
        "operators",
        "extensions",
        "dids",
    ):
        op.drop_table(table)
