"""Mango Office's realtime API: its signed event deliveries in, generic events out (pure).

Mango posts each event to ``<the configured URL>/events/<kind>`` as a form with three
fields: ``vpbx_api_key`` (the VPBX's unique code), ``json`` (the event) and ``sign`` =
lower-case hex ``sha256(vpbx_api_key + json + vpbx_api_salt)``; the salt never travels.
Point Mango at ``https://<telephony>/api/telephony/pbx/mango``.

A call is an ``entry_id``; each leg of it (the IVR, a phone rung, a transfer's new leg) a
``call_id`` with ``Appeared`` → ``Connected`` → ``Disconnected`` states, and
``/events/summary`` closes the call:

============================================  ================================================
Mango event                                   generic event
============================================  ================================================
``events/call`` ``Appeared`` of a leg from    ``call.started`` (from ``from.number``, to the
outside (no ``from.extension``)               line ``to.line_number``); at a phone
                                              (``location: abonent``): ``call.ringing`` there
``Appeared`` of a leg from a phone            ``call.started`` (from ``from.extension``, to
(``from.extension``)                          ``to.extension`` or ``to.number``); to a phone:
                                              ``call.ringing`` there
``Connected`` at a phone                      ``call.answered`` by ``to.extension`` (an outgoing
                                              leg: by ``from.extension``); a later one by
                                              another phone is the call moving there
``events/summary``                            ``call.ended`` (``entry_result`` 1: answered,
                                              else from ``disconnect_reason``)
============================================  ================================================

Each delivery is translated on its own (several replicas, no memory of the call): a call
has many ``Appeared`` legs, and the state machine keeps the earliest start. A consultation
leg of an attended transfer (phone to phone, ``from.taken_from_call_id`` set) is left out:
the transfer shows when the caller is connected to the consulted phone. Event ids derive
from the event's content: the same delivery twice dedupes downstream.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr

from switchboard_telephony.adapters.pbx.base import (
    Capabilities,
    DeliveryRejected,
    GenericEvent,
    InvalidDelivery,
    SignedRequest,
    Transport,
    Verified,
    WebhookDelivery,
    content_digest,
    generic_event,
    plausible_number,
)

__all__ = ["CAPABILITIES", "MangoAdapter", "disconnect_status", "sign", "signed_request"]

CAPABILITIES = Capabilities(
    pbx="Mango Office",
    connects="webhook: Mango's realtime API posts `events/call` and `events/summary` to "
    "`/api/telephony/pbx/mango/...`, signed `sha256(vpbx_api_key + json + vpbx_api_salt)`",
    recordings="no: `events/recording` gives a recording id, fetched through Mango's API "
    "(not done)",
    operator_ids="no: the employee's extension (who shares it comes from the directory)",
    transfers="yes: blind and consultative, when the caller is connected to the new phone",
    limits="times in whole seconds; the end's reason only as Mango's `disconnect_reason` "
    "groups (11xx, 2xxx, 32xx, 42xx, 5xxx)",
)

_FIELDS = ("vpbx_api_key", "sign", "json")


def sign(api_key: str, payload: str, salt: str) -> str:
    """Mango's ``sign`` of ``payload`` (the ``json`` field's exact text)."""
    return hashlib.sha256((api_key + payload + salt).encode()).hexdigest()


def disconnect_status(reason: Any) -> str:
    """The generic status of an unanswered call from Mango's ``disconnect_reason``.

    1110 (the caller hung up) is "cancel"; other 11xx (normal ends) "no_answer"; 42xx (the
    number cannot be reached now: busy or unavailable) "busy"; 2xxx (billing limits), 32xx
    (wrong number) and 5xxx (overload, technical trouble) "failed".
    """
    code = str(reason or "").strip()
    if code == "1110":
        return "cancel"
    if code.startswith("42"):
        return "busy"
    if code[:1] in ("2", "5") or code.startswith("32"):
        return "failed"
    return "no_answer"


def signed_request(
    base_url: str, api_key: str, salt: str, path: str, event: Mapping[str, Any]
) -> SignedRequest:
    """A delivery as Mango sends it: ``event`` posted to ``<base_url>/<path>`` as the form
    fields ``vpbx_api_key``, ``sign`` and ``json`` (for the simulator and the tests)."""
    payload = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    body = urlencode(
        {"vpbx_api_key": api_key, "sign": sign(api_key, payload, salt), "json": payload}
    ).encode()
    return SignedRequest(
        url=f"{base_url.rstrip('/')}/{path.lstrip('/')}",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


class MangoAdapter:
    """The Mango Office webhook adapter (see the module doc)."""

    name = "mango"
    transport: Transport = "webhook"
    capabilities = CAPABILITIES

    def __init__(self, api_key: SecretStr, api_salt: SecretStr, *, call_id_prefix: str = "mango:"):
        self._api_key = api_key
        self._api_salt = api_salt
        self.call_id_prefix = call_id_prefix

    def verify(self, delivery: WebhookDelivery) -> Verified:
        """The ``vpbx_api_key`` and ``sign`` fields, compared in constant time."""
        fields = _form(delivery)
        if any(name not in fields for name in _FIELDS):
            raise DeliveryRejected(
                "unsigned delivery: send the form fields vpbx_api_key, json and sign"
            )
        key = self._api_key.get_secret_value()
        if not hmac.compare_digest(fields["vpbx_api_key"].encode(), key.encode()):
            raise DeliveryRejected("vpbx_api_key is not this chain's VPBX")
        expected = sign(key, fields["json"], self._api_salt.get_secret_value())
        if not hmac.compare_digest(fields["sign"].strip().lower().encode(), expected.encode()):
            raise DeliveryRejected("sign does not match the json and the VPBX's salt")
        return Verified(digest=expected, sent_at=_sent_at(fields["json"]))

    def translate(self, delivery: WebhookDelivery) -> list[GenericEvent]:
        """The generic events of ``events/call`` and ``events/summary``; none for the other
        kinds (recording, dtmf, sms: calls need nothing from them)."""
        kind = delivery.path.strip("/")
        if kind not in ("events/call", "events/summary"):
            return []
        data = _event(_form(delivery)["json"])
        entry = str(data.get("entry_id") or "").strip()
        if not entry:
            raise InvalidDelivery("entry_id missing: every call event names its call")
        call_id = f"{self.call_id_prefix}{entry}"
        digest = content_digest(data)
        if kind == "events/summary":
            return self._summary(data, call_id, digest)
        return self._call(data, call_id, digest)

    def _call(self, data: Mapping[str, Any], call_id: str, digest: str) -> list[GenericEvent]:
        state = str(data.get("call_state") or "")
        at = _time(data.get("timestamp"), "timestamp")
        source, target = _party(data.get("from")), _party(data.get("to"))
        caller_ext, target_ext = _ext(source), _ext(target)
        at_phone = str(data.get("location") or "") == "abonent"
        if caller_ext and target_ext and source.get("taken_from_call_id"):
            return []  # an attended transfer's consultation: not the caller's call

        def event(kind: str, **fields: str | None) -> GenericEvent:
            return generic_event("mango", kind, call_id, at, digest, **fields)

        if state == "Appeared":
            if caller_ext:
                callee = target_ext or plausible_number(target.get("number"))
                out = [event("started", extension=caller_ext, **{"from": caller_ext, "to": callee})]
            else:
                line = plausible_number(target.get("line_number"))
                callee = line or plausible_number(target.get("number"))
                caller = plausible_number(source.get("number"))
                out = [event("started", did=line, **{"from": caller, "to": callee})]
            if target_ext and at_phone:
                out.append(event("ringing", extension=target_ext))
            return out
        if state == "Connected" and at_phone:
            if target_ext:
                return [event("answered", extension=target_ext)]
            if caller_ext:  # an outgoing leg: the outside number picked up
                return [event("answered", extension=caller_ext)]
        return []  # OnHold, Disconnected (the summary ends the call), the IVR answering

    def _summary(self, data: Mapping[str, Any], call_id: str, digest: str) -> list[GenericEvent]:
        at = _time(data.get("end_time"), "end_time")
        answered = str(data.get("entry_result", "")).strip() == "1"
        status = "answered" if answered else disconnect_status(data.get("disconnect_reason"))
        return [generic_event("mango", "ended", call_id, at, digest, status=status)]


def _form(delivery: WebhookDelivery) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in delivery.form():
        fields.setdefault(name, value)
    return fields


def _event(payload: str) -> Mapping[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidDelivery(f"json is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidDelivery("json must be an object")
    return data


def _sent_at(payload: str) -> float | None:
    """The event's own time (``timestamp``, a summary's ``end_time``): what the signature
    vouches for, checked against the replay window."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name in ("timestamp", "end_time"):
        try:
            return float(data[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _time(value: Any, name: str) -> datetime:
    """Mango's times: Unix seconds (a number or a numeric string)."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidDelivery(f"{name} must be Unix seconds") from exc


def _party(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _ext(party: Mapping[str, Any]) -> str | None:
    text = str(party.get("extension") or "").strip()
    return text if text.isascii() and text.isdigit() and len(text) <= 16 else None
