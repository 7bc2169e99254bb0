"""The audit trail, one way in every service: who did what, to which record, from where.

A service audits an action by calling :func:`audit` with the request, the acting
:class:`~switchboard_runtime.auth.Principal` and what was done, in the session whose
transaction makes the change (a read: a small transaction of its own). It publishes an
:class:`~switchboard_contracts.AuditRecorded` through the outbox, so the record exists
exactly when the change does; analytics keeps the records (append-only).

"From where" is the browser's address. Services sit behind the console gateway (and the
gateway behind an ingress); only a peer in the service's ``TRUSTED_PROXIES`` is believed
about the address it forwards, and of ``X-Forwarded-For`` only the entry that proxy
appended (the last one): earlier entries are the client's own say-so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import AuditRecorded, Envelope
from switchboard_runtime.auth import Principal, PrincipalDependency
from switchboard_runtime.messaging import publish, session_settings

__all__ = ["Auditor", "audit", "audit_event", "auditor", "client_address"]

#: Longest user agent kept (a header is the client's to fill).
USER_AGENT_MAX = 300


def client_address(request: Request, trusted: Iterable[str]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy (the console
    gateway, the ingress), the address that proxy appended to ``X-Forwarded-For``."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or not _in_networks(peer, trusted):
        return peer
    return forwarded.split(",")[-1].strip() or peer


def _in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def audit_event(
    request: Request,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    *,
    trusted_proxies: Iterable[str],
    occurred_at: datetime | None = None,
) -> AuditRecorded:
    """The :class:`AuditRecorded` for ``principal`` doing ``action`` through ``request``."""
    agent = request.headers.get("user-agent")
    return AuditRecorded(
        actor_id=principal.operator_id,
        actor_name=principal.name,
        actor_role=principal.role,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=dict(details or {}),
        occurred_at=occurred_at or datetime.now(UTC),
        client_address=client_address(request, trusted_proxies),
        user_agent=agent[:USER_AGENT_MAX] if agent else None,
    )


async def audit(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Envelope[AuditRecorded]:
    """Record that ``principal`` did ``action`` to ``subject_type``/``subject_id``: an
    ``AuditRecorded`` staged in ``session``'s outbox (published once it commits).

    ``action`` is ``<subject>.<verb>`` (``client.viewed``, ``clients.merged``);
    ``details`` says what else a reader needs, never a secret. The trusted proxies are the
    service's ``TRUSTED_PROXIES`` setting.
    """
    settings = session_settings(session)
    event = audit_event(
        request,
        principal,
        action,
        subject_type,
        subject_id,
        details,
        trusted_proxies=settings.trusted_proxies,
    )
    (envelope,) = await publish(session, event, occurred_at=event.occurred_at)
    return envelope


@dataclass(frozen=True)
class Auditor:
    """Audit records for one request: who (the session's operator) and from where are
    known; the endpoint says what. Give :meth:`event` to a handler that publishes it in
    the transaction of its change, or :meth:`record` it in a session of the endpoint's."""

    request: Request
    principal: Principal
    trusted_proxies: tuple[str, ...]

    def event(
        self,
        action: str,
        subject_type: str,
        subject_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecorded:
        """The record of ``action`` on ``subject_type``/``subject_id`` by this request."""
        return audit_event(
            self.request,
            self.principal,
            action,
            subject_type,
            subject_id,
            details,
            trusted_proxies=self.trusted_proxies,
        )

    async def record(
        self,
        session: AsyncSession,
        action: str,
        subject_type: str,
        subject_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Envelope[AuditRecorded]:
        """Stage the record in ``session``'s outbox (published once it commits)."""
        event = self.event(action, subject_type, subject_id, details)
        (envelope,) = await publish(session, event, occurred_at=event.occurred_at)
        return envelope


def auditor(
    current: PrincipalDependency, trusted_proxies: Iterable[str]
) -> Callable[..., Awaitable[Auditor]]:
    """A FastAPI dependency giving the request's :class:`Auditor` (401 without a session,
    like ``current``); ``trusted_proxies`` is the service's ``TRUSTED_PROXIES``."""
    trusted = tuple(trusted_proxies)

    async def request_auditor(
        request: Request,
        principal: Principal = Depends(current),  # noqa: B008
    ) -> Auditor:
        return Auditor(request, principal, trusted)

    return request_auditor
