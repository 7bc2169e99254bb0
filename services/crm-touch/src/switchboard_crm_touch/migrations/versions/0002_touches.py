"""Contacts (clients and leads) and their phones, calls, touches, appointments, clinics and
integration settings.

At most one active lead per number (a partial unique index); at most one touch per call
(a unique call_id).

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


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("practitioner_id", sa.Text(), nullable=True),
        sa.Column("service_id", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="booked", nullable=False),
        sa.Column("call_center_id", sa.Text(), nullable=True),
        sa.Column("operator_id", sa.Text(), nullable=True),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("touch_id", sa.Text(), nullable=True),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled')", name=op.f("ck_appointments_status_known")
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointments")),
    )
    op.create_index("ix_appointments_call_id", "appointments", ["call_id"], unique=False)
    op.create_index(
        "ix_appointments_client_id_starts_at",
        "appointments",
        ["client_id", "starts_at"],
        unique=False,
    )
    op.create_index("ix_appointments_touch_id", "appointments", ["touch_id"], unique=False)
    op.create_table(
        "calls",
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("caller", sa.Text(), nullable=True),
        sa.Column("callee", sa.Text(), nullable=True),
        sa.Column("extension", sa.Text(), nullable=True),
        sa.Column("clinic_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_extension", sa.Text(), nullable=True),
        sa.Column("operator_id", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("total_seconds", sa.Integer(), nullable=True),
        sa.Column("touch_decision", sa.Text(), nullable=True),
        sa.Column("touch_id", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    op.create_table(
        "clinics",
        sa.Column("clinic_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "contact_phones",
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("contact_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "source IN ('booking', 'lead')", name=op.f("ck_contact_phones_source_known")
        ),
        sa.PrimaryKeyConstraint("phone", "contact_id", name=op.f("pk_contact_phones")),
    )
    op.create_index("ix_contact_phones_contact_id", "contact_phones", ["contact_id"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column(
            "key_details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("merged_into", sa.Text(), nullable=True),
        sa.Column("placeholder", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("lead_phone", sa.Text(), nullable=True),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("kind IN ('patient', 'lead')", name=op.f("ck_contacts_kind_known")),
        sa.CheckConstraint("origin IN ('booking', 'crm')", name=op.f("ck_contacts_origin_known")),
        sa.CheckConstraint(
            "status IN ('active', 'merged', 'converted')", name=op.f("ck_contacts_status_known")
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contacts")),
    )
    op.create_index("ix_contacts_merged_into", "contacts", ["merged_into"], unique=False)
    op.create_index(
        "uq_contacts_active_lead_phone",
        "contacts",
        ["lead_phone"],
        unique=True,
        postgresql_where=sa.text("status = 'active' AND lead_phone IS NOT NULL"),
    )
    op.create_table(
        "integration_settings",
        sa.Column("integration", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("integration", name=op.f("pk_integration_settings")),
    )
    op.create_table(
        "touches",
        sa.Column("touch_id", sa.Text(), nullable=False),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), server_default="call", nullable=False),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Text(), nullable=True),
        sa.Column(
            "candidate_ids", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "contact_confirmed", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("status", sa.Text(), server_default="new", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=True),
        sa.Column("extension", sa.Text(), nullable=True),
        sa.Column("clinic_id", sa.Text(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("total_seconds", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "result IS NULL OR "
            "result IN ('booked', 'information', 'complaint', 'no_answer', 'other')",
            name=op.f("ck_touches_result_known"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'in_progress', 'done')", name=op.f("ck_touches_status_known")
        ),
        sa.PrimaryKeyConstraint("touch_id", name=op.f("pk_touches")),
        sa.UniqueConstraint("call_id", name=op.f("uq_touches_call_id")),
    )
    op.create_index(
        "ix_touches_candidate_ids",
        "touches",
        ["candidate_ids"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_touches_contact_id_created_at", "touches", ["contact_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_touches_created_at_touch_id", "touches", ["created_at", "touch_id"], unique=False
    )
    op.create_index(
        "ix_touches_operator_id_created_at", "touches", ["operator_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_touches_operator_id_created_at", table_name="touches")
    op.drop_index("ix_touches_created_at_touch_id", table_name="touches")
    op.drop_index("ix_touches_contact_id_created_at", table_name="touches")
    op.drop_index("ix_touches_candidate_ids", table_name="touches", postgresql_using="gin")
    op.drop_table("touches")
    op.drop_table("integration_settings")
    op.drop_index(
        "uq_contacts_active_lead_phone",
        table_name="contacts",
        postgresql_where=sa.text("status = 'active' AND lead_phone IS NOT NULL"),
    )
    op.drop_index("ix_contacts_merged_into", table_name="contacts")
    op.drop_table("contacts")
    op.drop_index("ix_contact_phones_contact_id", table_name="contact_phones")
    op.drop_table("contact_phones")
    op.drop_table("clinics")
    op.drop_table("calls")
    op.drop_index("ix_appointments_touch_id", table_name="appointments")
    op.drop_index("ix_appointments_client_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_call_id", table_name="appointments")
    op.drop_table("appointments")
