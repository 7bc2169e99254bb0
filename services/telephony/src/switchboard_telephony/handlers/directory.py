"""Handlers of the directory: booking's operators (who has which extension), and the
admin's commands on DIDs (public numbers → clinics) and extensions.

Each command opens its own unit of work, publishes ``DidChanged`` and the audit record in
it, commits, then refreshes this replica's configuration cache.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import AuditRecorded, DidChanged, Envelope, OperatorChanged
from switchboard_phones import InvalidPhoneNumber
from switchboard_runtime.messaging import after_commit, publish
from switchboard_telephony.adapters import directory_repository, queries
from switchboard_telephony.domain.config import Directory
from switchboard_telephony.domain.errors import Conflict, FieldError, InvalidRequest, NotFound
from switchboard_telephony.handlers.shared import Deps

__all__ = [
    "add_did",
    "add_extension",
    "canonical_did",
    "canonical_extension",
    "change_did",
    "change_extension",
    "find_did",
    "find_extension",
    "on_operator_changed",
    "publish_did",
    "remove_did",
    "remove_extension",
]

_EXTENSION = re.compile(r"^[0-9]{1,16}$")


async def on_operator_changed(
    session: AsyncSession, envelope: Envelope[OperatorChanged], deps: Deps
) -> None:
    """Project who has which extension; the configuration cache reloads once it commits."""
    if await directory_repository.save_operator(session, envelope):
        after_commit(session, deps.config.wake)


def canonical_did(raw: str, default_region: str) -> str:
    """A DID in E.164, or :class:`InvalidRequest` (an extension is not a DID)."""
    directory = Directory(default_region=default_region)
    try:
        number = directory.canonical(raw)
    except InvalidPhoneNumber:
        raise InvalidRequest([FieldError("did", "is not a phone number")]) from None
    if directory.is_extension(number):
        raise InvalidRequest(
            [FieldError("did", "is an extension; a DID is a public number (E.164)")]
        )
    return number


def canonical_extension(raw: str) -> str:
    """A bare extension (digits only), or :class:`InvalidRequest`."""
    extension = raw.strip()
    if not _EXTENSION.match(extension):
        raise InvalidRequest([FieldError("extension", "must be 1 to 16 digits")])
    return extension


async def add_did(
    deps: Deps,
    did: str,
    clinic_id: str,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.DidRow:
    """Route a public number to a clinic (409 if it is already routed)."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.insert_did(session, number, clinic_id, description):
            raise Conflict(f"DID {number} is already configured")
        await _publish_audit(session, audit, number)
        row = await queries.get_did(session, number)
        assert row is not None
        await publish_did(session, row)
    await deps.config.refresh_after_change()
    return row


async def change_did(
    deps: Deps,
    did: str,
    clinic_id: str,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.DidRow:
    """Route a configured public number to another clinic, or redescribe it."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.update_did(session, number, clinic_id, description):
            raise NotFound(f"DID {number} is not configured")
        await _publish_audit(session, audit, number)
        row = await queries.get_did(session, number)
        assert row is not None
        await publish_did(session, row)
    await deps.config.refresh_after_change()
    return row


async def remove_did(deps: Deps, did: str, audit: AuditRecorded | None = None) -> None:
    """Stop routing a public number."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        row = await queries.get_did(session, number)
        if row is None or not await directory_repository.delete_did(session, number):
            raise NotFound(f"DID {number} is not configured")
        await _publish_audit(session, audit, number)
        await publish_did(session, row, removed_at=datetime.now(UTC))
    await deps.config.refresh_after_change()


async def publish_did(
    session: AsyncSession, row: queries.DidRow, removed_at: datetime | None = None
) -> None:
    """Tell the platform a number's state (analytics labels its reports with it); a
    removed number's last clinic and description, so its past calls keep their label."""
    changed_at = removed_at or row.updated_at
    event = DidChanged(
        did=row.did,
        clinic_id=row.clinic_id,
        description=row.description,
        active=removed_at is None,
        changed_at=changed_at,
    )
    await publish(session, event, occurred_at=changed_at)


async def _publish_audit(session: AsyncSession, audit: AuditRecorded | None, key: str) -> None:
    """Publish a change's audit record, naming the number or extension as stored."""
    if audit is not None:
        await publish(session, audit.model_copy(update={"subject_id": key}))


async def find_did(deps: Deps, did: str) -> queries.DidRow:
    """One configured DID."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session:
        row = await queries.get_did(session, number)
    if row is None:
        raise NotFound(f"DID {number} is not configured")
    return row


async def add_extension(
    deps: Deps,
    extension: str,
    clinic_id: str | None,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.ExtensionRow:
    """Configure an extension (409 if it already is)."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.insert_extension(session, ext, clinic_id, description):
            raise Conflict(f"extension {ext} is already configured")
        await _publish_audit(session, audit, ext)
        row = await queries.get_extension(session, ext)
    await deps.config.refresh_after_change()
    assert row is not None
    return row


async def change_extension(
    deps: Deps,
    extension: str,
    clinic_id: str | None,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.ExtensionRow:
    """Change a configured extension's clinic or description."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.update_extension(session, ext, clinic_id, description):
            raise NotFound(f"extension {ext} is not configured")
        await _publish_audit(session, audit, ext)
        row = await queries.get_extension(session, ext)
    await deps.config.refresh_after_change()
    assert row is not None
    return row


async def remove_extension(deps: Deps, extension: str, audit: AuditRecorded | None = None) -> None:
    """Remove a configured extension (operators who have it keep it: booking owns that)."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.delete_extension(session, ext):
            raise NotFound(f"extension {ext} is not configured")
        await _publish_audit(session, audit, ext)
    await deps.config.refresh_after_change()


async def find_extension(deps: Deps, extension: str) -> queries.ExtensionRow:
    """One extension, configured or known from an operator."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session:
        row = await queries.get_extension(session, ext)
    if row is None:
        raise NotFound(f"extension {ext} is neither configured nor any operator's")
    return row
