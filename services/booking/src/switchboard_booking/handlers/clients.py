"""Registering, changing and merging clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import clients_repository as repo
from switchboard_booking.adapters.ids import new_id
from switchboard_booking.domain import model
from switchboard_booking.domain.clients import ClientProfile, merged_profile, new_profile
from switchboard_booking.domain.commands import MergeClients, NewClient, UpdateClient
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import (
    AuditRecorded,
    ClientRegistered,
    ClientsMerged,
    ClientUpdated,
    Event,
)
from switchboard_runtime.db import retry_transaction
from switchboard_runtime.messaging import publish


def _client_state(
    cls: type[ClientRegistered] | type[ClientUpdated], client_id: str, profile: ClientProfile
) -> Event:
    return cls(
        client_id=client_id,
        first_name=profile.first_name,
        last_name=profile.last_name,
        display_name=profile.display_name,
        phones=profile.all_phones,
        email=profile.email,
        date_of_birth=profile.date_of_birth,
        sms_consent=profile.sms_consent,
    )


async def _register(session: AsyncSession, deps: Deps, data: NewClient) -> str:
    profile = new_profile(
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        mobile=data.mobile,
        sms_consent=data.sms_consent,
        region=deps.settings.default_region,
        date_of_birth=data.date_of_birth,
        phones=data.phones,
        language=data.language or deps.settings.default_language,
        email_consent=data.email_consent,
    )
    client_id = new_id()
    await repo.save_client(session, client_id, profile, new=True)
    await publish(session, _client_state(ClientRegistered, client_id, profile))
    return client_id


async def client_for(
    session: AsyncSession, deps: Deps, client_id: str | None, data: NewClient | None
) -> str:
    """An existing client's id, or the id of the client registered from ``data`` in the
    caller's transaction (publishing ``ClientRegistered``)."""
    if client_id is not None:
        return client_id
    if data is None:
        raise InvalidRequest("give either client_id or new_client")
    return await _register(session, deps, data)


@retry_transaction()
async def register_client(deps: Deps, actor: Actor, data: NewClient) -> str:
    """Register a client; publishes ``ClientRegistered``. Returns the new client id."""
    model.ensure_may_edit_clients(actor)
    async with deps.sessions() as session, session.begin():
        return await _register(session, deps, data)


@retry_transaction()
async def update_client(deps: Deps, actor: Actor, cmd: UpdateClient) -> None:
    """Change a client's details; publishes ``ClientUpdated`` with the full new state."""
    model.ensure_may_edit_clients(actor)
    async with deps.sessions() as session, session.begin():
        current = await repo.load_client(session, cmd.client_id, for_update=True)

        def pick(new: Any, old: Any) -> Any:
            return old if new is None else new

        profile = new_profile(
            first_name=pick(cmd.first_name, current.first_name),
            last_name=pick(cmd.last_name, current.last_name),
            email=pick(cmd.email, current.email),
            mobile=pick(cmd.mobile, current.mobile),
            sms_consent=pick(cmd.sms_consent, current.sms_consent),
            date_of_birth=pick(cmd.date_of_birth, current.date_of_birth),
            phones=pick(cmd.phones, current.phones),
            language=pick(cmd.language, current.language),
            email_consent=pick(cmd.email_consent, current.email_consent),
            region=deps.settings.default_region,
        )
        await repo.save_client(session, cmd.client_id, profile, new=False)
        await publish(session, _client_state(ClientUpdated, cmd.client_id, profile))


# --- merging duplicates ----------------------------------------------------------------------


async def preview_merge(deps: Deps, actor: Actor, cmd: MergeClients) -> dict[str, Any]:
    """What merging would do: both records, the primary's resulting details, and how many
    appointments move. Changes nothing."""
    model.ensure_may_edit_clients(actor)
    model.ensure_distinct_for_merge(cmd.primary_client_id, cmd.duplicate_client_id)
    async with deps.sessions() as session:
        primary = await repo.load_client(session, cmd.primary_client_id)
        duplicate = await repo.load_client(session, cmd.duplicate_client_id)
        moving, attending = await repo.records_to_move(session, cmd.duplicate_client_id)
    return {
        "primary": _profile_dict(cmd.primary_client_id, primary),
        "duplicate": _profile_dict(cmd.duplicate_client_id, duplicate),
        "result": _profile_dict(cmd.primary_client_id, merged_profile(primary, duplicate)),
        "appointments_to_move": moving,
        "attendances_to_move": attending,
    }


def _profile_dict(client_id: str, p: ClientProfile) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "display_name": p.display_name,
        "email": p.email,
        "mobile": p.mobile,
        "phones": list(p.phones),
        "sms_consent": p.sms_consent,
        "email_consent": p.email_consent,
        "language": p.language,
        "date_of_birth": p.date_of_birth,
    }


@retry_transaction()
async def merge_clients(
    deps: Deps, actor: Actor, cmd: MergeClients, audit: AuditRecorded | None = None
) -> int:
    """Fold the duplicate into the primary in one transaction: details, phones,
    appointments, attendances, notifications; then delete the duplicate. Publishes
    ``ClientsMerged``, the primary's ``ClientUpdated`` and ``audit`` (the merge's record on
    the audit trail). Returns appointments moved."""
    model.ensure_may_edit_clients(actor)
    model.ensure_distinct_for_merge(cmd.primary_client_id, cmd.duplicate_client_id)
    async with deps.sessions() as session, session.begin():
        # Lock both rows in id order, so two merges of the same pair cannot deadlock.
        locked = {}
        for cid in sorted((cmd.primary_client_id, cmd.duplicate_client_id)):
            locked[cid] = await repo.load_client(session, cid, for_update=True)
        primary = locked[cmd.primary_client_id]
        duplicate = locked[cmd.duplicate_client_id]
        result = merged_profile(primary, duplicate)
        moved = await repo.move_client_records(
            session, cmd.duplicate_client_id, cmd.primary_client_id
        )
        await repo.save_client(session, cmd.primary_client_id, result, new=False)
        await publish(
            session,
            *[
                ClientsMerged(
                    primary_client_id=cmd.primary_client_id,
                    duplicate_client_id=cmd.duplicate_client_id,
                    merged_at=datetime.now(UTC),
                ),
                _client_state(ClientUpdated, cmd.primary_client_id, result),
                *([audit] if audit is not None else []),
            ],
        )
    return moved
