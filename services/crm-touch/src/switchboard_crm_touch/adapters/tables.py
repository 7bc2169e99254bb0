"""crm-touch's tables: its projection of booking's clients and appointments, its own leads,
what it knows of each call, the touches, and the Calltouch setting it follows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from switchboard_runtime.db import make_metadata
from switchboard_runtime.directory import clinics_table

metadata = make_metadata()

_now = sa.func.now()

#: Clients (from booking.clients, ``origin='booking'``) and leads (opened here for unknown
#: numbers, ``origin='crm'``). A merged client or converted lead stays as a tombstone
#: (``status``, ``merged_into``) so late events about it are recognised and ignored.
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("contact_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("key_details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("merged_into", sa.Text),
    # Known only by reference so far (a merge or booking named it before its record came).
    sa.Column("placeholder", sa.Boolean, nullable=False, server_default=sa.false()),
    # The number a lead was opened for: at most one active lead per number.
    sa.Column("lead_phone", sa.Text),
    # occurred_at of the client state last applied: an older one is ignored.
    sa.Column("state_at", sa.DateTime(timezone=True)),
    sa.Column("last_active_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("kind IN ('patient', 'lead')", name="kind_known"),
    sa.CheckConstraint("origin IN ('booking', 'crm')", name="origin_known"),
    sa.CheckConstraint("status IN ('active', 'merged', 'converted')", name="status_known"),
    sa.Index("ix_contacts_merged_into", "merged_into"),
    sa.Index(
        "uq_contacts_active_lead_phone",
        "lead_phone",
        unique=True,
        postgresql_where=sa.text("status = 'active' AND lead_phone IS NOT NULL"),
    ),
)

#: phone (E.164) → contact; several contacts may share a number. ``source`` says where the
#: row came from: ``booking`` rows are replaced by every client state; ``lead`` rows came
#: from a lead that turned out to be this client and stay.
contact_phones = sa.Table(
    "contact_phones",
    metadata,
    sa.Column("phone", sa.Text, primary_key=True),
    sa.Column("contact_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.CheckConstraint("source IN ('booking', 'lead')", name="source_known"),
    sa.Index("ix_contact_phones_contact_id", "contact_id"),
)

#: What is known of each call from telephony.calls, and what was decided about its touch.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("direction", sa.Text),
    sa.Column("caller", sa.Text),
    sa.Column("callee", sa.Text),
    sa.Column("extension", sa.Text),
    sa.Column("clinic_id", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("answered_extension", sa.Text),
    sa.Column("operator_id", sa.Text),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("disposition", sa.Text),
    sa.Column("wait_seconds", sa.Integer),
    sa.Column("talk_seconds", sa.Integer),
    sa.Column("total_seconds", sa.Integer),
    # create | internal | disabled once decided (final); NULL while waiting.
    sa.Column("touch_decision", sa.Text),
    sa.Column("touch_id", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

touches = sa.Table(
    "touches",
    metadata,
    sa.Column("touch_id", sa.Text, primary_key=True),
    sa.Column("call_id", sa.Text, unique=True),
    sa.Column("channel", sa.Text, nullable=False, server_default="call"),
    sa.Column("direction", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("contact_id", sa.Text),
    sa.Column("candidate_ids", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("contact_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.Text, nullable=False, server_default="new"),
    sa.Column("result", sa.Text),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("operator_id", sa.Text),
    sa.Column("extension", sa.Text),
    sa.Column("clinic_id", sa.Text),
    sa.Column("disposition", sa.Text),
    sa.Column("wait_seconds", sa.Integer),
    sa.Column("talk_seconds", sa.Integer),
    sa.Column("total_seconds", sa.Integer),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("appointment_id", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("status IN ('new', 'in_progress', 'done')", name="status_known"),
    sa.CheckConstraint(
        "result IS NULL OR result IN ('booked', 'information', 'complaint', 'no_answer', 'other')",
        name="result_known",
    ),
    sa.Index("ix_touches_created_at_touch_id", "created_at", "touch_id"),
    sa.Index("ix_touches_contact_id_created_at", "contact_id", "created_at"),
    sa.Index("ix_touches_operator_id_created_at", "operator_id", "created_at"),
    sa.Index("ix_touches_candidate_ids", "candidate_ids", postgresql_using="gin"),
)

#: Appointments from booking.appointments: the contact timeline and the call → booking link.
appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("appointment_id", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("clinic_id", sa.Text, nullable=False),
    sa.Column("practitioner_id", sa.Text),
    sa.Column("service_id", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="booked"),
    sa.Column("call_center_id", sa.Text),
    sa.Column("operator_id", sa.Text),
    sa.Column("call_id", sa.Text),
    sa.Column("touch_id", sa.Text),
    sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.CheckConstraint("status IN ('booked', 'cancelled')", name="status_known"),
    sa.Index("ix_appointments_client_id_starts_at", "client_id", "starts_at"),
    sa.Index("ix_appointments_call_id", "call_id"),
    sa.Index("ix_appointments_touch_id", "touch_id"),
)

#: Clinics from booking.directory: their names and time zones, for "next visit" texts.
clinics = clinics_table(metadata, "name", "time_zone")

#: Integration switches from telephony.settings (crm-touch follows Calltouch's).
integration_settings = sa.Table(
    "integration_settings",
    metadata,
    sa.Column("integration", sa.Text, primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)
