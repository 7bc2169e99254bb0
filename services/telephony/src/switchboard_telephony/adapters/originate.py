"""Click-to-call: asking the PBX to ring the operator's extension and then dial a number.

Two ways, chosen by ``TELEPHONY_CLICK_TO_CALL``:

* ``ami`` — Asterisk's Manager Interface ``Action: Originate`` (a short connection per
  call: greeting, ``Login`` with ``Events: off``, ``Originate`` with ``Async: true``,
  ``Logoff``). The AMI user needs ``write = originate``.
* ``webhook`` — a JSON command POSTed to a configured URL, signed exactly as the PBX signs
  its webhook deliveries to us (``X-Switchboard-Signature``, the integration token).

Either answers an :class:`OriginateResult`: ``ringing`` once the PBX accepted the call
(the operator's phone rings first), else ``failed`` with the PBX's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx
from pydantic import SecretStr

from switchboard_telephony.adapters.ami import AmiEndpoint, read_message
from switchboard_telephony.domain.signing import signed_json


@dataclass(frozen=True)
class OriginateResult:
    """What the PBX said to a click-to-call."""

    status: Literal["ringing", "failed"]
    reason: str | None = None
    reference: str = field(default_factory=lambda: uuid.uuid4().hex)


class Originator(Protocol):
    """A PBX that can place a call from an extension to a number."""

    async def originate(self, extension: str, number: str, operator_id: str) -> OriginateResult:
        """Ring ``extension``; once answered, dial ``number``."""
        ...


def _action(name: str, headers: dict[str, str]) -> bytes:
    text = f"Action: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (text + "\r\n").encode()


@dataclass
class AmiOriginator:
    """``Action: Originate`` through Asterisk's AMI."""

    endpoint: AmiEndpoint
    channel_template: str = "PJSIP/{extension}"
    context: str = "from-internal"
    priority: int = 1
    caller_id_template: str = "{number} <{number}>"
    ring_timeout_seconds: int = 30
    connect_timeout: float = 10.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def originate_headers(self, extension: str, number: str, reference: str) -> dict[str, str]:
        """The ``Originate`` action's headers (the test checks exactly these)."""
        return {
            "ActionID": f"originate-{reference}",
            "Channel": self.channel_template.format(extension=extension),
            "Context": self.context,
            "Exten": number,
            "Priority": str(self.priority),
            "CallerID": self.caller_id_template.format(number=number, extension=extension),
            "Timeout": str(self.ring_timeout_seconds * 1000),
            "Async": "true",
            "Variable": f"SWITCHBOARD_ORIGINATE={reference}",
        }

    async def originate(self, extension: str, number: str, operator_id: str) -> OriginateResult:
        """Log in, send ``Originate``, read its response, log off."""
        reference = uuid.uuid4().hex
        try:
            return await asyncio.wait_for(
                self._originate(extension, number, reference), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            reason = "the PBX did not answer" if isinstance(exc, TimeoutError) else "no PBX"
            return OriginateResult("failed", f"{reason} (AMI {type(exc).__name__})", reference)

    async def _originate(self, extension: str, number: str, reference: str) -> OriginateResult:
        reader, writer = await asyncio.open_connection(self.endpoint.host, self.endpoint.port)
        try:
            greeting = await reader.readline()
            if not greeting.startswith(b"Asterisk Call Manager"):
                return OriginateResult("failed", "the peer is not an Asterisk AMI", reference)
            login_id = f"login-{next(self._ids)}"
            writer.write(
                _action(
                    "Login",
                    {
                        "ActionID": login_id,
                        "Username": self.endpoint.username,
                        "Secret": self.endpoint.secret.get_secret_value(),
                        "Events": "off",
                    },
                )
            )
            login = await self._response(reader, login_id)
            if login.get("response", "").lower() != "success":
                return OriginateResult("failed", "the PBX refused the AMI login", reference)
            headers = self.originate_headers(extension, number, reference)
            writer.write(_action("Originate", headers))
            answer = await self._response(reader, headers["ActionID"])
            logoff_id = f"logoff-{next(self._ids)}"
            writer.write(_action("Logoff", {"ActionID": logoff_id}))
            await writer.drain()
            # Asterisk says "Goodbye"; waiting for it ends the session cleanly on its side.
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(self._response(reader, logoff_id), 2.0)
            if answer.get("response", "").lower() == "success":
                return OriginateResult("ringing", None, reference)
            return OriginateResult(
                "failed", answer.get("message") or "the PBX refused the call", reference
            )
        finally:
            writer.close()

    @staticmethod
    async def _response(reader: asyncio.StreamReader, action_id: str) -> dict[str, str]:
        while True:
            message = await read_message(reader)
            if message is None:
                return {"response": "error", "message": "the PBX closed the AMI connection"}
            if "response" in message and message.get("actionid", action_id) == action_id:
                return message


@dataclass
class WebhookOriginator:
    """A signed JSON command to the PBX's (or its connector's) click-to-call URL.

    Body: ``{"type": "originate", "reference", "extension", "number", "operator_id"}``;
    any 2xx means ringing, anything else failed (the answer's ``error``/``detail`` or the
    status is the reason).
    """

    url: str
    token: SecretStr
    timeout_seconds: float = 10.0

    async def originate(self, extension: str, number: str, operator_id: str) -> OriginateResult:
        """POST the command, signed afresh."""
        reference = uuid.uuid4().hex
        body, headers = signed_json(
            self.token.get_secret_value(),
            {
                "type": "originate",
                "reference": reference,
                "extension": extension,
                "number": number,
                "operator_id": operator_id,
            },
        )
        headers["Content-Type"] = "application/json"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                answer = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            reason = f"the PBX did not answer ({type(exc).__name__})"
            return OriginateResult("failed", reason, reference)
        if answer.is_success:
            return OriginateResult("ringing", None, reference)
        reason = f"the PBX answered {answer.status_code}"
        try:
            data = answer.json()
            reason = str(data.get("error") or data.get("detail") or reason)
        except ValueError:
            pass
        return OriginateResult("failed", reason[:200], reference)
