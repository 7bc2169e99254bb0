"""Directory, clients, appointments, notifications; no double booking.

The exclusion constraint on (practitioner, time range) of booked appointments is what
makes double booking impossible however many call centers book concurrently.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


NO_OVERLAP = "ex_appointments_practitioner_no_overlap"


def upgrade() -> None:
    # btree_gist gives GiST an equality operator for text, so one constraint can say
    # "same practitioner AND overlapping time".
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "call_centers",
        sa.Column("call_center_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('internal', 'external')", name=op.f("ck_call_centers_kind_known")
        ),
        sa.PrimaryKeyConstraint("call_center_id", name=op.f("pk_call_centers")),
        sa.UniqueConstraint("name", name=op.f("uq_call_centers_name")),
    )
    op.create_table(
        "cancellation_reasons",
        sa.Column("reason_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("reason_id", name=op.f("pk_cancellation_reasons")),
        sa.UniqueConstraint("label", name=op.f("uq_cancellation_reasons_label")),
    )
    op.create_table(
        "clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("mobile", sa.Text(), nullable=True),
        sa.Column("sms_consent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    op.create_index("ix_clients_email", "clients", ["email"], unique=False)
    op.create_index(
        "ix_clients_last_name", "clients", [sa.literal_column("lower(last_name)")], unique=False
    )
    op.create_index("ix_clients_mobile", "clients", ["mobile"], unique=False)
    op.create_table(
        "clinics",
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), server_default="", nullable=False),
        sa.Column("address", sa.Text(), server_default="", nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column(
            "opening_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_clinics")),
        sa.UniqueConstraint("name", name=op.f("uq_clinics_name")),
    )
    op.create_table(
        "practitioners",
        sa.Column("practitioner_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("practitioner_id", name=op.f("pk_practitioners")),
    )
    op.create_table(
        "services",
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("meeting_methods", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "questions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_services_duration_positive")),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_services")),
        sa.UniqueConstraint("name", name=op.f("uq_services_name")),
    )
    op.create_table(
        "client_phones",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_client_phones_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "phone", name=op.f("pk_client_phones")),
    )
    op.create_index("ix_client_phones_phone", "client_phones", ["phone"], unique=False)
    op.create_table(
        "operators",
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("call_center_id", sa.Text(), nullable=True),
        sa.Column("extension", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'call_centre', 'clinic_staff', 'manager')",
            name=op.f("ck_operators_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["call_center_id"],
            ["call_centers.call_center_id"],
            name=op.f("fk_operators_call_center_id_call_centers"),
        ),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "practitioner_clinics",
        sa.Column("practitioner_id", sa.Text(), nullable=False),
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.clinic_id"],
            name=op.f("fk_practitioner_clinics_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.practitioner_id"],
            name=op.f("fk_practitioner_clinics_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "clinic_id", name=op.f("pk_practitioner_clinics")
        ),
    )
    op.create_table(
        "practitioner_services",
        sa.Column("practitioner_id", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.practitioner_id"],
            name=op.f("fk_practitioner_services_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.service_id"],
            name=op.f("fk_practitioner_services_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "service_id", name=op.f("pk_practitioner_services")
        ),
    )
    op.create_table(
        "working_hours",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("practitioner_id", sa.Text(), nullable=False),
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.CheckConstraint("ends > starts", name=op.f("ck_working_hours_ends_after_starts")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_working_hours_weekday_range")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.clinic_id"],
            name=op.f("fk_working_hours_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.practitioner_id"],
            name=op.f("fk_working_hours_practitioner_id_practitioners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    op.create_index(
        "ix_working_hours_practitioner_id_clinic_id",
        "working_hours",
        ["practitioner_id", "clinic_id"],
        unique=False,
    )
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("practitioner_id", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("meeting_method", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="booked", nullable=False),
        sa.Column("attendee_notes", sa.Text(), server_default="", nullable=False),
        sa.Column("private_notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "answers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("call_center_id", sa.Text(), nullable=True),
        sa.Column("operator_id", sa.Text(), nullable=True),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("touch_id", sa.Text(), nullable=True),
        sa.Column("cancellation_reason_id", sa.Text(), nullable=True),
        sa.Column("cancellation_note", sa.Text(), server_default="", nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled')", name=op.f("ck_appointments_status_known")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_ends_after_starts")),
        sa.ForeignKeyConstraint(
            ["call_center_id"],
            ["call_centers.call_center_id"],
            name=op.f("fk_appointments_call_center_id_call_centers"),
        ),
        sa.ForeignKeyConstraint(
            ["cancellation_reason_id"],
            ["cancellation_reasons.reason_id"],
            name=op.f("fk_appointments_cancellation_reason_id_cancellation_reasons"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_appointments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.clinic_id"], name=op.f("fk_appointments_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.operator_id"],
            name=op.f("fk_appointments_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.practitioner_id"],
            name=op.f("fk_appointments_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.service_id"],
            name=op.f("fk_appointments_service_id_services"),
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointments")),
    )
    op.create_index("ix_appointments_client_id", "appointments", ["client_id"], unique=False)
    op.create_index(
        "ix_appointments_clinic_id_starts_at",
        "appointments",
        ["clinic_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_practitioner_id_starts_at",
        "appointments",
        ["practitioner_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "appointment_attendees",
        sa.Column("appointment_id", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.appointment_id"],
            name=op.f("fk_appointment_attendees_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_appointment_attendees_client_id_clients"),
        ),
        sa.PrimaryKeyConstraint(
            "appointment_id", "client_id", name=op.f("pk_appointment_attendees")
        ),
    )
    op.create_index(
        "ix_appointment_attendees_client_id", "appointment_attendees", ["client_id"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Text(), nullable=False),
        sa.Column("appointment_id", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.appointment_id"],
            name=op.f("fk_notifications_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_notifications_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_client_id", "notifications", ["client_id"], unique=False)
    op.execute(
        f"ALTER TABLE appointments ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist "
        "(practitioner_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status = 'booked')"
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_client_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_appointment_attendees_client_id", table_name="appointment_attendees")
    op.drop_table("appointment_attendees")
    op.drop_index("ix_appointments_practitioner_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_clinic_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_client_id", table_name="appointments")
    op.drop_table("appointments")
    op.drop_index("ix_working_hours_practitioner_id_clinic_id", table_name="working_hours")
    op.drop_table("working_hours")
    op.drop_table("practitioner_services")
    op.drop_table("practitioner_clinics")
    op.drop_table("operators")
    op.drop_index("ix_client_phones_phone", table_name="client_phones")
    op.drop_table("client_phones")
    op.drop_table("services")
    op.drop_table("practitioners")
    op.drop_table("clinics")
    op.drop_index("ix_clients_mobile", table_name="clients")
    op.drop_index("ix_clients_last_name", table_name="clients")
    op.drop_index("ix_clients_email", table_name="clients")
    op.drop_table("clients")
    op.drop_table("cancellation_reasons")
    op.drop_table("call_centers")
