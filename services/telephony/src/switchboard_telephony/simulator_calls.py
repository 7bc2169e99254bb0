"""The calls of a simulated day: who calls whom, when, and how each call goes.

:class:`CallMaker` draws the day's calls from a :class:`~.simulator_day.SimulationConfig`:
incoming calls on the arrival curve (missed out of hours, and in the day as ``missed_rate``
needs), call-backs of the missed, other outgoing and internal calls, transfers, and each
outside number written the way PBXes write it. What the PBX then says about each call is
:mod:`.simulator`'s.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from switchboard_telephony.simulator_day import (
    HOURLY_WEIGHTS,
    CallKind,
    Disposition,
    SimClinic,
    SimulationConfig,
)

__all__ = ["CallDraft", "CallMaker"]


@dataclass
class CallDraft:
    """A call being made up; ``number_as_written`` is the outside number as the PBX writes it."""

    kind: CallKind
    clinic: SimClinic
    started_at: datetime
    caller: str
    callee: str
    extension: str
    number_as_written: str = ""
    disposition: Disposition = "answered"
    end_status: str = "answered"
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    operator_id: str | None = None
    transferred_to: str | None = None
    transferred_at: datetime | None = None
    callback_of: CallDraft | None = None
    call_id: str = ""


class CallMaker:
    """Makes up the calls of the day ``config`` describes. It draws from ``rng``, and what says
    the calls next draws on from the same one, so one seed gives one day."""

    def __init__(self, config: SimulationConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.zones = {c.clinic_id: ZoneInfo(c.time_zone) for c in config.clinics}
        pool_size = max(10, int(config.calls * 0.7))
        # Patients' mobiles; some call more than once in a day.
        self.patients = [f"+79{self.rng.randrange(10**9):09d}" for _ in range(pool_size)]

    def drafts(self) -> list[CallDraft]:
        """The day's calls in the order they start, each named by its call id."""
        c = self.config
        n_internal = round(c.calls * c.internal_rate)
        n_outgoing = round(c.calls * c.outgoing_rate)
        n_incoming = c.calls - n_internal - n_outgoing
        incoming = self._incoming(n_incoming)
        callbacks = self._callbacks(incoming, n_outgoing)
        outgoing = [self._outgoing() for _ in range(n_outgoing - len(callbacks))]
        internal = [self._internal() for _ in range(n_internal)]
        drafts = sorted(
            incoming + callbacks + outgoing + internal, key=lambda d: (d.started_at, d.caller)
        )
        for index, draft in enumerate(drafts):
            draft.call_id = f"{c.call_id_prefix}-{c.day:%Y%m%d}-{c.seed}-{index:05d}"
        return drafts

    # --- when ---------------------------------------------------------------------------------

    def _local_moment(self, clinic: SimClinic, hours: Sequence[int] | None = None) -> datetime:
        """A moment of the day in the clinic's zone, drawn from the arrival curve."""
        allowed = list(range(24)) if hours is None else list(hours)
        weights = [HOURLY_WEIGHTS[h] for h in allowed]
        hour = self.rng.choices(allowed, weights=weights)[0]
        second = self.rng.uniform(0, 3600)
        local = datetime.combine(self.config.day, time(hour), tzinfo=self.zones[clinic.clinic_id])
        return (local + timedelta(seconds=second)).astimezone(UTC)

    def _in_hours(self, clinic: SimClinic, at: datetime) -> bool:
        local = at.astimezone(self.zones[clinic.clinic_id])
        return self.config.open_hour <= local.hour < self.config.close_hour

    def _open_hours(self) -> range:
        return range(self.config.open_hour, self.config.close_hour)

    def _clinic(self) -> SimClinic:
        clinics = self.config.clinics
        return self.rng.choices(clinics, weights=[cl.weight for cl in clinics])[0]

    # --- kinds of calls ---------------------------------------------------------------------

    def _incoming(self, count: int) -> list[CallDraft]:
        drafts = []
        for _ in range(count):
            clinic = self._clinic()
            caller = self.rng.choice(self.patients)
            drafts.append(
                CallDraft(
                    kind="incoming",
                    clinic=clinic,
                    started_at=self._local_moment(clinic),
                    caller=caller,
                    callee=clinic.did,
                    extension=clinic.reception,
                    number_as_written=self._written(caller),
                )
            )
        drafts.sort(key=lambda d: d.started_at)
        # Nobody answers out of hours; during the day a share is missed so that, overall,
        # missed_rate of incoming calls are missed.
        opened = [i for i, d in enumerate(drafts) if self._in_hours(d.clinic, d.started_at)]
        closed = len(drafts) - len(opened)
        wanted = round(self.config.missed_rate * len(drafts)) - closed
        missed_in_hours = set(self.rng.sample(opened, min(len(opened), max(0, wanted))))
        for index, draft in enumerate(drafts):
            if index in missed_in_hours or not self._in_hours(draft.clinic, draft.started_at):
                self._miss(draft)
            else:
                self._answer(draft, self.rng.choice(draft.clinic.admins), wait=(2, 25))
                if draft.clinic.extensions and self.rng.random() < self.config.transfer_rate:
                    self._transfer(draft, self.rng.choice(draft.clinic.extensions))
        return drafts

    def _callbacks(self, incoming: list[CallDraft], budget: int) -> list[CallDraft]:
        drafts: list[CallDraft] = []
        for missed in incoming:
            if len(drafts) >= budget:
                break
            if missed.disposition == "answered" or self.rng.random() >= self.config.callback_rate:
                continue
            clinic = missed.clinic
            assert missed.ended_at is not None
            at = missed.ended_at + timedelta(minutes=self.rng.uniform(2, 45))
            zone = self.zones[clinic.clinic_id]
            opens = datetime.combine(self.config.day, time(self.config.open_hour), tzinfo=zone)
            at = max(at, opens.astimezone(UTC) + timedelta(minutes=self.rng.uniform(1, 30)))
            if not self._in_hours(clinic, at) or at.astimezone(zone).date() != self.config.day:
                continue  # too late today: tomorrow's problem, not this day's
            draft = CallDraft(
                kind="outgoing",
                clinic=clinic,
                started_at=at,
                caller=clinic.reception,
                callee=missed.caller,
                extension=clinic.reception,
                number_as_written=self._written(missed.caller),
                callback_of=missed,
            )
            if self.rng.random() < 0.75:
                self._answer(draft, self.rng.choice(clinic.admins), wait=(4, 20))
            else:
                self._miss(draft, statuses=("no_answer",))
            drafts.append(draft)
        return drafts

    def _outgoing(self) -> CallDraft:
        clinic = self._clinic()
        number = self.rng.choice(self.patients)
        extension = self.rng.choice((clinic.reception, *clinic.extensions))
        draft = CallDraft(
            kind="outgoing",
            clinic=clinic,
            started_at=self._local_moment(clinic, self._open_hours()),
            caller=extension,
            callee=number,
            extension=extension,
            number_as_written=self._written(number),
        )
        if self.rng.random() < 0.8:
            operator = self.rng.choice(clinic.admins) if extension == clinic.reception else None
            self._answer(draft, operator, wait=(4, 25))
        else:
            self._miss(draft, statuses=("no_answer", "busy"))
        return draft

    def _internal(self) -> CallDraft:
        clinic = self._clinic()
        phones = (clinic.reception, *clinic.extensions)
        caller = self.rng.choice(phones)
        others = [p for p in phones if p != caller] or [
            cl.reception for cl in self.config.clinics if cl.reception != caller
        ]
        callee = self.rng.choice(others) if others else caller
        draft = CallDraft(
            kind="internal",
            clinic=clinic,
            started_at=self._local_moment(clinic, self._open_hours()),
            caller=caller,
            callee=callee,
            extension=callee,
        )
        if self.rng.random() < 0.85:
            target = next((cl for cl in self.config.clinics if cl.reception == callee), None)
            operator = self.rng.choice(target.admins) if target else None
            self._answer(draft, operator, wait=(2, 12))
        else:
            self._miss(draft, statuses=("no_answer",))
        return draft

    # --- how a call goes --------------------------------------------------------------------

    def _answer(self, draft: CallDraft, operator: str | None, wait: tuple[float, float]) -> None:
        answered = draft.started_at + timedelta(seconds=self.rng.uniform(*wait))
        # Talk times are long-tailed: most calls a couple of minutes, a few twenty.
        talk = min(1800.0, max(8.0, self.rng.lognormvariate(math.log(110), 0.7)))
        draft.disposition = "answered"
        draft.end_status = "answered"
        draft.answered_at = answered
        draft.operator_id = operator
        draft.ended_at = answered + timedelta(seconds=talk)

    def _miss(self, draft: CallDraft, statuses: Sequence[str] | None = None) -> None:
        if statuses is None:
            status = (
                "busy"
                if self.rng.random() < self.config.busy_share
                else self.rng.choice(("no_answer", "no_answer", "cancel"))
            )
        else:
            status = self.rng.choice(tuple(statuses))
        ring = {"busy": (1, 3), "cancel": (3, 20), "no_answer": (20, 60)}[status]
        draft.disposition = "busy" if status == "busy" else "missed"
        draft.end_status = status
        draft.ended_at = draft.started_at + timedelta(seconds=self.rng.uniform(*ring))

    def _transfer(self, draft: CallDraft, target: str) -> None:
        assert draft.answered_at is not None and draft.ended_at is not None
        talk = (draft.ended_at - draft.answered_at).total_seconds()
        draft.transferred_to = target
        draft.transferred_at = draft.answered_at + timedelta(seconds=talk * 0.3)

    def _written(self, e164: str) -> str:
        """A Russian number the way PBXes write it: with +7, 8, 7, or spaced and dashed."""
        national = e164.removeprefix("+7")
        style = self.rng.randrange(4)
        if style == 0:
            return e164
        if style == 1:
            return "8" + national
        if style == 2:
            return "7" + national
        return f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
