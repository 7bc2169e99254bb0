"""The one shape of a PBX adapter: what it is, how it connects, what it can tell.

Every PBX reaches telephony one of two ways, and both end on ``pbx.events.raw`` as events of
the generic JSON format (:mod:`switchboard_telephony.adapters.pbx_generic`), where the call
state machine takes over:

* a **socket** adapter is a long-running connector that logs in to the PBX's event stream
  (Asterisk AMI, FreeSWITCH Event Socket), translates each message with a pure, stateful
  translator and publishes, acks awaited, before it reads on
  (:class:`~.connector.PbxSocketConnector`);
* a **webhook** adapter is an endpoint under ``/api/telephony/pbx/<name>`` that checks the
  provider's own signature, refuses stale and replayed deliveries, and translates each
  delivery on its own, without memory of the call (:class:`WebhookAdapter`, served by
  :mod:`switchboard_telephony.entrypoints.pbx_webhooks`).

A new PBX is one module (its translator and its :class:`Capabilities`) plus its tests, a
line in the registry (:mod:`switchboard_telephony.adapters.pbx`) and, for the simulator, an
encoder of a call into the PBX's own messages (:mod:`switchboard_telephony.simulator_formats`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import parse_qsl

from switchboard_telephony.domain.signing import DeliveryRejected

__all__ = [
    "Capabilities",
    "DeliveryRejected",
    "GenericEvent",
    "InvalidDelivery",
    "PbxAdapter",
    "SignedRequest",
    "Transport",
    "Verified",
    "WebhookAdapter",
    "WebhookDelivery",
    "content_digest",
    "generic_event",
    "plausible_number",
]

_DIALLABLE = re.compile(r"^\+?[0-9][0-9\-\s()]*$")
_UNKNOWN = frozenset({"", "<unknown>", "unknown", "<none>", "anonymous"})
#: The longest ``from``/``to`` the generic format accepts (``GenericPbxEvent``).
_MAX_NUMBER_LENGTH = 64

GenericEvent = dict[str, Any]
"""One event of the generic JSON format, as a JSON-able dict."""

Transport = Literal["webhook", "socket"]


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can and cannot tell, for the README's table and for operators."""

    pbx: str
    """The PBX as people name it ("FreeSWITCH", "Mango Office")."""
    connects: str
    """How it reaches telephony, in a few words."""
    recordings: str
    operator_ids: str
    transfers: str
    limits: str = ""
    """Anything else it cannot tell."""


class PbxAdapter(Protocol):
    """What every adapter declares."""

    name: str
    """Its short name: the CLI command, the URL segment, the simulator's ``--format``."""
    transport: Transport
    capabilities: Capabilities


@dataclass(frozen=True)
class WebhookDelivery:
    """One HTTP delivery as a webhook adapter reads it.

    ``url`` is the URL the provider called, as it sees it (scheme, public host, path and
    query: some sign it); ``path`` is what follows ``/api/telephony/pbx/<name>/``.
    """

    url: str
    path: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes

    def form(self) -> list[tuple[str, str]]:
        """The body as ``application/x-www-form-urlencoded`` pairs, in the order sent."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDelivery("body is not UTF-8") from exc
        return parse_qsl(text, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery whose signature matched.

    ``digest`` names it for the replay check; ``sent_at`` (Unix seconds) is the time the
    signed data carries, checked against the replay window (None: the provider signs none).
    """

    digest: str
    sent_at: float | None


class InvalidDelivery(ValueError):
    """A signed delivery whose content cannot be read (answered 422, never a 500)."""


class WebhookAdapter(PbxAdapter, Protocol):
    """A PBX that posts its events to telephony (see the module doc)."""

    def verify(self, delivery: WebhookDelivery) -> Verified:
        """Check the provider's signature in constant time; :class:`DeliveryRejected`
        (answered 401) with a reason that never holds a secret."""
        ...

    def translate(self, delivery: WebhookDelivery) -> list[GenericEvent]:
        """The generic events a verified delivery means (none for what calls do not need);
        :class:`InvalidDelivery` if it cannot be read."""
        ...


