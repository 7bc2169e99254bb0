"""Notifications: an appointment's, the clinics' templates with a preview (admin), and the
public unsubscribe page every email links to."""

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import HTMLResponse
from pydantic import Field

from switchboard_booking.adapters import appointments_queries, notifications_queries
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.domain.templates import Template
from switchboard_booking.entrypoints.api.bodies import Body
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import templates
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.audit import Auditor

_PART = Field(default="", max_length=5000)


class TemplateBody(Body):
    """A template: Jinja2 (sandboxed) with the variables ``GET /notification-templates``
    lists. Email needs a subject; SMS ignores it."""

    subject: str = _PART
    body: str = Field(min_length=1, max_length=5000)


class PreviewBody(TemplateBody):
    """A template to render as a client of the clinic would get it, without saving it."""

    clinic_id: str
    kind: str = Field(description="booked, rescheduled, cancelled or reminder")
    channel: str = Field(description="email or sms")
    language: str = Field(description="ru or en")


def _template_id(clinic_id: str, key: templates.TemplateKey) -> str:
    """A template on the audit trail: its path, ``<clinic>/<kind>/<channel>/<language>``."""
    return "/".join((clinic_id, *key))


def router(deps: Deps, guards: Guards) -> APIRouter:
    """The session-guarded notification endpoints."""
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    Audit = Annotated[Auditor, Depends(guards.audit)]
    sessions = deps.sessions
    router = APIRouter(
        prefix="/api/booking", tags=["notifications"], dependencies=[Depends(guards.principal)]
    )

    @router.get("/appointments/{appointment_id}/notifications")
    async def appointment_notifications(appointment_id: str, who: CurrentActor) -> dict[str, Any]:
        """Every notification about the appointment, to each recipient: kind, channel,
        status (``queued``, ``sent``, ``failed``, ``skipped``) and why, when, the text."""
        async with sessions() as session:
            await appointments_queries.appointment_view(session, appointment_id, who)
            items = await notifications_queries.appointment_notifications(session, appointment_id)
        return {"items": items}

    @router.get("/notification-templates")
    async def clinic_templates(clinic_id: str) -> dict[str, Any]:
        """A clinic's templates (every kind, channel and language; its own or the built-in
        ones), its reminder setting, and the variables templates may use."""
        return await templates.clinic_templates(deps, clinic_id)

    @router.put("/notification-templates/{clinic_id}/{kind}/{channel}/{language}")
    async def save_template(
        clinic_id: str,
        kind: str,
        channel: str,
        language: str,
        body: TemplateBody,
        who: CurrentActor,
        audit: Audit,
    ) -> dict[str, Any]:
        """Give the clinic its own template (admin); 422 when it would not render (audit:
        ``notification_template.changed``, with the text set)."""
        key = templates.template_key(kind, channel, language)
        record = audit.event(
            "notification_template.changed",
            "notification_template",
            _template_id(clinic_id, key),
            {"fields": {"subject": body.subject, "body": body.body}},
        )
        template = Template(body.subject, body.body)
        await templates.save_template(deps, who, clinic_id, key, template, record)
        return await templates.clinic_templates(deps, clinic_id)

    @router.delete(
        "/notification-templates/{clinic_id}/{kind}/{channel}/{language}",
        status_code=status.HTTP_200_OK,
    )
    async def reset_template(
        clinic_id: str, kind: str, channel: str, language: str, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Back to the built-in template (admin; audit: ``notification_template.reset``)."""
        key = templates.template_key(kind, channel, language)
        record = audit.event(
            "notification_template.reset", "notification_template", _template_id(clinic_id, key)
        )
        await templates.reset_template(deps, who, clinic_id, key, record)
        return await templates.clinic_templates(deps, clinic_id)

    @router.post("/notification-templates/preview")
    async def preview(body: PreviewBody, who: CurrentActor) -> dict[str, str]:
        """The template rendered for a sample appointment at the clinic (admin)."""
        key = templates.template_key(body.kind, body.channel, body.language)
        rendered = await templates.preview(
            deps, who, body.clinic_id, key, Template(body.subject, body.body)
        )
        return {"subject": rendered.subject, "body": rendered.body}

    return router


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1rem}}</style></head>
<body><h1>{title}</h1>{content}</body></html>"""


def _page(title: str, content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), content=content), status_code)


def public_router(deps: Deps) -> APIRouter:
    """The unsubscribe page: no session (the signed token is the authority). Opening the
    link asks for a click (mail scanners open links); the click, or a one-click POST from
    the mail client (RFC 8058 ``List-Unsubscribe-Post``), unsubscribes."""
    router = APIRouter(prefix="/api/booking", tags=["notifications"])

    @router.get("/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe_page(token: str) -> HTMLResponse:
        """Asks to confirm stopping emails."""
        try:
            _, email = templates.read_token_email(deps, token)
        except InvalidRequest as exc:
            return _page("Link not valid", f"<p>{escape(str(exc))}.</p>", 404)
        return _page(
            "Stop notification emails",
            f"<p>Stop sending appointment emails to <strong>{escape(email)}</strong>?</p>"
            '<form method="post"><input type="hidden" name="confirm" value="yes">'
            '<button type="submit">Unsubscribe</button></form>',
        )

    @router.post("/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: str) -> HTMLResponse:
        """Stops emails to the address the link was sent to (the form's body, or the mail
        client's ``List-Unsubscribe=One-Click``, is not needed: the token says it all)."""
        try:
            email, changed = await templates.unsubscribe(deps, token)
        except InvalidRequest as exc:
            return _page("Link not valid", f"<p>{escape(str(exc))}.</p>", 404)
        note = "" if changed else " (it is no longer on file)"
        return _page(
            "Unsubscribed",
            f"<p>No more appointment emails will be sent to <strong>{escape(email)}</strong>"
            f"{escape(note)}. The clinic can turn them on again if you ask.</p>",
        )

    return router
