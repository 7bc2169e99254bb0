"""Typed bind parameters of the projection's statements (built once, at import)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


def param(name: str, column: sa.Column[Any] | None = None) -> sa.BindParameter[Any]:
    """A bind parameter typed as ``column`` (text when none is given)."""
    return sa.bindparam(name, type_=column.type if column is not None else sa.Text)


def array(name: str, item: Any) -> sa.Cast[Any]:
    """A bind parameter holding a list, typed for PostgreSQL (``= ANY``, ``unnest``)."""
    return sa.cast(sa.bindparam(name, type_=pg.ARRAY(item)), pg.ARRAY(item))
