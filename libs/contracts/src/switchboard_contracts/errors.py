"""The one exception the contracts raise."""

from __future__ import annotations

__all__ = ["ContractError"]


class ContractError(ValueError):
    """A message does not satisfy the contracts: bad JSON, a bad envelope, an unknown
    ``event_type``/``schema_version``, or a payload that fails validation.

    The message says what was wrong (naming the offending fields), so it can be written as-is
    to a dead-letter record. ``event_type`` and ``schema_version`` are set when known.
    """

    def __init__(
        self,
        reason: str,
        *,
        event_type: str | None = None,
        schema_version: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type
        self.schema_version = schema_version
