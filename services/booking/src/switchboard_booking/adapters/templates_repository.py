"""The clinics' message templates and reminder setting, and unsubscribing from email."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import clients, clinics, notification_templates
from switchboard_booking.domain.templates import DEFAULTS, Template


async def clinic_templates(
    session: AsyncSession, clinic_id: str
) -> dict[tuple[str, str, str], tuple[Template, str | None, datetime]]:
    """The clinic's own templates: (kind, channel, language) → (template, by, when)."""
    t = notification_templates.c
    rows = (
        await session.execute(sa.select(notification_templates).where(t.clinic_id == clinic_id))
    ).all()
    return {
        (r.kind, r.channel, r.language): (Template(r.subject, r.body), r.updated_by, r.updated_at)
        for r in rows
    }


async def template_for(
    session: AsyncSession, clinic_id: str, kind: str, channel: str, language: str
) -> Template:
    """The clinic's template for a message, else the built-in one."""
    t = notification_templates.c
    row = (
        await session.execute(
            sa.select(t.subject, t.body).where(
                t.clinic_id == clinic_id,
                t.kind == kind,
                t.channel == channel,
                t.language == language,
            )
        )
    ).first()
    if row is not None:
        return Template(row.subject, row.body)
    return DEFAULTS[(kind, channel, language)]  # type: ignore[index]


async def save_template(
    session: AsyncSession,
    clinic_id: str,
    key: tuple[str, str, str],
    template: Template,
    operator_id: str,
    now: datetime,
) -> None:
    """Store a clinic's template (replacing its previous one)."""
    kind, channel, language = key
    values = {
        "subject": template.subject,
        "body": template.body,
        "updated_by": operator_id,
        "updated_at": now,
    }
    await session.execute(
        pg_insert(notification_templates)
        .values(clinic_id=clinic_id, kind=kind, channel=channel, language=language, **values)
        .on_conflict_do_update(
            index_elements=["clinic_id", "kind", "channel", "language"], set_=values
        )
    )


async def delete_template(session: AsyncSession, clinic_id: str, key: tuple[str, str, str]) -> None:
    """Drop a clinic's template: the built-in one applies again."""
    kind, channel, language = key
    t = notification_templates.c
    await session.execute(
        sa.delete(notification_templates).where(
            t.clinic_id == clinic_id, t.kind == kind, t.channel == channel, t.language == language
        )
    )


async def unsubscribe_email(session: AsyncSession, client_id: str, email: str) -> bool:
    """Stop emails to the client at ``email``; False when that is not their address (any
    more): nothing changes then."""
    result = await session.execute(
        sa.update(clients)
        .where(clients.c.client_id == client_id, sa.func.lower(clients.c.email) == email.lower())
        .values(email_consent=False, updated_at=sa.func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reminder_hours(session: AsyncSession, clinic_id: str) -> int:
    """How many hours before a visit the clinic's reminders go out (0: none)."""
    hours = await session.scalar(
        sa.select(clinics.c.reminder_hours_before).where(clinics.c.clinic_id == clinic_id)
    )
    return int(hours or 0)
