"""The clinics' message templates (admin), their preview, and unsubscribing from email."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jinja2 import TemplateError

from switchboard_booking.adapters import directory_facts
from switchboard_booking.adapters import templates_repository as repo
from switchboard_booking.domain import model
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.domain.notifications import (
    CHANNELS,
    KINDS,
    LANGUAGES,
    Channel,
    Language,
    NotificationKind,
)
from switchboard_booking.domain.templates import (
    DEFAULTS,
    SAMPLE_FACTS,
    VARIABLES,
    Rendered,
    Template,
    check,
    render,
    variables,
)
from switchboard_booking.domain.unsubscribe import read_token
from switchboard_booking.handlers.delivery import unsubscribe_url
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import AuditRecorded
from switchboard_runtime.messaging import publish

TemplateKey = tuple[NotificationKind, Channel, Language]


def template_key(kind: str, channel: str, language: str) -> TemplateKey:
    """A valid (kind, channel, language), or :class:`InvalidRequest`."""
    if kind not in KINDS or channel not in CHANNELS or language not in LANGUAGES:
        raise InvalidRequest(
            f"kind must be one of {', '.join(KINDS)}; channel {', '.join(CHANNELS)}; "
            f"language {', '.join(LANGUAGES)}"
        )
    return (kind, channel, language)


async def clinic_templates(deps: Deps, clinic_id: str) -> dict[str, Any]:
    """Every template of a clinic (its own where it has one, else the built-in one), the
    clinic's reminder setting and the variables templates may use."""
    async with deps.sessions() as session:
        clinic = await directory_facts.get_clinic(session, clinic_id)
        own = await repo.clinic_templates(session, clinic_id)
        hours = await repo.reminder_hours(session, clinic_id)
    items = []
    for key, default in DEFAULTS.items():
        mine = own.get(key)
        template = mine[0] if mine else default
        items.append(
            {
                "kind": key[0],
                "channel": key[1],
                "language": key[2],
                "subject": template.subject,
                "body": template.body,
                "customised": mine is not None,
                "updated_by": mine[1] if mine else None,
                "updated_at": mine[2] if mine else None,
                "default_subject": default.subject,
                "default_body": default.body,
            }
        )
    return {
        "clinic_id": clinic.clinic_id,
        "clinic_name": clinic.name,
        "reminder_hours_before": hours,
        "variables": VARIABLES,
        "items": items,
    }


async def save_template(
    deps: Deps,
    actor: Actor,
    clinic_id: str,
    key: TemplateKey,
    template: Template,
    audit: AuditRecorded | None = None,
) -> None:
    """Give the clinic its own template (admin); refused (422) when it would not render.
    Publishes ``audit`` (its record on the audit trail)."""
    model.ensure_admin(actor)
    check(template, key[1])
    async with deps.sessions() as session, session.begin():
        await directory_facts.get_clinic(session, clinic_id)
        await repo.save_template(session, clinic_id, key, template, actor.operator_id, deps.clock())
        if audit is not None:
            await publish(session, audit)


async def reset_template(
    deps: Deps,
    actor: Actor,
    clinic_id: str,
    key: TemplateKey,
    audit: AuditRecorded | None = None,
) -> None:
    """Go back to the built-in template (admin); publishes ``audit`` (its record on the
    audit trail)."""
    model.ensure_admin(actor)
    async with deps.sessions() as session, session.begin():
        await directory_facts.get_clinic(session, clinic_id)
        await repo.delete_template(session, clinic_id, key)
        if audit is not None:
            await publish(session, audit)


async def preview(
    deps: Deps, actor: Actor, clinic_id: str, key: TemplateKey, template: Template
) -> Rendered:
    """``template`` rendered as a client of the clinic would get it (a sample
    appointment at the clinic), without saving it; 422 with the error when it cannot be."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        clinic = await directory_facts.get_clinic(session, clinic_id)
    facts = replace(
        SAMPLE_FACTS,
        clinic_name=clinic.name,
        clinic_address=clinic.address,
        time_zone=clinic.time_zone,
    )
    link = (
        unsubscribe_url(deps.settings, "sample", "client@example.com") if key[1] == "email" else ""
    )
    try:
        return render(template, variables(facts, key[2], link))
    except TemplateError as exc:
        raise InvalidRequest(f"the template cannot be used: {exc}") from exc


def read_token_email(deps: Deps, token: str) -> tuple[str, str]:
    """``(client_id, email)`` of an unsubscribe token; :class:`InvalidRequest` if forged."""
    return read_token(token, deps.settings.auth_secret.get_secret_value())


async def unsubscribe(deps: Deps, token: str) -> tuple[str, bool]:
    """Stop emails to the client the token names, at the address it names; returns that
    address and whether it was still the client's."""
    client_id, email = read_token(token, deps.settings.auth_secret.get_secret_value())
    async with deps.sessions() as session, session.begin():
        changed = await repo.unsubscribe_email(session, client_id, email)
    return email, changed
