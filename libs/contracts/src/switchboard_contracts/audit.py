"""The audit trail: who did what to which record, when and from where.

Every service publishes :class:`AuditRecorded` on ``platform.audit`` for the actions it
audits (a client's card viewed, a recording heard, a CSV exported, clients merged,
settings or operators changed), in the same transaction as the change it records (a read:
in a small transaction of its own). One store (analytics) keeps them append-only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from switchboard_contracts.base import Event, NonEmptyStr, Role, UtcDatetime

__all__ = ["AuditRecorded"]


class AuditRecorded(Event):
    """An audited action happened (see the services' READMEs for each one's actions)."""

    event_type: ClassVar[str] = "AuditRecorded"

    actor_id: NonEmptyStr = Field(description="The acting operator's id; the message key.")
    actor_name: str = Field(
        default="", description="Their name as their session said (names change, records not)."
    )
    actor_role: Role
    action: NonEmptyStr = Field(
        description="What was done, `<subject>.<verb>`: `client.viewed`, `clients.merged`, "
        "`recording.listened`, `call_log.exported`, `operator.changed` …"
    )
    subject_type: NonEmptyStr = Field(description="The kind of record: client, call, operator …")
    subject_id: str | None = Field(
        default=None, description="The record's id; none for an action on a list (an export)."
    )
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="What else a reader needs (the filters of an export, the fields changed); "
        "never a secret.",
    )
    occurred_at: UtcDatetime
    client_address: str | None = Field(
        default=None, description="The browser's address, as the trusted proxies tell it."
    )
    user_agent: str | None = None
