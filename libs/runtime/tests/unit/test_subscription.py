"""A subscription is data: its topics come from the contracts' routing of its events."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard_contracts import AppointmentBooked, CallStarted, CallTagged, TouchUpdated
from switchboard_runtime.messaging import Subscription


async def _handler(*_: Any) -> None:
    return None


def test_a_subscription_reads_the_topics_of_its_events() -> None:
    table = Subscription(group="g", handlers={CallTagged: _handler, CallStarted: _handler})
    assert table.topics == ("telephony.calls",)
    assert table.event_types == (CallTagged, CallStarted)
    batch = Subscription(group="b", events=(TouchUpdated, AppointmentBooked), batch=_handler)
    assert batch.topics == ("booking.appointments", "crm.touches")


def test_a_subscription_has_handlers_or_one_batch_handler() -> None:
    with pytest.raises(ValueError):
        Subscription(group="g")
    with pytest.raises(ValueError):
        Subscription(group="g", batch=_handler)  # names no events
    with pytest.raises(ValueError):
        Subscription(group="g", handlers={CallTagged: _handler}, batch=_handler)
