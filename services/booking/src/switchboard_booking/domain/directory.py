"""Directory rules: time zones, opening and working hours, services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard_booking.domain.availability import WorkingHours
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import MEETING_METHODS


def check_time_zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name`` (``Europe/Moscow``); :class:`InvalidRequest` if unknown."""
    try:
        if not name or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Moscow)"
        ) from exc


def check_hours(items: Iterable[Mapping[str, Any]], start: str, end: str) -> list[WorkingHours]:
    """Validate ``[{weekday, <start>, <end>}]`` entries (times as ``HH:MM``)."""
    out = []
    for item in items:
        try:
            out.append(WorkingHours(int(item["weekday"]), _time(item[start]), _time(item[end])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequest(f"invalid hours entry {dict(item)!r}: {exc}") from exc
    return out


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def check_meeting_methods(methods: Iterable[str]) -> list[str]:
    """At least one method, each of ``in_person``, ``video``, ``phone``."""
    chosen = list(dict.fromkeys(methods))
    unknown = [m for m in chosen if m not in MEETING_METHODS]
    if not chosen or unknown:
        raise InvalidRequest(f"meeting methods must be some of {', '.join(MEETING_METHODS)}")
    return chosen


def check_questions(questions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A service's appointment questions, each id once (an answer is filed under it)."""
    chosen = [dict(q) for q in questions]
    ids = [str(q["question_id"]).strip() for q in chosen]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InvalidRequest(f"question ids must differ: {', '.join(repeated)} repeated")
    return chosen
