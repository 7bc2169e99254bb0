"""Structured JSON logging with structlog, the same in every service.

Two rules hold for every log line, whoever writes it: phone numbers are masked
(only the last three digits stay) and secrets (tokens, passwords, authorization
headers) never appear, neither as a field nor inside a library's message text. The
call id is bound with :func:`bind_call_id` so every line written while a call is handled
carries it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|api[_-]?key)", re.IGNORECASE)
# Identifiers and counters look like digits but are not phone numbers.
_NOT_PHONES = frozenset({"timestamp", "offset", "partition", "count", "duration_ms"})
# A run of 7+ digits, optionally with a leading + and the separators people type, also
# as a URL's query string writes them (``+`` for a space, ``%2B``, ``%20``, ``%28``…).
_ESCAPE = re.compile(r"%2[0-9A-Fa-f]")
_SEPARATOR = rf"(?:[\s().+-]|{_ESCAPE.pattern})"
_PHONE = re.compile(rf"(?:\+|%2[Bb])?\d(?:{_SEPARATOR}{{0,3}}\d){{6,}}")


# A JWT (session token) wherever it appears: a query string, a cookie, a header line that
# a library logs at DEBUG (websockets' handshake, httpcore's response headers).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# ``token=…`` in a query string, ``Authorization: …`` in a header line, ``(b'x-…-token',
# b'…')`` in a header list: the value after a secret-looking name.
_SECRET_VALUE = re.compile(
    r"(?i)((?:token|secret|password|passwd|authorization|api[_-]?key|sb_session|cookie)"
    r"[\w-]*['\"]?\s*(?:[:=]|,\s*b?['\"])\s*(?:bearer\s+)?)([^\s'\";,&)]+)"
)


def mask_secrets(text: str) -> str:
    """Hide session tokens and the values of secret-looking names inside free text."""
    return _SECRET_VALUE.sub(r"\1***", _JWT.sub("***", text))


def mask_phone(text: str) -> str:
    """Mask every phone-number-like run of digits in ``text``, keeping the last three."""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", _ESCAPE.sub("", match.group(0)))
        return "***" + digits[-3:]

    return _PHONE.sub(_mask, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone(mask_secrets(value))
    if isinstance(value, dict):
        return {
            k: ("***" if isinstance(k, str) and _SECRET_KEYS.search(k) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: masks phone numbers and drops secret values."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = "***"
        elif key not in _NOT_PHONES and not key.endswith("_id"):
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and the standard library logging for one service process.

    Library loggers (aiokafka, uvicorn, sqlalchemy) go through the same processors,
    so their lines are JSON and scrubbed too.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    # The processors are changed in place: a logger used since an earlier configuration
    # is cached with that list (``cache_logger_on_first_use``), and a new list would leave
    # it on the old one (a process that configures twice, as a test session building
    # several services does; ``structlog.testing.capture_logs`` edits the current list).
    processors = structlog.get_config()["processors"]
    processors[:] = [*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
    for noisy in ("aiokafka", "kafka", "faststream", "uvicorn.access", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; use it instead of ``logging.getLogger``."""
    return structlog.get_logger(name)


@contextmanager
def bind_call_id(call_id: str | None) -> Iterator[None]:
    """Bind ``call_id`` to every log line written inside the block."""
    if call_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(call_id=call_id):
        yield
