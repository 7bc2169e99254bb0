"""Which extensions an operator's console listens to: the directory decides, not the client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorRecord:
    """An operator as notify's projection of booking's directory knows them."""

    operator_id: str
    name: str
    role: str
    extension: str | None
    active: bool


class OperatorInactive(Exception):
    """The directory says this operator is deactivated: no live session for them."""


def resolve_extensions(
    record: OperatorRecord | None, token_extension: str | None
) -> tuple[frozenset[str], str]:
    """The extensions a session listens to, and where that came from.

    The directory (``OperatorChanged``) wins whenever it knows the operator — even when it
    says "no extension"; the signed token's extension claim is the fallback for operators
    the projection has not seen yet. Nothing the client sends is ever consulted.
    Raises :class:`OperatorInactive` for a deactivated operator.
    """
    if record is None:
        return (frozenset({token_extension}) if token_extension else frozenset()), "token"
    if not record.active:
        raise OperatorInactive(record.operator_id)
    return (frozenset({record.extension}) if record.extension else frozenset()), "directory"
