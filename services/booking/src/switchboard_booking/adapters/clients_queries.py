"""Read models of clients: search, one client's card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import client_phones, clients
from switchboard_booking.domain.errors import NotFound
from switchboard_phones import SearchDigits


@dataclass(frozen=True)
class ClientRow:
    """A client as search results and client cards show them."""

    client_id: str
    first_name: str
    last_name: str
    display_name: str
    email: str | None
    mobile: str | None
    phones: list[str]
    sms_consent: bool
    date_of_birth: date | None
    email_consent: bool = True
    language: str = "ru"


def _client_rows(rows: list[Any], phones: dict[str, list[str]]) -> list[ClientRow]:
    return [
        ClientRow(
            r.client_id,
            r.first_name,
            r.last_name,
            f"{r.first_name} {r.last_name}",
            r.email,
            r.mobile,
            phones.get(r.client_id, []),
            r.sms_consent,
            r.date_of_birth,
            r.email_consent,
            r.language,
        )
        for r in rows
    ]


async def _phones_of(session: AsyncSession, client_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid, phone in (
        await session.execute(
            sa.select(client_phones.c.client_id, client_phones.c.phone)
            .where(client_phones.c.client_id.in_(client_ids))
            .order_by(client_phones.c.phone)
        )
    ).all():
        out.setdefault(cid, []).append(phone)
    return out


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phone_found(column: sa.ColumnElement[Any], phone: SearchDigits) -> sa.ColumnElement[bool]:
    """``column`` (E.164 numbers) found by ``phone``: it contains one of the ``anywhere``
    digits, or begins with ``+`` and one of the ``leading`` ones."""
    return sa.or_(
        *[column.contains(d, autoescape=True) for d in phone.anywhere],
        *[column.startswith("+" + d, autoescape=True) for d in phone.leading],
    )


async def search_clients(
    session: AsyncSession,
    *,
    name: str | None,
    phone: SearchDigits | None,
    email: str | None,
    limit: int,
) -> list[ClientRow]:
    """Clients matching every given criterion: each word of ``name`` in the first or last
    name; the mobile or an extra phone found by ``phone`` (see
    :meth:`switchboard_phones.SearchDigits.matches`); ``email`` inside the address.
    Case-insensitive, sorted by last and first name."""
    c = clients.c
    query = sa.select(clients)
    for word in (name or "").split():
        query = query.where(sa.or_(c.first_name.ilike(_like(word)), c.last_name.ilike(_like(word))))
    if phone:
        extra = sa.select(client_phones.c.client_id).where(
            _phone_found(client_phones.c.phone, phone)
        )
        query = query.where(sa.or_(_phone_found(c.mobile, phone), c.client_id.in_(extra)))
    if email:
        query = query.where(c.email.ilike(_like(email.strip().lower())))
    query = query.order_by(
        sa.func.lower(c.last_name), sa.func.lower(c.first_name), c.client_id
    ).limit(limit)
    rows = list((await session.execute(query)).all())
    return _client_rows(rows, await _phones_of(session, [r.client_id for r in rows]))


async def get_client(session: AsyncSession, client_id: str) -> ClientRow:
    """One client, or :class:`NotFound`."""
    rows = list(
        (await session.execute(sa.select(clients).where(clients.c.client_id == client_id))).all()
    )
    if not rows:
        raise NotFound(f"no client {client_id!r}")
    return _client_rows(rows, await _phones_of(session, [client_id]))[0]
