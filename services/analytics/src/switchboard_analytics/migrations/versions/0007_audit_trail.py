"""The audit trail: every service's audited actions (AuditRecorded), append-only, kept
for ANALYTICS_AUDIT_RETENTION_DAYS. Recording listens are audit records from now on: the
rows of ``recording_listens`` are copied in (``recording.listened``) and that table is no
longer written (it stays, append-only, as it was).

Only the retention job deletes, and only what is older than its retention: the trigger
refuses UPDATE and TRUNCATE, and a DELETE of a row younger than the retention the deleting
transaction declares (``SET LOCAL switchboard.audit_retention_days``, at least 30 days);
without that declaration every DELETE is refused.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("record_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_name", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_type", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("client_address", sa.Text),
        sa.Column("user_agent", sa.Text),
    )
    op.create_index("ix_audit_records_occurred_at", "audit_records", ["occurred_at", "record_id"])
    op.create_index("ix_audit_records_actor", "audit_records", ["actor_id", "record_id"])
    op.create_index("ix_audit_records_action", "audit_records", ["action", "record_id"])
    op.create_index(
        "ix_audit_records_subject", "audit_records", ["subject_type", "subject_id", "record_id"]
    )
    op.execute(
        """
        INSERT INTO audit_records (
            event_id, occurred_at, producer, actor_id, actor_name, actor_role, action,
            subject_type, subject_id, details
        )
        SELECT md5('recording_listens:' || listen_id)::uuid, listened_at, 'analytics',
               operator_id, operator_name, role, 'recording.listened', 'call', call_id,
               jsonb_build_object('byte_range', byte_range, 'status', status)
        FROM recording_listens ORDER BY listen_id
        """
    )
    op.execute(
        """
        CREATE FUNCTION audit_records_append_only() RETURNS trigger AS $$
        DECLARE
            retention_days integer;
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                RAISE EXCEPTION 'audit_records is append-only';
            END IF;
            retention_days := NULLIF(
                current_setting('switchboard.audit_retention_days', true), ''
            )::integer;
            IF retention_days IS NULL THEN
                RAISE EXCEPTION 'audit_records is append-only (only the retention job deletes)';
            END IF;
            IF OLD.occurred_at >= now() - make_interval(days => GREATEST(retention_days, 30)) THEN
                RAISE EXCEPTION 'audit_records is append-only: a record within the retention';
            END IF;
            RETURN OLD;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_records_no_update BEFORE UPDATE OR TRUNCATE "
        "ON audit_records FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_records_retention BEFORE DELETE "
        "ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()"
    )


def downgrade() -> None:
    op.drop_table("audit_records")
    op.execute("DROP FUNCTION audit_records_append_only()")
