"""What the analytics API's routes share in their answers: the 422 of a refused
parameter, CSV text and responses (safe to open in a spreadsheet), the query for the audit
trail."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse


def unprocessable(detail: str) -> HTTPException:
    # 422, like FastAPI's own validation errors for the same parameters.
    return HTTPException(422, detail)


def csv_lines(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


#: Columns holding what people typed (names, tags): a spreadsheet must not run them.
FREE_TEXT = frozenset({"clinic_name", "admin_name", "contact_name", "tags"})


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet would read as a formula, quoted so it shows as typed (OWASP
    "CSV injection")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def query_details(request: Request) -> dict[str, list[str]]:
    """The request's query parameters (repeatable ones as lists), for the audit trail."""
    out: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        out.setdefault(name, []).append(value)
    return out


def csv_response(body: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
