"""Twilio Programmable Voice status callbacks in, generic events out (pure).

Twilio posts a form for each call-progress event it was asked for, signed in
``X-Twilio-Signature``: base64 HMAC-SHA1, key the account's Auth Token, over the full URL
it called followed by every POST parameter's name and value, sorted by name. Point every
status callback at ``https://<telephony>/api/telephony/pbx/twilio``:

* the phone number's (and the Voice SDK app's) *Call status changes* URL — Twilio sends
  only ``completed`` (or busy, no-answer, ...) for those calls;
* ``statusCallback`` with ``statusCallbackEvent="initiated ringing answered completed"`` on
  every ``<Number>``, ``<Client>`` and ``<Sip>`` the call's TwiML dials. A dialled leg does
  not know the number the call came in on, nor who dials out: add ``?did={{To}}`` to the
  URL in an incoming number's TwiML, ``?extension={{From}}`` in an operator's outgoing one
  (TwiML Bins fill the braces; the query is signed with the rest of the URL).

Extensions are Client identities and SIP users named by their number (``client:101``,
``sip:101@clinic.sip.twilio.com``). The call id is the parent call's ``CallSid``.

==========================================  ==================================================
Twilio callback                             generic event
==========================================  ==================================================
a dialled leg's ``initiated``               ``call.started``: from the caller (or the
                                            ``extension`` dialling out) to ``did`` (or to the
                                            number dialled)
its ``ringing``, to a phone                 ``call.ringing`` there
its ``in-progress``                         ``call.answered`` by the dialled phone (by the
                                            dialling ``extension`` for an outside number); a
                                            later leg answered elsewhere: the call moved there
the parent's ``queued``/``initiated``/      ``call.started`` (REST-API calls report these)
``ringing``
the parent's final status                   ``call.started`` at ``Timestamp - CallDuration``
                                            (kept only if nothing earlier came) and
                                            ``call.ended``: ``busy``, ``no_answer``,
                                            ``cancel``, ``failed``; ``completed`` says nothing
                                            of an answer, the legs do; ``RecordingUrl``
==========================================  ==================================================

Times are the ``Timestamp`` parameter (RFC 2822, whole seconds). Event ids derive from the
callback's content (``CallSid``, status, ``SequenceNumber``...): the same callback twice
dedupes downstream.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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

__all__ = [
    "CAPABILITIES",
    "SIGNATURE_HEADER",
    "TwilioAdapter",
    "endpoint_extension",
    "signature",
    "signed_request",
]

SIGNATURE_HEADER = "X-Twilio-Signature"

CAPABILITIES = Capabilities(
    pbx="Twilio (Programmable Voice)",
    connects="webhook: status callbacks of the call and of every `<Dial>` leg to "
    "`/api/telephony/pbx/twilio`, signed `X-Twilio-Signature` (HMAC-SHA1, the Auth Token)",
    recordings="yes: `RecordingUrl` of the final callback, when the call was recorded",
    operator_ids="no: the Client identity or SIP user that answered, read as an extension",
    transfers="yes: another dialled leg answering is the call moving there",
    limits="busy: a busy reception reads as missed (the parent's `completed` does not say "
    "busy); an incoming call's number and an outgoing call's extension only if the TwiML "
    "adds `?did=` / `?extension=` to the callback URL; times in whole seconds",
)

_STARTING = frozenset({"queued", "initiated", "ringing"})
_FINAL = {
    "completed": None,
    "busy": "busy",
    "no-answer": "no_answer",
    "canceled": "cancel",
    "failed": "failed",
}


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's ``X-Twilio-Signature`` of a POST to ``url`` with form ``params``."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_request(
    url: str, auth_token: str, params: Mapping[str, str], query: str = ""
) -> SignedRequest:
    """A status callback as Twilio sends it: ``params`` posted as a form to ``url`` (with
    ``query``), signed for that URL (for the simulator and the tests)."""
    full = f"{url}?{query}" if query else url
    pairs = list(params.items())
    return SignedRequest(
        url=full,
        body=urlencode(pairs).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature(auth_token, full, pairs),
        },
    )


def endpoint_extension(value: str | None) -> str | None:
    """The extension a Twilio endpoint is ("client:101", "sip:101@clinic.sip.twilio.com"
    → "101"); None for phone numbers and names that are not extensions."""
    text = (value or "").strip()
    for scheme in ("client:", "sip:"):
        if text.lower().startswith(scheme):
            user = text[len(scheme) :].split("@", 1)[0]
            return user if user.isascii() and user.isdigit() and len(user) <= 16 else None
    return None


def _url_variants(url: str) -> list[str]:
    """``url``, and the same with its default port written or left out: Twilio signs the
    URL as it called it, which a proxy in front of telephony may have spelled otherwise."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    if parts.port is None:
        other = parts._replace(netloc=f"{parts.netloc}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
    else:
        return [url]
    return [url, urlunsplit(other)]


class TwilioAdapter:
    """The Twilio status-callback adapter (see the module doc)."""

    name = "twilio"
    transport: Transport = "webhook"
    capabilities = CAPABILITIES

    def __init__(self, auth_token: SecretStr, *, call_id_prefix: str = "twilio:"):
        self._auth_token = auth_token
        self.call_id_prefix = call_id_prefix

    def verify(self, delivery: WebhookDelivery) -> Verified:
        """``X-Twilio-Signature`` over the URL and the sorted parameters, constant time."""
        given = delivery.headers.get(SIGNATURE_HEADER.lower(), "").strip()
        if not given:
            raise DeliveryRejected(f"unsigned delivery: send {SIGNATURE_HEADER}")
        params = delivery.form()
        token = self._auth_token.get_secret_value()
        if not any(
            hmac.compare_digest(given.encode(), signature(token, url, params).encode())
            for url in _url_variants(delivery.url)
        ):
            raise DeliveryRejected(
                f"{SIGNATURE_HEADER} does not match the URL, the parameters and the Auth Token"
                " (behind a proxy, set TELEPHONY_PUBLIC_BASE_URL to the URL Twilio calls)"
            )
        try:
            sent_at = _parse_time(_params(params).get("Timestamp", "")).timestamp()
        except InvalidDelivery:
            sent_at = None  # translate() says what is wrong with it
        return Verified(digest=hashlib.sha256(given.encode()).hexdigest(), sent_at=sent_at)

    def translate(self, delivery: WebhookDelivery) -> list[GenericEvent]:
        """The generic events one status callback means (see the module doc)."""
        p = _params(delivery.form())
        sid = p.get("CallSid", "").strip()
        if not sid:
            raise InvalidDelivery("CallSid missing: not a Twilio voice callback")
        if not p.get("Timestamp"):
            raise InvalidDelivery("Timestamp missing: not a status callback")
        query = dict(parse_qsl(urlsplit(delivery.url).query))
        parent = p.get("ParentCallSid", "").strip()
        call_id = f"{self.call_id_prefix}{parent or sid}"
        at = _parse_time(p["Timestamp"])
        status = p.get("CallStatus", "").strip().lower()
        digest = content_digest(p)

        def event(kind: str, **fields: str | None) -> GenericEvent:
            return generic_event("twilio", kind, call_id, at, digest, **fields)

        dialler = endpoint_extension(query.get("extension")) or endpoint_extension(p.get("From"))
        target = endpoint_extension(p.get("To"))
        did = plausible_number(query.get("did"))
        if parent:  # a leg the call's TwiML dialled
            if status == "initiated":
                if dialler:
                    callee = target or plausible_number(p.get("To"))
                    return [event("started", extension=dialler, **{"from": dialler, "to": callee})]
                caller = plausible_number(p.get("From"))
                return [event("started", did=did, extension=target, **{"from": caller, "to": did})]
            if status == "ringing" and target:
                return [event("ringing", extension=target)]
            if status == "in-progress":
                return [event("answered", extension=target or dialler)]
            return []  # the leg's own end: the parent's says how the call ended
        inbound = p.get("Direction", "").strip().lower() == "inbound"
        if dialler:
            callee = target or plausible_number(p.get("To"))
            start = {"from": dialler, "to": callee, "extension": dialler, "did": None}
        else:
            number = plausible_number(p.get("To"))
            start = {"from": plausible_number(p.get("From")), "to": number, "extension": target}
            start["did"] = number if inbound else None
        if status in _STARTING:
            return [event("started", **start)]
        if status == "in-progress":
            # Twilio picking up an incoming call (to run its TwiML) is no one answering.
            return [] if inbound else [event("answered", extension=target or dialler)]
        if status in _FINAL:
            duration = p.get("CallDuration", "0").strip()
            began = at - timedelta(seconds=int(duration) if duration.isdigit() else 0)
            return [
                generic_event("twilio", "started", call_id, began, digest, **start),
                event("ended", status=_FINAL[status], recording_url=p.get("RecordingUrl")),
            ]
        return []


def _params(pairs: Sequence[tuple[str, str]]) -> Mapping[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)
    return params


def _parse_time(value: str) -> datetime:
    """An RFC 2822 ``Timestamp`` ("Tue, 10 Mar 2026 09:00:05 +0000")."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidDelivery("Timestamp must be an RFC 2822 date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # "-0000": UTC with no claim about the zone
    return parsed.astimezone(UTC)
