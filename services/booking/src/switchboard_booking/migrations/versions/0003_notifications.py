"""Notifications really sent: delivery rows, templates per clinic, consent and language.

Appointments get a version (a notification is about one version), clinics the hours
before a visit their reminders go out, clients a language and an email consent (the
unsubscribe link). The notification records become delivery rows that workers claim;
the records written before delivery existed are closed as skipped, never sent late.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True, default_now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def upgrade() -> None:
    op.add_column(
        "appointments", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "clinics",
        sa.Column("reminder_hours_before", sa.Integer(), server_default="24", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_clinics_reminder_hours_before_range"),
        "clinics",
        "reminder_hours_before BETWEEN 0 AND 336",
    )
    op.add_column(
        "clients",
        sa.Column("email_consent", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("clients", sa.Column("language", sa.Text(), server_default="ru", nullable=False))

    op.add_column(
        "notifications",
        sa.Column("appointment_version", sa.Integer(), server_default="1", nullable=False),
    )
    op.add_column(
        "notifications", sa.Column("language", sa.Text(), server_default="ru", nullable=False)
    )
    op.add_column("notifications", sa.Column("subject", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("body", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("idempotency_key", sa.Text(), nullable=True))
    op.add_column("notifications", _ts("due_at", nullable=False, default_now=True))
    op.add_column("notifications", _ts("next_attempt_at", nullable=False, default_now=True))
    op.add_column(
        "notifications", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("notifications", sa.Column("provider_message_id", sa.Text(), nullable=True))
    op.add_column("notifications", _ts("sent_at"))
    op.add_column("notifications", _ts("updated_at", nullable=False, default_now=True))
    op.execute(
        "UPDATE notifications SET status = 'skipped', "
        "status_reason = 'recorded before notifications were sent', "
        "idempotency_key = 'legacy:' || notification_id, "
        "channel = CASE WHEN channel = 'log' THEN 'none' ELSE channel END"
    )
    op.alter_column("notifications", "idempotency_key", nullable=False)
    op.alter_column("notifications", "status", server_default="queued")
    op.create_unique_constraint(
        op.f("uq_notifications_idempotency_key"), "notifications", ["idempotency_key"]
    )
    op.create_check_constraint(
        op.f("ck_notifications_status_known"),
        "notifications",
        "status IN ('queued', 'sent', 'failed', 'skipped')",
    )
    op.create_index(
        "ix_notifications_appointment_id", "notifications", ["appointment_id"], unique=False
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )

    op.create_table(
        "notification_templates",
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        _ts("updated_at", nullable=False, default_now=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.clinic_id"],
            name=op.f("fk_notification_templates_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "clinic_id", "kind", "channel", "language", name=op.f("pk_notification_templates")
        ),
    )


def downgrade() -> None:
    op.drop_table("notification_templates")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_index("ix_notifications_appointment_id", table_name="notifications")
    op.drop_constraint(op.f("ck_notifications_status_known"), "notifications", type_="check")
    op.drop_constraint(op.f("uq_notifications_idempotency_key"), "notifications", type_="unique")
    for column in (
        "updated_at",
        "sent_at",
        "provider_message_id",
        "attempts",
        "next_attempt_at",
        "due_at",
        "idempotency_key",
        "status_reason",
        "body",
        "subject",
        "language",
        "appointment_version",
    ):
        op.drop_column("notifications", column)
    op.drop_column("clients", "language")
    op.drop_column("clients", "email_consent")
    op.drop_constraint(op.f("ck_clinics_reminder_hours_before_range"), "clinics", type_="check")
    op.drop_column("clinics", "reminder_hours_before")
    op.drop_column("appointments", "version")
