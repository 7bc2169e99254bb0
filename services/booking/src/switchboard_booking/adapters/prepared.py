"""Statements a booking runs every time, compiled once for asyncpg.

SQLAlchemy executes a statement by deriving its cache key from the whole statement tree,
looking up the compiled form and processing every parameter by name; for the large,
constant statements of a booking that was a fifth of the service's CPU per booking, more
than PostgreSQL takes to run them. :class:`Prepared` does that work once: the SQL text
for asyncpg and, in order, the positional parameters with their types' conversions; it
runs through the session's connection (its transaction, or none), and the rows are read
as usual (by column name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _Parameter:
    name: str
    #: Its type's conversion for asyncpg (``None``: the value as it is).
    convert: Callable[[Any], Any] | None
    #: A value the statement carries itself (a literal), or ``None``: given at each run.
    fixed: Any


@dataclass(frozen=True)
class Prepared:
    """A statement's SQL for asyncpg and its positional parameters, in order."""

    sql: str
    parameters: tuple[_Parameter, ...]

    @classmethod
    def of(cls, statement: sa.ClauseElement) -> Prepared:
        """Compile ``statement`` (no expanding parameters: arrays instead)."""
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        if compiled.positiontup is None:
            raise ValueError("asyncpg's statements take positional parameters")
        parameters = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{name!r} expands: give an array")
            convert = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            fixed = None if bind.required else bind.effective_value
            parameters.append(_Parameter(bind.key, convert, fixed))
        return cls(compiled.string, tuple(parameters))

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional arguments: ``values`` by parameter name, converted."""
        out = []
        for p in self.parameters:
            value = p.fixed if p.fixed is not None else values[p.name]
            out.append(value if p.convert is None or value is None else p.convert(value))
        return tuple(out)

    async def rows(self, session: AsyncSession, values: Mapping[str, Any]) -> list[sa.Row[Any]]:
        """Run it in ``session`` (its transaction, if any) with ``values``; every row."""
        return list((await self._run(session, values)).all())

    async def run(self, session: AsyncSession, values: Mapping[str, Any]) -> None:
        """Run one that returns no rows in ``session`` (its transaction, if any)."""
        await self._run(session, values)

    async def _run(self, session: AsyncSession, values: Mapping[str, Any]) -> sa.CursorResult[Any]:
        connection = await session.connection()
        return await connection.exec_driver_sql(self.sql, self.arguments(values))
