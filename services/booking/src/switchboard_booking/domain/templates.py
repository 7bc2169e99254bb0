# Russian templates: Cyrillic letters that look like Latin ones are meant.
# ruff: noqa: RUF001
"""Message templates: the built-in ones (Russian and English), rendering in Jinja2's
sandbox, and the variables a template may use.

A clinic may replace any template (kind, channel and language) with its own; the rest stay
the built-in ones. Templates are rendered in :class:`SandboxedEnvironment` with
``StrictUndefined``: an admin's template reaches only the variables below, never Python
objects, and a misspelt variable is an error at save time rather than a blank in a
patient's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.notifications import (
    Channel,
    Language,
    MessageFacts,
    NotificationKind,
)

#: Variables every template may use, with what they hold (shown in the editor).
VARIABLES: dict[str, str] = {
    "recipient_name": "who the message is to (the client or an attendee)",
    "client_name": "the appointment's client",
    "clinic_name": "the clinic",
    "clinic_address": "the clinic's address",
    "practitioner_name": "the practitioner",
    "service_name": "the service",
    "meeting_method": "in person, video or phone (in the message's language)",
    "date": "the visit's date, clinic time",
    "time": "the visit's start, clinic time (HH:MM)",
    "when": "date and time together",
    "previous_date": "rescheduled: the old date",
    "previous_time": "rescheduled: the old time",
    "previous_when": "rescheduled: the old date and time",
    "time_zone": "the clinic's time zone",
    "cancellation_reason": "cancelled: the reason's label (may be empty)",
    "attendee_notes": "the notes for attendees (may be empty)",
    "unsubscribe_url": "email only: the link that stops emails",
}

_MONTHS = {
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
_WEEKDAYS = {
    "ru": ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_METHODS = {
    "ru": {"in_person": "очно", "video": "видеосвязь", "phone": "по телефону"},
    "en": {"in_person": "in person", "video": "video call", "phone": "phone call"},
}


def _date_time(iso: str | None, tz: str, language: Language) -> tuple[str, str]:
    if not iso:
        return "", ""
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(tz))
    weekday = _WEEKDAYS[language][at.weekday()]
    month = _MONTHS[language][at.month - 1]
    if language == "ru":
        day = f"{weekday}, {at.day} {month} {at.year}"
    else:
        day = f"{weekday} {at.day} {month} {at.year}"
    return day, at.strftime("%H:%M")


def variables(facts: MessageFacts, language: Language, unsubscribe_url: str = "") -> dict[str, Any]:
    """What a template sees for ``facts``: names, times in the clinic's zone and
    ``language``. Built from the allow-listed facts only."""
    date, time = _date_time(facts.starts_at, facts.time_zone, language)
    previous_date, previous_time = _date_time(facts.previous_starts_at, facts.time_zone, language)
    joiner = " в " if language == "ru" else " at "
    return {
        "recipient_name": facts.recipient_name,
        "client_name": facts.client_name,
        "clinic_name": facts.clinic_name,
        "clinic_address": facts.clinic_address,
        "practitioner_name": facts.practitioner_name,
        "service_name": facts.service_name,
        "meeting_method": _METHODS[language].get(facts.meeting_method, facts.meeting_method),
        "date": date,
        "time": time,
        "when": f"{date}{joiner}{time}" if date else "",
        "previous_date": previous_date,
        "previous_time": previous_time,
        "previous_when": f"{previous_date}{joiner}{previous_time}" if previous_date else "",
        "time_zone": facts.time_zone,
        "cancellation_reason": facts.cancellation_reason or "",
        "attendee_notes": facts.attendee_notes,
        "unsubscribe_url": unsubscribe_url,
    }


@dataclass(frozen=True)
class Template:
    """A subject (email only) and a body."""

    subject: str
    body: str


@dataclass(frozen=True)
class Rendered:
    """A message ready to send."""

    subject: str
    body: str


_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)

#: Longest template an admin may save (characters), per part.
MAX_TEMPLATE_LENGTH = 5000


def render(template: Template, values: dict[str, Any]) -> Rendered:
    """Render ``template`` with ``values`` in the sandbox. :class:`TemplateError` when it
    does not compile or uses what it may not."""
    subject = _ENV.from_string(template.subject).render(values) if template.subject else ""
    body = _ENV.from_string(template.body).render(values)
    return Rendered(" ".join(subject.split()), body.strip())


def check(template: Template, channel: Channel) -> None:
    """Refuse a template that would fail when sent: too long, empty, not valid Jinja2, or
    using an unknown variable (rendered against sample facts in both languages)."""
    if not template.body.strip():
        raise InvalidRequest("the body is empty")
    if channel == "email" and not template.subject.strip():
        raise InvalidRequest("an email needs a subject")
    if max(len(template.subject), len(template.body)) > MAX_TEMPLATE_LENGTH:
        raise InvalidRequest(f"a template is at most {MAX_TEMPLATE_LENGTH} characters")
    for language in ("ru", "en"):
        try:
            render(template, variables(SAMPLE_FACTS, language, "https://example.invalid/u"))
        except TemplateError as exc:
            raise InvalidRequest(f"the template cannot be used: {exc}") from exc


#: What a preview is rendered with when no appointment is given.
SAMPLE_FACTS = MessageFacts(
    recipient_name="Olga Kuznetsova",
    client_name="Olga Kuznetsova",
    clinic_name="Moscow Center",
    clinic_address="Tverskaya 1",
    time_zone="Europe/Moscow",
    practitioner_name="Dr Ivanova",
    service_name="Consultation",
    meeting_method="in_person",
    starts_at="2026-03-02T07:00:00+00:00",
    ends_at="2026-03-02T07:30:00+00:00",
    previous_starts_at="2026-02-27T11:30:00+00:00",
    cancellation_reason="Client request",
    attendee_notes="Bring your X-ray",
)


def _t(subject: str, body: str) -> Template:
    return Template(subject, body)


_NOTES_RU = "{% if attendee_notes %}\nПримечание: {{ attendee_notes }}{% endif %}"
_NOTES_EN = "{% if attendee_notes %}\nNote: {{ attendee_notes }}{% endif %}"
_WHERE_RU = "{{ clinic_name }}{% if clinic_address %}, {{ clinic_address }}{% endif %}"
_WHERE_EN = _WHERE_RU
_SIGN_RU = "\n\nОтписаться от писем: {{ unsubscribe_url }}"
_SIGN_EN = "\n\nStop these emails: {{ unsubscribe_url }}"

DEFAULTS: dict[tuple[NotificationKind, Channel, Language], Template] = {
    ("booked", "email", "ru"): _t(
        "Вы записаны: {{ service_name }}, {{ when }}",
        "Здравствуйте, {{ recipient_name }}!\n\nВы записаны на «{{ service_name }}» к "
        "{{ practitioner_name }} ({{ meeting_method }}): {{ when }}.\nКлиника: "
        + _WHERE_RU
        + "."
        + _NOTES_RU
        + _SIGN_RU,
    ),
    ("booked", "email", "en"): _t(
        "Your appointment is booked: {{ service_name }}, {{ when }}",
        "Hello {{ recipient_name }},\n\nYou are booked for {{ service_name }} with "
        "{{ practitioner_name }} ({{ meeting_method }}) on {{ when }}.\nClinic: "
        + _WHERE_EN
        + "."
        + _NOTES_EN
        + _SIGN_EN,
    ),
    ("booked", "sms", "ru"): _t(
        "",
        "Вы записаны: {{ service_name }}, {{ practitioner_name }}, {{ when }}, {{ clinic_name }}."
        "{% if attendee_notes %} {{ attendee_notes }}{% endif %}",
    ),
    ("booked", "sms", "en"): _t(
        "",
        "Booked: {{ service_name }} with {{ practitioner_name }}, {{ when }}, {{ clinic_name }}."
        "{% if attendee_notes %} {{ attendee_notes }}{% endif %}",
    ),
    ("rescheduled", "email", "ru"): _t(
        "Запись перенесена: {{ when }}",
        "Здравствуйте, {{ recipient_name }}!\n\nВаша запись на «{{ service_name }}» перенесена "
        "с {{ previous_when }} на {{ when }} ({{ practitioner_name }}).\nКлиника: "
        + _WHERE_RU
        + "."
        + _NOTES_RU
        + _SIGN_RU,
    ),
    ("rescheduled", "email", "en"): _t(
        "Your appointment has moved to {{ when }}",
        "Hello {{ recipient_name }},\n\nYour {{ service_name }} appointment has moved from "
        "{{ previous_when }} to {{ when }} ({{ practitioner_name }}).\nClinic: "
        + _WHERE_EN
        + "."
        + _NOTES_EN
        + _SIGN_EN,
    ),
    ("rescheduled", "sms", "ru"): _t(
        "",
        "Запись перенесена: {{ service_name }}, было {{ previous_when }}, теперь {{ when }}, "
        "{{ clinic_name }}.",
    ),
    ("rescheduled", "sms", "en"): _t(
        "",
        "Moved: {{ service_name }} from {{ previous_when }} to {{ when }}, {{ clinic_name }}.",
    ),
    ("cancelled", "email", "ru"): _t(
        "Запись отменена: {{ service_name }}, {{ when }}",
        "Здравствуйте, {{ recipient_name }}!\n\nВаша запись на «{{ service_name }}» "
        "{{ when }} отменена.{% if cancellation_reason %}\nПричина: {{ cancellation_reason }}."
        "{% endif %}\nЧтобы записаться снова, позвоните в клинику {{ clinic_name }}." + _SIGN_RU,
    ),
    ("cancelled", "email", "en"): _t(
        "Your appointment is cancelled: {{ service_name }}, {{ when }}",
        "Hello {{ recipient_name }},\n\nYour {{ service_name }} appointment on {{ when }} is "
        "cancelled.{% if cancellation_reason %}\nReason: {{ cancellation_reason }}.{% endif %}"
        "\nTo book again, call {{ clinic_name }}." + _SIGN_EN,
    ),
    ("cancelled", "sms", "ru"): _t(
        "",
        "Запись отменена: {{ service_name }}, {{ when }}."
        "{% if cancellation_reason %} Причина: {{ cancellation_reason }}.{% endif %}",
    ),
    ("cancelled", "sms", "en"): _t(
        "",
        "Cancelled: {{ service_name }}, {{ when }}."
        "{% if cancellation_reason %} Reason: {{ cancellation_reason }}.{% endif %}",
    ),
    ("reminder", "email", "ru"): _t(
        "Напоминание: {{ service_name }}, {{ when }}",
        "Здравствуйте, {{ recipient_name }}!\n\nНапоминаем о записи на «{{ service_name }}» к "
        "{{ practitioner_name }} ({{ meeting_method }}): {{ when }}.\nКлиника: "
        + _WHERE_RU
        + "."
        + _NOTES_RU
        + _SIGN_RU,
    ),
    ("reminder", "email", "en"): _t(
        "Reminder: {{ service_name }}, {{ when }}",
        "Hello {{ recipient_name }},\n\nA reminder of your {{ service_name }} appointment with "
        "{{ practitioner_name }} ({{ meeting_method }}) on {{ when }}.\nClinic: "
        + _WHERE_EN
        + "."
        + _NOTES_EN
        + _SIGN_EN,
    ),
    ("reminder", "sms", "ru"): _t(
        "",
        "Напоминание: {{ service_name }}, {{ practitioner_name }}, {{ when }}, {{ clinic_name }}."
        "{% if attendee_notes %} {{ attendee_notes }}{% endif %}",
    ),
    ("reminder", "sms", "en"): _t(
        "",
        "Reminder: {{ service_name }} with {{ practitioner_name }}, {{ when }}, "
        "{{ clinic_name }}.{% if attendee_notes %} {{ attendee_notes }}{% endif %}",
    ),
}
