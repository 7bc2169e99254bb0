"""Pure rules of listening to call recordings through the platform.

The browser never gets the PBX's ``recording_url``: it asks analytics for
:func:`recording_path`, analytics checks who may hear the call, fetches the recording from
the PBX's recording server (only under its configured base URL) and relays it, seeking
(``Range``) included.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from switchboard_runtime.auth import Principal

#: Roles that see every call of the chain.
CHAIN_WIDE_ROLES = ("admin", "manager")

#: One byte range, the only form relayed (``bytes=0-99``, ``bytes=100-``, ``bytes=-500``).
_SINGLE_RANGE = re.compile(r"^bytes=(\d{1,18})?-(\d{1,18})?$")


def recording_path(call_id: str) -> str:
    """The platform URL the console plays a call's recording from."""
    from urllib.parse import quote

    return f"/api/analytics/calls/{quote(call_id, safe='')}/recording"


def may_see_call(viewer: Principal, admin_id: str | None, admin_call_center_id: str | None) -> bool:
    """Whether ``viewer`` may see (hear) a call whose admin is ``admin_id``.

    Admins and managers see the whole chain. An operator sees the calls they handled,
    the calls handled by someone of their own call center, and calls nobody handled
    (missed ones, which anyone may call back); never another call center's.
    """
    if viewer.role in CHAIN_WIDE_ROLES or admin_id is None:
        return True
    if admin_id == viewer.operator_id:
        return True
    return viewer.call_center_id is not None and admin_call_center_id == viewer.call_center_id


def within_base(url: str, base: str) -> bool:
    """Whether ``url`` lies under ``base`` (same scheme, host and port; path below it).

    A recording URL elsewhere is refused: the platform's credentials for the PBX must
    never be sent to another host, nor the platform be used to fetch arbitrary URLs.
    """
    target, root = urlsplit(url), urlsplit(base)
    if (target.scheme, target.netloc.lower()) != (root.scheme, root.netloc.lower()):
        return False
    if target.username or target.password or ".." in target.path.split("/"):
        return False
    prefix = root.path if root.path.endswith("/") else root.path + "/"
    return target.path.startswith(prefix)


def single_range(header: str | None) -> str | None:
    """The ``Range`` header to forward: one well-formed byte range, else ``None``.

    Anything else (several ranges, another unit, nonsense) is ignored as RFC 9110 allows:
    the whole recording is sent.
    """
    if header is None:
        return None
    text = header.strip().replace(" ", "")
    match = _SINGLE_RANGE.match(text)
    if match is None or (match.group(1) is None and match.group(2) is None):
        return None
    return text
