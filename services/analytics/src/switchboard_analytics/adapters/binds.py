"""Typed bind parameters of the projection's statements (built once, at import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


def param(name: str, column: sa.Column[Any] | None = None) -> sa.BindParameter[Any]:
    """A bind parameter typed as ``column`` (text when none is given)."""
    return sa.bindparam(name, type_=column.type if column is not None else sa.Text)


def array(name: str, item: Any) -> sa.Cast[Any]:
    """A bind parameter holding a list, typed for PostgreSQL (``= ANY``, ``unnest``)."""
    return sa.cast(sa.bindparam(name, type_=pg.ARRAY(item)), pg.ARRAY(item))


def given_rows(table: sa.Table, columns: Sequence[str]) -> sa.TableValuedAlias:
    """Rows given as one list per column of ``table`` (bind parameters ``:a_<column>``),
    as a ``FROM`` item named ``given``: a batch's rows in one statement whatever their
    number, where a list of rows as parameters is one execution per row inside
    PostgreSQL. :func:`given_params` makes its parameters."""
    return (
        sa.func.unnest(*[array(f"a_{k}", table.c[k].type) for k in columns])
        .table_valued(*[sa.column(k, table.c[k].type) for k in columns])
        .render_derived("given")
    )


def given_params(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, Any]:
    """The parameters of :func:`given_rows` for ``rows`` (a missing value is NULL)."""
    return {f"a_{k}": [row.get(k) for row in rows] for k in columns}