@dataclass(frozen=True)
class SignedRequest:
    """A webhook delivery ready to send: where, the exact body bytes and the headers."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def content_digest(payload: Mapping[str, Any] | Sequence[tuple[str, str]]) -> str:
    """A short hash of a native message's content: the same message gives the same event
    ids, so a delivery sent twice (a retry, a replay after the window) dedupes downstream."""
    items = sorted(payload.items()) if isinstance(payload, Mapping) else sorted(payload)
    canonical = json.dumps(items, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def generic_event(
    source: str,
    kind: str,
    call_id: str,
    at: datetime,
    digest: str,
    **fields: str | None,
) -> GenericEvent:
    """One generic event with an id derived from the native message it came from:
    ``<source>:<call id>:<digest>:<kind>`` (fields that are None are left out)."""
    event: GenericEvent = {
        "type": f"call.{kind}",
        "call_id": call_id,
        "timestamp": at.isoformat(),
        "event_id": f"{source}:{call_id}:{digest}:{kind}",
    }
    event.update({k: v for k, v in fields.items() if v is not None and v != ""})
    return event


class FollowedCall(Protocol):
    """What :class:`FollowedCalls` needs of a translator's call."""

    call_id: str
    last_seen: datetime


CallT = TypeVar("CallT", bound=FollowedCall)


class FollowedCalls(Generic[CallT]):
    """The calls a PBX event translator (AMI, Event Socket) follows, keyed by the PBX's id of
    the call's first channel, with bounded memory: a call is forgotten when it ends, after
    ``forget_after`` without events (its end was lost; the state machine closes it by
    timeout), or when more than ``max_calls`` are open (the oldest first). The last
    ``remember_ended`` ended calls are remembered, so late events of theirs are ignored."""

    def __init__(
        self,
        *,
        call_id_prefix: str,
        max_calls: int,
        forget_after: timedelta,
        remember_ended: int,
    ) -> None:
        self.call_id_prefix = call_id_prefix
        self.max_calls = max_calls
        self.forget_after = forget_after
        self.remember_ended = remember_ended
        self._open: OrderedDict[str, CallT] = OrderedDict()
        self._ended: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def call_id(self, key: str) -> str:
        """The canonical call id of the PBX's ``key``."""
        return f"{self.call_id_prefix}{key}"

    def has_ended(self, key: str) -> bool:
        return self.call_id(key) in self._ended

    def get(self, key: str) -> CallT | None:
        return self._open.get(key)

    def add(self, key: str, call: CallT) -> CallT:
        """Follow ``call``, forgetting the oldest beyond ``max_calls``."""
        self._open[key] = call
        while len(self._open) > self.max_calls:
            self._open.popitem(last=False)
        return call

    def end(self, key: str) -> CallT | None:
        """Stop following the call and remember that it ended; the call, if it was open."""
        call = self._open.pop(key, None)
        if call is not None:
            self.remember_ended_id(call.call_id)
        return call

    def remember_ended_id(self, call_id: str) -> None:
        self._ended[call_id] = None
        while len(self._ended) > self.remember_ended:
            self._ended.popitem(last=False)

    def expire(self, now: datetime) -> None:
        """Forget the calls without an event for ``forget_after`` before ``now``."""
        cutoff = now - self.forget_after
        while self._open:
            key, call = next(iter(self._open.items()))
            if call.last_seen >= cutoff:
                break
            del self._open[key]


def plausible_number(value: str | None) -> str | None:
    """A caller id or dialled number worth passing on, as the PBX wrote it; None for
    "<unknown>", "anonymous", "s", and for one longer than the generic format carries (the
    call is kept, the number not)."""
    if value is None:
        return None
    text = value.strip()
    if text.lower() in _UNKNOWN or len(text) > _MAX_NUMBER_LENGTH:
        return None
    return text if _DIALLABLE.match(text) else None
