"""Clients: register, search, read, change, merge duplicates."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from switchboard_booking.adapters import (
    appointments_queries,
    clients_queries,
    notifications_queries,
)
from switchboard_booking.domain import commands
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.entrypoints.api.bodies import (
    ClientPatchBody,
    MergeBody,
    NewClientBody,
    given,
)
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import clients
from switchboard_booking.handlers.shared import Deps
from switchboard_phones import search_digits
from switchboard_runtime.audit import Auditor


def router(deps: Deps, guards: Guards) -> APIRouter:
    """Every ``/clients`` endpoint; each needs a session."""
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    Audit = Annotated[Auditor, Depends(guards.audit)]
    sessions = deps.sessions
    router = APIRouter(
        prefix="/api/booking", tags=["clients"], dependencies=[Depends(guards.principal)]
    )

    @router.post("/clients", status_code=status.HTTP_201_CREATED)
    async def create_client(body: NewClientBody, who: CurrentActor) -> dict[str, Any]:
        """Register a client; publishes ``ClientRegistered``."""
        client_id = await clients.register_client(deps, who, body.command())
        async with sessions() as session:
            return asdict(await clients_queries.get_client(session, client_id))

    @router.get("/clients")
    async def search_clients(
        name: Annotated[str | None, Query(max_length=200)] = None,
        phone: Annotated[str | None, Query(max_length=40)] = None,
        email: Annotated[str | None, Query(max_length=320)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Clients matching every criterion given: each word of ``name`` in the first or
        last name, ``phone`` (any format, partial) in any of their numbers, ``email``
        inside the address."""
        digits = search_digits(phone, deps.settings.default_region) if phone else None
        if phone and not digits:
            raise InvalidRequest("phone must contain digits")
        if not (name or "").strip() and not digits and not (email or "").strip():
            raise InvalidRequest("search by name, phone or email")
        async with sessions() as session:
            rows = await clients_queries.search_clients(
                session, name=name, phone=digits, email=email, limit=limit
            )
        return {"items": [asdict(r) for r in rows]}

    # Before /clients/{client_id}, which would take "merge-preview" for an id.
    @router.get("/clients/merge-preview")
    async def merge_preview(
        primary_client_id: str, duplicate_client_id: str, who: CurrentActor
    ) -> dict[str, Any]:
        """What merging would do: both records, the result, how many appointments move."""
        return await clients.preview_merge(
            deps, who, commands.MergeClients(primary_client_id, duplicate_client_id)
        )

    @router.post("/clients/merge")
    async def merge(body: MergeBody, who: CurrentActor, audit: Audit) -> dict[str, Any]:
        """Merge a duplicate into the primary; publishes ``ClientsMerged`` and the
        primary's ``ClientUpdated`` (and the audit record: ``clients.merged``)."""
        moved = await clients.merge_clients(
            deps,
            who,
            commands.MergeClients(body.primary_client_id, body.duplicate_client_id),
            audit.event(
                "clients.merged",
                "client",
                body.primary_client_id,
                {"duplicate_client_id": body.duplicate_client_id},
            ),
        )
        async with sessions() as session:
            client = await clients_queries.get_client(session, body.primary_client_id)
        return {"client": asdict(client), "appointments_moved": moved}

    @router.get("/clients/{client_id}")
    async def get_client(client_id: str, who: CurrentActor, audit: Audit) -> dict[str, Any]:
        """A client's card: details, ``upcoming`` and ``past`` appointments. Each card
        shown is on the audit trail (``client.viewed``)."""
        async with sessions() as session, session.begin():
            client = await clients_queries.get_client(session, client_id)
            history = await appointments_queries.client_appointments(
                session, client_id, who, datetime.now(UTC)
            )
            await audit.record(session, "client.viewed", "client", client_id)
        return {**asdict(client), **history}

    @router.patch("/clients/{client_id}")
    async def update_client(
        client_id: str, body: ClientPatchBody, who: CurrentActor
    ) -> dict[str, Any]:
        """Change a client's details; publishes ``ClientUpdated``."""
        values = given(body)
        if "phones" in values and values["phones"] is not None:
            values["phones"] = tuple(values["phones"])
        await clients.update_client(deps, who, commands.UpdateClient(client_id=client_id, **values))
        async with sessions() as session:
            return asdict(await clients_queries.get_client(session, client_id))

    @router.get("/clients/{client_id}/notifications")
    async def client_notifications(client_id: str) -> dict[str, Any]:
        """Every notification to the client: kind, channel, address, status (``queued``,
        ``sent``, ``failed`` or ``skipped``) with the reason, when, and the text sent;
        newest first."""
        async with sessions() as session:
            await clients_queries.get_client(session, client_id)
            return {"items": await notifications_queries.client_notifications(session, client_id)}

    return router
