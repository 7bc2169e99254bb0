"""PBX adapters: every way a PBX reaches telephony, one module per PBX (see :mod:`.base`).

:data:`CAPABILITIES` lists what each adapter can tell, in the order of the README's table;
:data:`WEBHOOK_ADAPTERS` names the cloud PBXs with an endpoint of their own (``bootstrap``
builds those whose secrets are configured).
"""

from __future__ import annotations

from switchboard_telephony.adapters.pbx import freeswitch, mango, twilio
from switchboard_telephony.adapters.pbx.base import Capabilities

__all__ = ["CAPABILITIES", "WEBHOOK_ADAPTERS", "capabilities_table"]

GENERIC = Capabilities(
    pbx="Any PBX that can post JSON",
    connects="webhook: the generic format to `/api/telephony/pbx/events`, signed "
    "`X-Switchboard-Signature` (HMAC-SHA256, the integration token); or records written "
    "straight onto `pbx.events.raw`",
    recordings="yes: `recording_url` of `call.ended`",
    operator_ids="yes: `operator_id` of `call.answered`",
    transfers="yes: `call.transferred`, or the target's `call.answered`",
)
ASTERISK = Capabilities(
    pbx="Asterisk (12+)",
    connects="`switchboard-telephony ami`: a client of the Manager Interface (port 5038), "
    "publishing to `pbx.events.raw`",
    recordings="no: the AMI does not know them",
    operator_ids="no: the extension that answered (who shares it comes from the directory)",
    transfers="blind and answered-elsewhere: yes; `AttendedTransfer` between two calls: no",
    limits="events sent while the connector was away; `Cdr` events fill in calls it missed",
)

CAPABILITIES: dict[str, Capabilities] = {
    "generic": GENERIC,
    "asterisk": ASTERISK,
    "freeswitch": freeswitch.CAPABILITIES,
    "mango": mango.CAPABILITIES,
    "twilio": twilio.CAPABILITIES,
}
"""Every adapter, by its short name (the CLI command, URL segment or simulator format)."""

WEBHOOK_ADAPTERS = ("mango", "twilio")
"""The cloud PBXs with an endpoint of their own under ``/api/telephony/pbx/<name>``."""


def capabilities_table() -> str:
    """The README's table of adapters (a test checks the README shows exactly this)."""
    rows = [
        "| PBX | adapter | how it connects | recordings | operator ids | transfers | also |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in CAPABILITIES.items():
        cells = [c.pbx, f"`{name}`", c.connects, c.recordings, c.operator_ids, c.transfers]
        rows.append("| " + " | ".join([*cells, c.limits or "—"]) + " |")
    return "\n".join(rows) + "\n"
