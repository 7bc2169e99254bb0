"""Booking's tables (the migrations in ``migrations/versions`` create them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from switchboard_runtime.db import make_metadata

metadata = make_metadata()


def _ts(name: str, *, nullable: bool = True, default_now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default_now else None,
    )


clinics = sa.Table(
    "clinics",
    metadata,
    sa.Column("clinic_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("city", sa.Text, nullable=False, server_default=""),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False),
    # [{"weekday": 0, "opens": "08:00", "closes": "20:00"}, …] in local time.
    sa.Column("opening_hours", JSONB, nullable=False, server_default="[]"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # How long before an appointment its reminder goes out; 0: no reminders at this clinic.
    sa.Column("reminder_hours_before", sa.Integer, nullable=False, server_default="24"),
    sa.CheckConstraint(
        "reminder_hours_before BETWEEN 0 AND 336", name="reminder_hours_before_range"
    ),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("service_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("duration_minutes", sa.Integer, nullable=False),
    sa.Column("meeting_methods", ARRAY(sa.Text), nullable=False),
    # [{"question_id": "…", "text": "…", "required": true, "answer_type": "text"}, …]
    sa.Column("questions", JSONB, nullable=False, server_default="[]"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
)

practitioners = sa.Table(
    "practitioners",
    metadata,
    sa.Column("practitioner_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("languages", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

practitioner_services = sa.Table(
    "practitioner_services",
    metadata,
    sa.Column(
        "practitioner_id",
        sa.Text,
        sa.ForeignKey("practitioners.practitioner_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "service_id",
        sa.Text,
        sa.ForeignKey("services.service_id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

practitioner_clinics = sa.Table(
    "practitioner_clinics",
    metadata,
    sa.Column(
        "practitioner_id",
        sa.Text,
        sa.ForeignKey("practitioners.practitioner_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "clinic_id",
        sa.Text,
        sa.ForeignKey("clinics.clinic_id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

working_hours = sa.Table(
    "working_hours",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "practitioner_id",
        sa.Text,
        sa.ForeignKey("practitioners.practitioner_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "clinic_id", sa.Text, sa.ForeignKey("clinics.clinic_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("weekday", sa.SmallInteger, nullable=False),
    sa.Column("starts", sa.Time, nullable=False),
    sa.Column("ends", sa.Time, nullable=False),
    sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
    sa.CheckConstraint("ends > starts", name="ends_after_starts"),
    sa.Index("ix_working_hours_practitioner_id_clinic_id", "practitioner_id", "clinic_id"),
)

call_centers = sa.Table(
    "call_centers",
    metadata,
    sa.Column("call_center_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.CheckConstraint("kind IN ('internal', 'external')", name="kind_known"),
)

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("operator_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("call_center_id", sa.Text, sa.ForeignKey("call_centers.call_center_id")),
    sa.Column("extension", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # Set by an admin's password reset: no session until the operator chooses a new one.
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint(
        "role IN ('admin', 'call_centre', 'clinic_staff', 'manager')", name="role_known"
    ),
)

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("mobile", sa.Text),
    sa.Column("sms_consent", sa.Boolean, nullable=False, server_default=sa.false()),
    # False once the client unsubscribed (the link in every email) or said no.
    sa.Column("email_consent", sa.Boolean, nullable=False, server_default=sa.true()),
    # The language notifications are written in ("ru", "en").
    sa.Column("language", sa.Text, nullable=False, server_default="ru"),
    sa.Column("date_of_birth", sa.Date),
    _ts("created_at", nullable=False, default_now=True),
    _ts("updated_at", nullable=False, default_now=True),
    sa.Index("ix_clients_email", "email"),
    sa.Index("ix_clients_mobile", "mobile"),
    sa.Index("ix_clients_last_name", sa.text("lower(last_name)")),
)

client_phones = sa.Table(
    "client_phones",
    metadata,
    sa.Column(
        "client_id",
        sa.Text,
        sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("phone", sa.Text, primary_key=True),
    sa.Index("ix_client_phones_phone", "phone"),
)

cancellation_reasons = sa.Table(
    "cancellation_reasons",
    metadata,
    sa.Column("reason_id", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("appointment_id", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, sa.ForeignKey("clients.client_id"), nullable=False),
    sa.Column("clinic_id", sa.Text, sa.ForeignKey("clinics.clinic_id"), nullable=False),
    sa.Column(
        "practitioner_id", sa.Text, sa.ForeignKey("practitioners.practitioner_id"), nullable=False
    ),
    sa.Column("service_id", sa.Text, sa.ForeignKey("services.service_id"), nullable=False),
    sa.Column("meeting_method", sa.Text, nullable=False),
    _ts("starts_at", nullable=False),
    _ts("ends_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="booked"),
    # 1 when booked, +1 per change: a notification is about one version.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("attendee_notes", sa.Text, nullable=False, server_default=""),
    sa.Column("private_notes", sa.Text, nullable=False, server_default=""),
    sa.Column("answers", JSONB, nullable=False, server_default="{}"),
    sa.Column("call_center_id", sa.Text, sa.ForeignKey("call_centers.call_center_id")),
    sa.Column("operator_id", sa.Text, sa.ForeignKey("operators.operator_id")),
    sa.Column("call_id", sa.Text),
    sa.Column("touch_id", sa.Text),
    sa.Column("cancellation_reason_id", sa.Text, sa.ForeignKey("cancellation_reasons.reason_id")),
    sa.Column("cancellation_note", sa.Text, nullable=False, server_default=""),
    _ts("cancelled_at"),
    _ts("created_at", nullable=False, default_now=True),
    _ts("updated_at", nullable=False, default_now=True),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    sa.CheckConstraint("status IN ('booked', 'cancelled')", name="status_known"),
    sa.Index("ix_appointments_client_id", "client_id"),
    sa.Index("ix_appointments_clinic_id_starts_at", "clinic_id", "starts_at"),
    sa.Index("ix_appointments_practitioner_id_starts_at", "practitioner_id", "starts_at"),
)

#: The exclusion constraint (created by migration 0002) that makes double booking impossible.
NO_OVERLAP_CONSTRAINT = "ex_appointments_practitioner_no_overlap"

appointment_attendees = sa.Table(
    "appointment_attendees",
    metadata,
    sa.Column(
        "appointment_id",
        sa.Text,
        sa.ForeignKey("appointments.appointment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("client_id", sa.Text, sa.ForeignKey("clients.client_id"), primary_key=True),
    sa.Index("ix_appointment_attendees_client_id", "client_id"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.Text, primary_key=True),
    sa.Column(
        "appointment_id", sa.Text, sa.ForeignKey("appointments.appointment_id"), nullable=False
    ),
    sa.Column("appointment_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("client_id", sa.Text, sa.ForeignKey("clients.client_id"), nullable=False),
    # booked | rescheduled | cancelled | reminder
    sa.Column("kind", sa.Text, nullable=False),
    # email | sms
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("address", sa.Text),
    sa.Column("language", sa.Text, nullable=False, server_default="ru"),
    # What the templates are rendered from (domain.notifications.MessageFacts): the facts of
    # that appointment version, never its private notes or answers.
    sa.Column("content", JSONB, nullable=False),
    # What was (or is being) sent: rendered at the first attempt, kept for every retry.
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    # queued → sent | failed (with the reason) | skipped (with why)
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    sa.Column("status_reason", sa.Text),
    # Unique per appointment version, kind, recipient and channel; sent to the provider.
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    _ts("due_at", nullable=False, default_now=True),
    # When a worker may take it next: due_at, a retry's back-off, or a claim's lease.
    _ts("next_attempt_at", nullable=False, default_now=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("provider_message_id", sa.Text),
    _ts("sent_at"),
    _ts("created_at", nullable=False, default_now=True),
    _ts("updated_at", nullable=False, default_now=True),
    sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'skipped')", name="status_known"),
    sa.Index("ix_notifications_client_id", "client_id"),
    sa.Index("ix_notifications_appointment_id", "appointment_id"),
    sa.Index(
        "ix_notifications_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'queued'"),
    ),
)

notification_templates = sa.Table(
    "notification_templates",
    metadata,
    sa.Column(
        "clinic_id",
        sa.Text,
        sa.ForeignKey("clinics.clinic_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("language", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_by", sa.Text),
    _ts("updated_at", nullable=False, default_now=True),
)

# A practitioner away: either instants (a half day) or local dates, inclusive (a holiday),
# the dates read in the zone of whichever clinic is asking.
practitioner_absences = sa.Table(
    "practitioner_absences",
    metadata,
    sa.Column("absence_id", sa.Text, primary_key=True),
    sa.Column(
        "practitioner_id",
        sa.Text,
        sa.ForeignKey("practitioners.practitioner_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("starts_at"),
    _ts("ends_at"),
    sa.Column("starts_on", sa.Date, nullable=True),
    sa.Column("ends_on", sa.Date, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    _ts("created_at", default_now=True),
    sa.CheckConstraint(
        "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at"
        " AND starts_on IS NULL AND ends_on IS NULL)"
        " OR (starts_on IS NOT NULL AND ends_on IS NOT NULL AND ends_on >= starts_on"
        " AND starts_at IS NULL AND ends_at IS NULL)",
        name="one_span",
    ),
)

# A clinic closed on its local dates ``starts_on`` … ``ends_on`` (inclusive).
clinic_closures = sa.Table(
    "clinic_closures",
    metadata,
    sa.Column("closure_id", sa.Text, primary_key=True),
    sa.Column(
        "clinic_id",
        sa.Text,
        sa.ForeignKey("clinics.clinic_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    _ts("created_at", default_now=True),
    sa.CheckConstraint("ends_on >= starts_on", name="ends_on_after"),
)
