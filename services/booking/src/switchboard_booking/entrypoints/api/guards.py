"""Who is calling: the FastAPI dependencies every router shares."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends

from switchboard_booking.domain.model import Actor
from switchboard_booking.settings import BookingSettings
from switchboard_runtime.audit import Auditor, auditor
from switchboard_runtime.auth import Principal, PrincipalDependency, authenticator
from switchboard_runtime.sessions import SessionRevocations


@dataclass(frozen=True)
class Guards:
    """``principal`` resolves the session (401 without one); ``actor`` is that operator as
    the domain rules see them; ``audit`` records what they did (the audit trail)."""

    principal: PrincipalDependency
    actor: Callable[..., Awaitable[Actor]]
    audit: Callable[..., Awaitable[Auditor]]


def guards(settings: BookingSettings, revocations: SessionRevocations) -> Guards:
    """The dependencies, reading sessions signed with the shared auth secret and not
    ended in ``revocations``."""
    principal = authenticator(lambda: settings.auth_secret.get_secret_value(), revocations)

    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hand-off to
    # another thread and back on every request for three attribute reads.
    async def actor(who: Principal = Depends(principal)) -> Actor:  # noqa: B008
        return Actor(who.operator_id, who.role, who.call_center_id)

    return Guards(principal, actor, auditor(principal, settings.trusted_proxies))
