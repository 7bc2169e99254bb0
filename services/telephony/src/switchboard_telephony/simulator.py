"""A clinic chain's day of PBX events, made up but realistic (pure, seeded, reproducible).

:func:`simulate_day` returns what happened (:class:`SimulatedCall`, the truth a test can
check the pipeline against) and what the PBX sends about it (:class:`Delivery`: events of the
generic JSON format, with the moment each is sent), in sending order:

* several clinics, each with its public number (DID) and a reception extension shared by
  several admins (``101`` rings for Anna, Boris and Vera), plus a few other extensions;
* incoming calls arrive on a business-hour curve in each clinic's own time zone (peaks in
  the late morning and mid-afternoon, a lunch dip, a thin night); calls outside opening
  hours are never answered, and during the day a share is missed so that
  ``missed_rate`` of all incoming calls are missed (no answer, the caller giving up, busy);
* ``callback_rate`` of the missed callers are called back from the reception later that day
  (an outgoing call to the same number, written the way the PBX writes it);
* other outgoing calls, internal calls between extensions, transfers from the reception to
  another extension;
* the PBX's lies: ``duplicate_rate`` of the events are sent twice (same ``event_id``), and
  ``late_rate`` are sent late, after events that happened after them.

The calls are made up by :mod:`.simulator_calls`; this module says them as the PBX does.
The types (:class:`SimulationConfig`, :class:`SimulatedDay`, ...) are in :mod:`.simulator_day`.
The same :class:`SimulationConfig` (seed included) always gives the same day. Used by the
``switchboard-telephony simulate`` command, by tests and by ``bench/telephony``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from switchboard_telephony.simulator_calls import CallDraft, CallMaker
from switchboard_telephony.simulator_day import (
    Delivery,
    SimulatedCall,
    SimulatedDay,
    SimulationConfig,
)

__all__ = ["simulate_day"]


def simulate_day(config: SimulationConfig) -> SimulatedDay:
    """Make the day described by ``config`` (see the module doc)."""
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not secrets
    maker = CallMaker(config, rng)
    drafts = maker.drafts()
    calls = [_truth(d) for d in drafts]
    deliveries = _Pbx(config, rng, maker.zones).deliveries(drafts)
    return SimulatedDay(
        config=config,
        calls=calls,
        deliveries=deliveries,
        clinics={cl.clinic_id: cl for cl in config.clinics},
    )


def _parties(d: CallDraft) -> dict[str, str]:
    """The numbers a call's ``call.started`` names: an outside number as the PBX wrote it, the
    dialled DID of an incoming call, the ringing or dialling extension of a call from outside
    or to it."""
    if d.kind == "incoming":
        return {
            "from": d.number_as_written,
            "to": d.clinic.did,
            "did": d.clinic.did,
            "extension": d.extension,
        }
    if d.kind == "outgoing":
        return {"from": d.caller, "to": d.number_as_written, "extension": d.extension}
    return {"from": d.caller, "to": d.callee}


def _truth(d: CallDraft) -> SimulatedCall:
    assert d.ended_at is not None
    return SimulatedCall(
        call_id=d.call_id,
        kind=d.kind,
        clinic_id=d.clinic.clinic_id,
        caller=d.caller,
        callee=d.callee,
        extension=d.extension,
        started_at=d.started_at,
        ended_at=d.ended_at,
        disposition=d.disposition,
        answered_at=d.answered_at,
        operator_id=d.operator_id,
        transferred_to=d.transferred_to,
        callback_of=d.callback_of.call_id if d.callback_of else None,
    )


class _Pbx:
    """The PBX telling the day's calls: each call's events in the generic JSON format, sent
    a little after they happen, some twice and some late, drawing on the day's ``rng``."""

    def __init__(
        self, config: SimulationConfig, rng: random.Random, zones: dict[str, ZoneInfo]
    ) -> None:
        self.config = config
        self.rng = rng
        self.zones = zones

    def events(self, d: CallDraft) -> list[tuple[datetime, dict[str, Any]]]:
        """What the PBX says about one call, each event with the moment it happened."""
        zone = self.zones[d.clinic.clinic_id]

        def event(kind: str, at: datetime, **fields: Any) -> tuple[datetime, dict[str, Any]]:
            body = {
                "type": f"call.{kind}",
                "call_id": d.call_id,
                "event_id": f"{d.call_id}:{kind}",
                # The PBX writes its local time with the offset, to the millisecond.
                "timestamp": at.astimezone(zone).isoformat(timespec="milliseconds"),
            }
            body.update({k: v for k, v in fields.items() if v is not None})
            return at, body

        out = [event("started", d.started_at, **_parties(d))]
        if d.kind != "outgoing":
            ring_at = d.started_at + timedelta(milliseconds=self.rng.randint(200, 900))
            out.append(event("ringing", ring_at, extension=d.extension))
        if d.answered_at is not None:
            out.append(
                event("answered", d.answered_at, extension=d.extension, operator_id=d.operator_id)
            )
        if d.transferred_to is not None and d.transferred_at is not None:
            out.append(
                event(
                    "transferred",
                    d.transferred_at,
                    extension=d.extension,
                    to_extension=d.transferred_to,
                )
            )
        assert d.ended_at is not None
        recording = (
            f"{self.config.recording_base_url}{d.call_id}.mp3"
            if d.disposition == "answered"
            else None
        )
        out.append(event("ended", d.ended_at, status=d.end_status, recording_url=recording))
        return out

    def deliveries(self, drafts: list[CallDraft]) -> list[Delivery]:
        """Every call's events as sent: a little after they happen, some late, some twice,
        in sending order."""
        c = self.config
        items: list[tuple[datetime, int, Delivery]] = []
        sequence = 0
        for draft in drafts:
            for at, body in self.events(draft):
                send_at = at + timedelta(milliseconds=self.rng.randint(20, 400))
                late = self.rng.random() < c.late_rate
                if late:
                    lateness = self.rng.uniform(min(1.0, c.late_max_seconds), c.late_max_seconds)
                    send_at += timedelta(seconds=lateness)
                items.append((send_at, sequence, Delivery(send_at, body, late=late)))
                sequence += 1
                if self.rng.random() < c.duplicate_rate:
                    again = send_at + timedelta(seconds=self.rng.uniform(0.2, 20.0))
                    items.append((again, sequence, Delivery(again, dict(body), duplicate=True)))
                    sequence += 1
        items.sort(key=lambda item: (item[0], item[1]))
        return [delivery for _, _, delivery in items]
