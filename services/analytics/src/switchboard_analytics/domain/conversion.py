"""Conversion: incoming calls → answered → with a touch → with an appointment → cancelled.

Each step is the calls of the step before that also have what it names, so the funnel
only narrows:

- ``incoming``: incoming calls (calls from outside; internal calls are a call type of
  their own);
- ``answered``: of them, the answered ones;
- ``with_touch``: of them, those with a touch in the CRM (a touch names its call);
- ``with_appointment``: of them, those with an appointment booked during the call (the
  booking names the call) or from one of its touches (the booking names the touch), at
  any time after;
- ``cancelled``: of them, those whose appointments were all cancelled later (nothing the
  call booked still stands).

An appointment that names a call belongs to that call, even when it also names a touch of
another call (a call-back that booked from the first call's touch). ``appointments`` and
``appointments_cancelled`` count the appointments of the ``with_appointment`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The funnel's steps, in order: what the chart shows and every row counts.
STEPS = ("incoming", "answered", "with_touch", "with_appointment", "cancelled")
#: Each rate: (name, part, whole); 0-1 to four places, ``None`` when the whole is zero.
RATES = (
    ("answer_rate", "answered", "incoming"),
    ("touch_rate", "with_touch", "answered"),
    ("booking_rate", "with_appointment", "with_touch"),
    ("cancellation_rate", "cancelled", "with_appointment"),
    ("conversion_rate", "with_appointment", "incoming"),
)
COUNTS = (*STEPS, "appointments", "appointments_cancelled")
#: The grouping keys: operator (admin), clinic, DID (the number called), clinic-local day
#: or month.
GROUPINGS = ("admin", "clinic", "did", "day", "month")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def conversion_figures(counts: Mapping[str, int]) -> dict[str, Any]:
    """The counts of one group (or the whole period) and each step's rate."""
    figures: dict[str, Any] = {name: int(counts.get(name, 0)) for name in COUNTS}
    for name, part, whole in RATES:
        figures[name] = _share(figures[part], figures[whole])
    return figures


def csv_header(group_by: str) -> list[str]:
    """The CSV columns of a grouping: its keys, then every count and rate."""
    keys = {
        "admin": ["admin_id", "admin_name"],
        "clinic": ["clinic_id", "clinic_name"],
        "did": ["did", "did_description"],
    }
    return [*keys.get(group_by, [group_by]), *COUNTS, *(name for name, _, _ in RATES)]
