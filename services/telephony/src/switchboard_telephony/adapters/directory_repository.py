"""Writing DIDs, extensions, the operator projection and integration settings.

Every write here bumps ``config_version`` in the same transaction, which is how each
replica's :class:`~switchboard_telephony.adapters.config_cache.ConfigCache` learns that
it must reload.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import Envelope, OperatorChanged
from switchboard_runtime.directory import project_operator
from switchboard_runtime.secret_box import SecretBox
from switchboard_telephony.adapters.tables import (
    config_version,
    dids,
    extensions,
    integration_settings,
    operators,
)
from switchboard_telephony.domain.integrations import Integration, IntegrationSettings


async def bump_version(session: AsyncSession) -> None:
    """Mark the configuration as changed (commits with the caller's transaction)."""
    await session.execute(
        sa.update(config_version)
        .where(config_version.c.id == 1)
        .values(version=config_version.c.version + 1)
    )


async def read_version(session: AsyncSession) -> int:
    """The configuration's current version."""
    value = await session.scalar(
        sa.select(config_version.c.version).where(config_version.c.id == 1)
    )
    return int(value or 0)


async def insert_did(
    session: AsyncSession, did: str, clinic_id: str, description: str | None
) -> bool:
    """Add a DID; False when it is already configured."""
    inserted = await session.scalar(
        pg_insert(dids)
        .values(did=did, clinic_id=clinic_id, description=description)
        .on_conflict_do_nothing()
        .returning(dids.c.did)
    )
    if inserted is not None:
        await bump_version(session)
    return inserted is not None


async def update_did(
    session: AsyncSession, did: str, clinic_id: str, description: str | None
) -> bool:
    """Change a DID's clinic and description; False when it is not configured."""
    result = await session.execute(
        sa.update(dids)
        .where(dids.c.did == did)
        .values(clinic_id=clinic_id, description=description, updated_at=sa.func.now())
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        await bump_version(session)
    return changed


async def delete_did(session: AsyncSession, did: str) -> bool:
    """Remove a DID; False when it is not configured."""
    result = await session.execute(sa.delete(dids).where(dids.c.did == did))
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        await bump_version(session)
    return changed


async def insert_extension(
    session: AsyncSession, extension: str, clinic_id: str | None, description: str | None
) -> bool:
    """Add an extension; False when it is already configured."""
    inserted = await session.scalar(
        pg_insert(extensions)
        .values(extension=extension, clinic_id=clinic_id, description=description)
        .on_conflict_do_nothing()
        .returning(extensions.c.extension)
    )
    if inserted is not None:
        await bump_version(session)
    return inserted is not None


async def update_extension(
    session: AsyncSession, extension: str, clinic_id: str | None, description: str | None
) -> bool:
    """Change an extension's clinic and description; False when it is not configured."""
    result = await session.execute(
        sa.update(extensions)
        .where(extensions.c.extension == extension)
        .values(clinic_id=clinic_id, description=description, updated_at=sa.func.now())
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        await bump_version(session)
    return changed


async def delete_extension(session: AsyncSession, extension: str) -> bool:
    """Remove a configured extension; False when it is not configured."""
    result = await session.execute(sa.delete(extensions).where(extensions.c.extension == extension))
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        await bump_version(session)
    return changed


async def save_operator(session: AsyncSession, envelope: Envelope[OperatorChanged]) -> bool:
    """Insert or replace an operator, unless a newer change of it is already stored.

    Returns whether the row changed.
    """
    written = await project_operator(session, operators, envelope)
    if written:
        await bump_version(session)
    return written


def _token_context(integration: str) -> str:
    # Binds a sealed token to its row: copied to another integration it does not open.
    return f"integration_settings.token:{integration}"


def _open_token(box: SecretBox, integration: str, stored: str | None) -> str | None:
    if stored is None:
        return None
    if not box.is_sealed(stored):
        return stored  # written by a release before encryption; rotate-secrets seals it
    return box.open(stored, _token_context(integration))


def _settings_from_row(row: sa.Row[tuple[object, ...]], box: SecretBox) -> IntegrationSettings:
    return IntegrationSettings(
        integration=row.integration,
        enabled=row.enabled,
        call_data_url=row.call_data_url,
        request_data_url=row.request_data_url,
        integration_id=row.integration_id,
        token=_open_token(box, str(row.integration), row.token),
        time_lag_minutes=row.time_lag_minutes,
    )


async def load_integration(
    session: AsyncSession, integration: Integration, box: SecretBox, *, for_update: bool = False
) -> tuple[IntegrationSettings, datetime | None]:
    """An integration's settings, its token opened with ``box``, and when they were last
    changed (disabled and empty, with no time, if never saved)."""
    query = sa.select(integration_settings).where(integration_settings.c.integration == integration)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return IntegrationSettings(integration=integration), None
    return _settings_from_row(row, box), row.updated_at


async def integration_enabled(session: AsyncSession, integration: Integration) -> bool:
    """Whether the integration is saved and enabled (its token is not read)."""
    enabled = await session.scalar(
        sa.select(integration_settings.c.enabled).where(
            integration_settings.c.integration == integration
        )
    )
    return bool(enabled)


async def load_integrations(session: AsyncSession, box: SecretBox) -> list[IntegrationSettings]:
    """Every saved integration's settings (tokens opened with ``box``)."""
    rows = (await session.execute(sa.select(integration_settings))).all()
    return [_settings_from_row(r, box) for r in rows]


async def reseal_tokens(session: AsyncSession, box: SecretBox) -> list[str]:
    """Seal again, with the current key, every stored token that is plaintext or sealed with
    an older key; returns the integrations changed. The tokens themselves stay the same."""
    rows = (
        await session.execute(
            sa.select(integration_settings.c.integration, integration_settings.c.token)
            .where(integration_settings.c.token.is_not(None))
            .with_for_update()
        )
    ).all()
    changed = []
    for integration, stored in rows:
        if not box.needs_reseal(stored):
            continue
        plain = _open_token(box, integration, stored)
        assert plain is not None
        await session.execute(
            sa.update(integration_settings)
            .where(integration_settings.c.integration == integration)
            .values(token=box.seal(plain, _token_context(integration)))
        )
        changed.append(str(integration))
    return changed


async def save_integration(
    session: AsyncSession, settings: IntegrationSettings, box: SecretBox, *, updated_by: str
) -> datetime:
    """Insert or replace an integration's settings, the token sealed with ``box``; returns
    the change's time."""
    values = {
        "integration": settings.integration,
        "enabled": settings.enabled,
        "call_data_url": settings.call_data_url,
        "request_data_url": settings.request_data_url,
        "integration_id": settings.integration_id,
        "token": (
            box.seal(settings.token, _token_context(settings.integration))
            if settings.token
            else None
        ),
        "time_lag_minutes": settings.time_lag_minutes,
        "updated_by": updated_by,
        "updated_at": sa.func.now(),
    }
    stmt = pg_insert(integration_settings).values(values)
    updated_at = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[integration_settings.c.integration],
            set_={k: stmt.excluded[k] for k in values if k != "integration"},
        ).returning(integration_settings.c.updated_at)
    )
    await bump_version(session)
    assert isinstance(updated_at, datetime)
    return updated_at
