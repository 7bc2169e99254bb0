"""Analytics' tables: the call log and the projections it joins (the roll-ups are in
:mod:`.rollup_tables`).

Every table here is *projection* state: derived from the topics' history, so the
``rebuild`` command can create the same tables afresh, replay the topics into them and
swap them in (:data:`PROJECTION_TABLES`). Migrations create the same definitions.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

# Re-exported: the migrations and the rebuild take the metadata with every table in it.
from switchboard_analytics.adapters.metadata import metadata as metadata
from switchboard_analytics.adapters.rollup_tables import (
    KPI_ROLLUP_TABLES,
    ROLLUP_TABLES,
    rollup_changes,
)
from switchboard_runtime.directory import clinics_table, operators_table

#: What the call log's filters (but phone numbers, names and tags) and the calls report
#: read; ``did`` for the filter by public number and the report grouped by it; the
#: conversion columns for the conversion report under a filter only the call log answers
#: (migration 0015).
_COVERED = (
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
    "has_touch",
    "appointments_booked",
    "appointments_cancelled",
)

#: One row per call, filled as its canonical events arrive; a call shows in the call log
#: and counts in the roll-ups once it has ended (``ended_at`` is set).
call_log = sa.Table(
    "call_log",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("call_type", sa.Text, nullable=False),
    sa.Column("src", sa.Text, nullable=False),
    sa.Column("dst", sa.Text, nullable=False),
    sa.Column("extension", sa.Text),
    sa.Column("clinic_id", sa.Text),
    # The operator who answered (from the call events).
    sa.Column("operator_id", sa.Text),
    sa.Column("disposition", sa.Text),
    sa.Column("wait_seconds", sa.Integer),
    sa.Column("talk_seconds", sa.Integer),
    sa.Column("total_seconds", sa.Integer),
    sa.Column("recording_url", sa.Text),
    sa.Column("end_reason", sa.Text),
    # The clinic's IANA zone when known (from booking.directory), else the default zone;
    # kept equal to it when the clinic's zone arrives or changes later.
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column(
        "local_started_at",
        sa.DateTime(timezone=False),
        sa.Computed("timezone(time_zone, started_at)", persisted=True),
    ),
    sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    # The operator the call's touch is assigned to (crm.touches).
    sa.Column("assigned_operator_id", sa.Text),
    # "admin": who answered, else who the call is assigned to.
    sa.Column(
        "admin_id",
        sa.Text,
        sa.Computed("coalesce(operator_id, assigned_operator_id)", persisted=True),
    ),
    sa.Column("contact_id", sa.Text),
    sa.Column("contact_kind", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("called_back", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("callback_call_id", sa.Text),
    sa.Column("callback_delay_seconds", sa.Integer),
    # Digits of both numbers, for "phone contains" and free-text search (trigram index).
    sa.Column(
        "numbers_digits",
        sa.Text,
        sa.Computed(
            "regexp_replace(src, '[^0-9]', '', 'g') || ' ' || "
            "regexp_replace(dst, '[^0-9]', '', 'g')",
            persisted=True,
        ),
    ),
    # The public number the call came in on (CallStarted's ``did``), for the reports by
    # number. Added by migration 0010, so it comes last in the migrated table as here.
    sa.Column("did", sa.Text),
    # What the conversion report counts of the call (migration 0013, so last here as
    # there): whether a touch names it, and its appointments (booked during it, or from
    # one of its touches without naming a call) and how many of them were cancelled. Kept
    # by the projection whichever of call, touch and appointment arrives first.
    sa.Column("has_touch", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("appointments_booked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("appointments_cancelled", sa.Integer, nullable=False, server_default="0"),
    # Newest first under a filter: carrying what the filters read, the page skips the
    # calls it does not show without reading them.
    sa.Index(
        "ix_call_log_started_at_call_id",
        "started_at",
        "call_id",
        postgresql_include=[*_COVERED[1:], "total_seconds", "ended_at"],
    ),
    sa.Index("ix_call_log_local_started_at_call_id", "local_started_at", "call_id"),
    sa.Index("ix_call_log_src_started_at", "src", "started_at"),
    sa.Index("ix_call_log_dst_started_at", "dst", "started_at"),
    sa.Index("ix_call_log_admin_id_started_at", "admin_id", "started_at"),
    sa.Index("ix_call_log_clinic_id_started_at", "clinic_id", "started_at"),
    sa.Index(
        "ix_call_log_numbers_digits_trgm",
        "numbers_digits",
        postgresql_using="gin",
        postgresql_ops={"numbers_digits": "gin_trgm_ops"},
    ),
    # A search by name finds the names in ``contact_names``, then their calls here.
    sa.Index("ix_call_log_contact_name", "contact_name"),
    sa.Index("ix_call_log_tags", "tags", postgresql_using="gin"),
    # The call-back worklist reads missed incoming calls not called back, newest days only.
    sa.Index(
        "ix_call_log_missed_open_started_at",
        "started_at",
        postgresql_where=sa.text(
            "call_type = 'incoming' AND disposition = 'missed' AND NOT called_back"
        ),
    ),
)

# The call log's pages and the calls report under filters no roll-up answers: each an
# index range that stops after the page, or an index-only scan of the matching calls.
#: Sorted by admin: each admin's calls in call id order (NULL admin as ''), walked one
#: admin after another in name order (``call_log_pages``).
sa.Index(
    "ix_call_log_admin_call_id",
    sa.func.coalesce(call_log.c.admin_id, ""),
    call_log.c.call_id,
    postgresql_where=sa.text("ended_at IS NOT NULL"),
)
#: Sorted by talk or total time, and their ranges; each carries what the filters and the
#: report read, so that a page skips rows without reading them and a report of long calls
#: is an index-only scan. Not partial: the planner keeps statistics of an expression
#: index only when it is not (a range is then estimated, not guessed).
sa.Index(
    "ix_call_log_talk_call_id",
    sa.func.coalesce(call_log.c.talk_seconds, 0),
    call_log.c.call_id,
    postgresql_include=[*_COVERED, "ended_at"],
)
sa.Index(
    "ix_call_log_total_call_id",
    sa.func.coalesce(call_log.c.total_seconds, 0),
    call_log.c.call_id,
    postgresql_include=[*_COVERED, "total_seconds", "ended_at"],
)
#: Phone contains: the numbers' runs of six digits (``digit_grams``, a function of
#: migration 0011; ``search.DIGIT_GRAM``). A trigram of digits is in a large share of
#: all numbers (every Moscow mobile number has "916"), a run of six in few.
sa.Index(
    "ix_call_log_numbers_digit_grams",
    sa.func.digit_grams(call_log.c.numbers_digits),
    postgresql_using="gin",
)
#: Tagged calls (a few percent) newest first, with their tags and what the report reads:
#: a tag filter reads these, not the GIN index's rows scattered over the whole log.
sa.Index(
    "ix_call_log_tagged_started_at",
    call_log.c.started_at,
    call_log.c.call_id,
    postgresql_include=["tags", *_COVERED[1:]],
    postgresql_where=sa.text("ended_at IS NOT NULL AND cardinality(tags) > 0"),
)

#: Operators from booking.directory: names for the "admin" column and search.
operators = operators_table(
    metadata,
    "name",
    "role",
    "extension",
    "active",
    version_column="version_at",
    # Added by migration 0005, so it comes last in the migrated table as here.
    extra=(sa.Column("call_center_id", sa.Text),),
)

#: Clinics from booking.directory: time zone (for clinic-local time) and name.
clinics = clinics_table(metadata, "name", "time_zone", "active", version_column="version_at")

#: The chain's public numbers from telephony.directory (``DidChanged``): a report by number
#: labels each with its description. A removed number keeps its row (``active`` false):
#: its calls still need their label.
dids = sa.Table(
    "dids",
    metadata,
    sa.Column("did", sa.Text, primary_key=True),
    sa.Column("clinic_id", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    info={"version_column": "version_at"},
)

#: Touches from crm.touches: who each call was with (contact) and assigned to.
touches = sa.Table(
    "touches",
    metadata,
    sa.Column("touch_id", sa.Text, primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("contact_id", sa.Text),
    sa.Column("contact_kind", sa.Text),
    sa.Column("contact_name", sa.Text),
    sa.Column("operator_id", sa.Text),
    sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_touches_call_id", "call_id"),
)

#: Every contact name a touch has carried. A search by name looks the text up here by
#: trigrams (one entry per name, not one per call: at 10 M calls a name search read the
#: trigram lists of every call with a common surname) and then finds the calls by name.
#: A renamed contact's old name stays: it finds no calls.
contact_names = sa.Table(
    "contact_names",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Index(
        "ix_contact_names_name_trgm",
        "name",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    ),
)

#: Appointments from booking.appointments, as far as the conversion report needs them:
#: the call they were booked during or the touch they were booked from (a touch links to
#: its call), when booked and whether cancelled since.
appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("appointment_id", sa.Text, primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("touch_id", sa.Text),
    # NULL until AppointmentBooked is applied (a cancellation may be replayed alone).
    sa.Column("booked_at", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.Index("ix_appointments_call_id", "call_id"),
    sa.Index("ix_appointments_touch_id", "touch_id"),
)

#: The latest tags each source (Callmarker …) put on a call; a call's tags are the union.
call_tags = sa.Table(
    "call_tags",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("tags", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
)


processed_events = metadata.tables["processed_events"]

#: What ``rebuild`` creates afresh and swaps in. ``processed_events`` goes with them: the
#: live consumer then skips exactly the events the rebuilt tables already contain.
PROJECTION_TABLES: tuple[sa.Table, ...] = (
    processed_events,
    call_log,
    operators,
    clinics,
    dids,
    touches,
    contact_names,
    call_tags,
    appointments,
    *ROLLUP_TABLES,
    *KPI_ROLLUP_TABLES,
    rollup_changes,
)

#: Every listen to a call recording: who, which call, when, which bytes. Not projection
#: state (``rebuild`` leaves it alone) and append-only: the migration's trigger refuses
#: UPDATE and DELETE, so the record of who heard a patient's call cannot be edited away.
recording_listens = sa.Table(
    "recording_listens",
    metadata,
    sa.Column("listen_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("operator_id", sa.Text, nullable=False),
    sa.Column("operator_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("listened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("byte_range", sa.Text),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Index("ix_recording_listens_call_id", "call_id", "listen_id"),
)

#: What operators did with the call-back worklist: claims, releases and closures with a
#: result, one row per action. Not projection state (``rebuild`` leaves it alone) and
#: append-only (the migration's trigger refuses UPDATE and DELETE): the current state of a
#: call-back is its latest row. ``call_id`` is the call-back's id on the worklist (its
#: first open missed call); a closure covers the number's missed calls that started up to
#: ``covers_until``, so a later missed call from the number opens a new call-back.
callback_actions = sa.Table(
    "callback_actions",
    metadata,
    sa.Column("action_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("operator_id", sa.Text, nullable=False),
    sa.Column("operator_name", sa.Text, nullable=False),
    sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("covers_until", sa.DateTime(timezone=True)),
    sa.CheckConstraint("action IN ('claimed', 'released', 'closed')", name="action"),
    sa.CheckConstraint(
        "(action = 'closed') = (result IS NOT NULL AND covers_until IS NOT NULL)",
        name="closed_has_result",
    ),
    sa.Index("ix_callback_actions_call_id", "call_id", "action_id"),
    sa.Index(
        "ix_callback_actions_closed_number",
        "number",
        "covers_until",
        postgresql_where=sa.text("action = 'closed'"),
    ),
)

#: The audit trail: every service's audited actions (``AuditRecorded`` from
#: ``platform.audit``; analytics' own, recording listens and exports, written in the
#: transaction of the action and deduplicated when the event comes back). One row per
#: ``event_id``. Not projection state (``rebuild`` leaves it alone) and append-only: the
#: migration's trigger refuses UPDATE and TRUNCATE, and DELETE of anything younger than the
#: retention the deleting transaction declares (the retention job's, at least 30 days).
audit_records = sa.Table(
    "audit_records",
    metadata,
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
    sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("client_address", sa.Text),
    sa.Column("user_agent", sa.Text),
    sa.Index("ix_audit_records_occurred_at", "occurred_at", "record_id"),
    sa.Index("ix_audit_records_actor", "actor_id", "record_id"),
    sa.Index("ix_audit_records_action", "action", "record_id"),
    sa.Index("ix_audit_records_subject", "subject_type", "subject_id", "record_id"),
)

#: Each clinic's service level target (seconds, 1-120; ``domain.kpi``), set by admins.
#: Not projection state (``rebuild`` leaves it alone): reports read it, the service level
#: roll-ups keep histograms fine enough for any target.
service_level_targets = sa.Table(
    "service_level_targets",
    metadata,
    sa.Column("clinic_id", sa.Text, primary_key=True),
    sa.Column("target_seconds", sa.Integer, nullable=False),
    sa.Column("set_by", sa.Text, nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("target_seconds BETWEEN 1 AND 120", name="target_seconds"),
)
