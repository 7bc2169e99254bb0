"""Sessions ended before they expire, agreed on by every replica of every service.

A session token is valid until its ``exp`` on its own; ending it sooner needs shared
state, kept in Redis under the chain's key prefix:

- ``<prefix>sessions:ended:<session id>``: one session ended (logout), kept until the
  token would have expired anyway;
- ``<prefix>sessions:ended-before:<operator id>``: every session of the operator issued
  up to that moment ended (an admin ending them, the operator deactivated), kept for the
  longest a session lives.

Every request checks both with one ``MGET`` (:func:`switchboard_runtime.auth.authenticator`),
unless the service opts into remembering a session found not ended for ``remember_seconds``
(off by default): a Redis round trip per request was a tenth of a short request's CPU.
That is a bounded trade-off: a session ended through this very object (the service that
ends sessions: booking's logout, an admin ending them, deactivation) is refused at once,
and one ended elsewhere (another replica) within ``remember_seconds``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard_runtime.auth import SESSION_TTL, Session


class RevocationsUnavailable(Exception):
    """Redis could not be asked whether a session was ended."""


class SessionRevocations:
    """The ended sessions, in Redis (``redis``), under ``prefix``; with
    ``remember_seconds``, a session found not ended is taken as such for that long
    (forgotten at any end made through this object; see the module's doc)."""

    #: At most this many sessions remembered (then all forgotten, and asked again).
    REMEMBERED_AT_MOST = 10_000

    def __init__(
        self,
        redis: Redis,
        prefix: str = "",
        *,
        now: Callable[[], float] = time.time,
        remember_seconds: float = 0.0,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}sessions:"
        self._now = now
        self._remember_seconds = remember_seconds
        # Session id → until when it is known not ended; and a count of the ends made
        # here, so that an answer read before an end is not remembered after it.
        self._not_ended_until: dict[str, float] = {}
        self._ends = 0

    def _forget(self) -> None:
        self._ends += 1
        self._not_ended_until.clear()

    def _ended_key(self, session_id: str) -> str:
        return f"{self._prefix}ended:{session_id}"

    def _ended_before_key(self, operator_id: str) -> str:
        return f"{self._prefix}ended-before:{operator_id}"

    async def end(self, session: Session) -> None:
        """End one session (logout) until the moment its token expires."""
        seconds = max(1, math.ceil(session.expires_at - self._now()))
        self._forget()
        try:
            await self._redis.set(self._ended_key(session.session_id), "1", ex=seconds)
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc
        finally:
            self._forget()  # and what was read while the end was on its way

    async def end_all(self, operator_id: str) -> None:
        """End every session of ``operator_id`` issued until now; later logins are new."""
        ttl = math.ceil(SESSION_TTL.total_seconds())
        self._forget()
        try:
            await self._redis.set(self._ended_before_key(operator_id), repr(self._now()), ex=ttl)
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc
        finally:
            self._forget()

    async def is_ended(self, session: Session) -> bool:
        """Whether ``session`` was ended by :meth:`end` or :meth:`end_all`."""
        if self._remember_seconds:
            until = self._not_ended_until.get(session.session_id)
            if until is not None and self._now() < until:
                return False
        ends = self._ends
        try:
            ended, ended_before = await self._redis.mget(
                self._ended_key(session.session_id),
                self._ended_before_key(session.principal.operator_id),
            )
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc
        if ended is not None:
            return True
        if ended_before is not None and session.issued_at <= float(ended_before):
            return True
        if self._remember_seconds and ends == self._ends:
            if len(self._not_ended_until) >= self.REMEMBERED_AT_MOST:
                self._not_ended_until.clear()
            self._not_ended_until[session.session_id] = self._now() + self._remember_seconds
        return False


__all__ = ["RevocationsUnavailable", "SessionRevocations"]
