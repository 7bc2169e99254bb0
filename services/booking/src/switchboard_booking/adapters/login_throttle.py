"""Failed logins per username and per client address, in Redis so every replica agrees.

Each key is a hash ``{failures, last}`` (``last``: the booking clock's Unix seconds);
the rule deciding what they mean is :mod:`switchboard_booking.domain.login_throttle`.
Usernames are stored hashed: Redis learns nobody's login name.
"""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard_booking.domain.login_throttle import ThrottleRule

# One failure more, from zero when the last one is forgotten; atomic, so failures on
# several replicas at once are all counted. The Redis expiry only cleans up.
_RECORD_FAILURE = """
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if tonumber(ARGV[1]) - last > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'failures', 0)
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return failures
"""


class ThrottleUnavailable(Exception):
    """Redis could not be asked, so a login cannot be let through safely."""


class LoginThrottle:
    """Lockouts of usernames (``user_rule``) and client addresses (``address_rule``)."""

    def __init__(
        self, redis: Redis, prefix: str, user_rule: ThrottleRule, address_rule: ThrottleRule
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}login:"
        self._rules = {"user": user_rule, "addr": address_rule}
        self._record = redis.register_script(_RECORD_FAILURE)

    def _keys(self, username: str, address: str) -> dict[str, str]:
        user = hashlib.sha256(username.encode()).hexdigest()
        return {"user": f"{self._prefix}user:{user}", "addr": f"{self._prefix}addr:{address}"}

    async def locked_for(self, username: str, address: str, now: float) -> float:
        """Seconds until either the username or the address may try again (0: now)."""
        keys = self._keys(username, address)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys.values():
                    pipe.hmget(key, "failures", "last")
                states = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ThrottleUnavailable(repr(exc)) from exc
        waits = [
            self._rules[kind].remaining(int(failures or 0), float(last or 0), now)
            for kind, (failures, last) in zip(keys, states, strict=True)
        ]
        return max(waits)

    async def failed(self, username: str, address: str, now: float) -> None:
        """Count a failed login against both the username and the address."""
        try:
            for kind, key in self._keys(username, address).items():
                rule = self._rules[kind]
                await self._record(
                    keys=[key],
                    args=[
                        repr(now),
                        rule.forget_after_seconds,
                        math.ceil(rule.forget_after_seconds),
                    ],
                )
        except (RedisError, OSError) as exc:
            raise ThrottleUnavailable(repr(exc)) from exc

    async def succeeded(self, username: str) -> None:
        """Forget the username's failures (the address's stay: one good account must not
        clear the way for guessing others)."""
        try:
            await self._redis.delete(self._keys(username, "-")["user"])
        except (RedisError, OSError) as exc:
            raise ThrottleUnavailable(repr(exc)) from exc
