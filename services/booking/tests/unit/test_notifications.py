"""The notification rules without I/O: consent, planning and keys, reminders, templates,
the unsubscribe token, what a failure means."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard_booking.domain.delivery import SendFailed, after_failure
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.notifications import (
    CANCELLED,
    MOVED,
    TOO_LATE,
    MessageFacts,
    Recipient,
    channel_decisions,
    plan,
    reminder_time,
    reminder_too_late,
    stale_reminder,
)
from switchboard_booking.domain.templates import (
    DEFAULTS,
    SAMPLE_FACTS,
    Template,
    check,
    render,
    variables,
)
from switchboard_booking.domain.unsubscribe import make_token, read_token

T = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_channels_follow_consent_and_say_why_not() -> None:
    both = Recipient("c1", "Olga K", "olga@example.com", "+79161234567", True)
    assert channel_decisions(both) == [
        ("email", "olga@example.com", None),
        ("sms", "+79161234567", None),
    ]
    unsubscribed = Recipient("c2", "Ivan", "ivan@example.com", "+79160000000", False, False)
    assert channel_decisions(unsubscribed) == [
        ("email", "ivan@example.com", "unsubscribed from email"),
        ("sms", "+79160000000", "no SMS consent"),
    ]
    nothing = Recipient("c3", "Nobody", None, None, False)
    assert [why for _, _, why in channel_decisions(nothing)] == [
        "no email address",
        "no mobile number",
    ]


def test_a_plan_has_one_notification_per_recipient_and_channel_with_distinct_keys() -> None:
    people = [
        Recipient("c1", "Olga K", "olga@example.com", "+79161234567", True, language="en"),
        Recipient("c2", "Misha K", "misha@example.com", None, False),
    ]
    planned = plan(
        kind="booked",
        appointment_id="a1",
        version=1,
        facts=SAMPLE_FACTS,
        recipients=people,
        due_at=T,
    )
    assert [(p.client_id, p.channel, p.skip_reason) for p in planned] == [
        ("c1", "email", None),
        ("c1", "sms", None),
        ("c2", "email", None),
        ("c2", "sms", "no mobile number"),
    ]
    assert planned[0].language == "en" and planned[0].facts.recipient_name == "Olga K"
    assert planned[2].facts.recipient_name == "Misha K"
    assert len({p.idempotency_key for p in planned}) == 4
    again = plan(kind="booked", appointment_id="a1", version=1, facts=SAMPLE_FACTS,
                 recipients=people, due_at=T + timedelta(hours=1))  # fmt: skip
    assert [p.idempotency_key for p in again] == [p.idempotency_key for p in planned]
    moved = plan(kind="booked", appointment_id="a1", version=2, facts=SAMPLE_FACTS,
                 recipients=people, due_at=T)  # fmt: skip
    assert not {p.idempotency_key for p in moved} & {p.idempotency_key for p in planned}


def test_reminders() -> None:
    assert reminder_time(T, 0) is None
    assert reminder_time(T, 24) == T - timedelta(hours=24)
    assert reminder_too_late(T - timedelta(hours=24), T - timedelta(hours=30), 24) is None
    assert reminder_too_late(T - timedelta(hours=24), T - timedelta(hours=3), 24) == (
        "booked less than 24 h before the visit"
    )
    now = T - timedelta(hours=24)
    fresh = {"planned_version": 2, "starts_at": T, "now": now}
    assert stale_reminder(current_version=2, current_status="booked", **fresh) is None  # type: ignore[arg-type]
    assert stale_reminder(current_version=3, current_status="booked", **fresh) == MOVED  # type: ignore[arg-type]
    assert stale_reminder(current_version=3, current_status="cancelled", **fresh) == CANCELLED  # type: ignore[arg-type]
    assert (
        stale_reminder(
            planned_version=2, current_version=2, current_status="booked", starts_at=T, now=T
        )
        == TOO_LATE
    )


def test_every_built_in_template_renders_in_the_clients_language() -> None:
    for (kind, channel, language), template in DEFAULTS.items():
        check(template, channel)
        out = render(template, variables(SAMPLE_FACTS, language, "https://x.example/u/t"))
        assert "Consultation" in out.body + out.subject, (kind, channel, language)
        # 10:00 in Moscow on Monday 2 March 2026 (07:00 UTC).
        assert "10:00" in out.body + out.subject
        assert ("марта" if language == "ru" else "March") in out.body + out.subject
        if channel == "email":
            assert out.subject and "https://x.example/u/t" in out.body
        if kind == "rescheduled":
            assert "27" in out.body  # the old date
        if kind == "cancelled":
            assert "Client request" in out.body


def test_a_template_sees_only_the_allow_listed_facts() -> None:
    fields = {f.name for f in dataclasses.fields(MessageFacts)}
    assert "private_notes" not in fields and "answers" not in fields
    with pytest.raises(InvalidRequest, match="cannot be used"):
        check(Template("x", "{{ private_notes }}"), "sms")
    with pytest.raises(InvalidRequest, match="cannot be used"):
        # The sandbox refuses Python internals.
        check(Template("", "{{ clinic_name.__class__.__mro__ }}"), "sms")
    with pytest.raises(InvalidRequest, match="cannot be used"):
        check(Template("", "{% if %}"), "sms")
    with pytest.raises(InvalidRequest, match="subject"):
        check(Template("", "Hello"), "email")
    check(Template("", "{{ recipient_name }}: {{ when }}"), "sms")


@given(st.text(min_size=1, max_size=40), st.emails())
def test_unsubscribe_tokens_round_trip_and_cannot_be_forged(client_id: str, email: str) -> None:
    token = make_token(client_id, email, "secret")
    assert read_token(token, "secret") == (client_id, email.lower())
    with pytest.raises(InvalidRequest):
        read_token(token, "other secret")
    payload, signature = token.split(".")
    with pytest.raises(InvalidRequest):
        read_token(
            f"{make_token('someone-else', email, 'secret').split('.')[0]}.{signature}", "secret"
        )
    with pytest.raises(InvalidRequest):
        read_token(payload, "secret")


def test_failures_retry_until_the_attempts_are_spent() -> None:
    temporary = SendFailed("SMTP server unavailable", temporary=True)
    outcome = after_failure(temporary, attempts=1, max_attempts=3, retry_in_seconds=30, now=T)
    assert outcome.status == "queued" and outcome.next_attempt_at == T + timedelta(seconds=30)
    assert "retrying" in (outcome.reason or "")
    spent = after_failure(temporary, attempts=3, max_attempts=3, retry_in_seconds=30, now=T)
    assert spent.status == "failed" and "gave up after 3 attempts" in (spent.reason or "")
    refused = SendFailed("SMTP 550: no such user", temporary=False)
    outcome = after_failure(refused, attempts=1, max_attempts=3, retry_in_seconds=30, now=T)
    assert (outcome.status, outcome.reason) == ("failed", "SMTP 550: no such user")
