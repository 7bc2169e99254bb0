"""Open pop-ups in Redis, changed and fanned out atomically by Lua scripts.

Every replica shares this state, so it does not matter which pod consumed an event or holds
a console's WebSocket. Per call (all keys under the deployment's prefix ``P``):

* ``P call:<id>`` — a hash: ``status`` (``open`` | ``closed`` | ``ignored``), ``version``,
  ``data`` (call details JSON), ``ident`` (identification JSON), ``closed`` (close JSON);
  TTL ``popup_ttl`` while open, ``closed_ttl`` once closed;
* ``P call:<id>:exts`` — the extensions it rang on;
* ``P ext:<extension>:open`` — a sorted set of the calls open there (score: ring time), read
  when a console (re)connects;
* ``P pending`` — a sorted set of the open calls nobody has identified yet (score: the
  moment, in microseconds of Redis' clock, after which the pop-up shows the number as
  unknown); any replica's sweeper settles the due ones (:meth:`PopupStore.settle_unidentified`).

Identification carries the moment it was made (``ident_at``): an older one never replaces a
newer one, whatever order crm-touch's events arrive in; the provisional "unknown" of the
sweeper counts as the oldest of all, so any real identification replaces it.

Channels: ``P ext:<extension>`` carries pop-ups for that extension only (privacy: a replica
hands them to that extension's sessions and no one else); ``P closes`` carries closes, which
name no caller and reach only sessions that show the call; ``P directory`` carries operator
changes. Each script changes the state and publishes in one step, so a message is never
published for a change that did not happen, and ``version`` (microseconds from Redis' clock,
strictly increasing per call) lets a session drop anything older than what it has.

The scripts touch keys they compute from the prefix: Redis standalone or Sentinel, not
Cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from switchboard_notify.adapters.current_calls import LUA_FUNCTIONS
from switchboard_notify.domain.popups import ClosedMessage, PopupMessage

_COMMON = (
    LUA_FUNCTIONS
    + r"""
local function popup_msg(call_id, version, ext, data, ident)
  return '{"kind":"popup","call_id":' .. cjson.encode(call_id) .. ',"version":' .. version ..
    ',"extension":' .. cjson.encode(ext) .. ',"call":' .. (data or 'null') ..
    ',"ident":' .. (ident or 'null') .. '}'
end
local function closed_msg(call_id, version, close)
  return '{"kind":"closed","call_id":' .. cjson.encode(call_id) .. ',"version":' .. version ..
    ',"close":' .. close .. '}'
end
local function identify(key, exts_key, call_id, ident, at, ttl)
  local stored_at = redis.call('HGET', key, 'ident_at')
  if stored_at and tonumber(stored_at) > tonumber(at) then return 0 end
  redis.call('ZREM', P .. 'pending', call_id)
  if redis.call('HGET', key, 'ident') == ident then return 0 end
  redis.call('HSET', key, 'ident', ident, 'ident_at', at)
  redis.call('EXPIRE', key, ttl, 'NX')
  current_ident(call_id, ident)  -- the answered call's panel shows it too
  if redis.call('HGET', key, 'status') ~= 'open' then return 0 end
  local version = bump(key)
  local data = redis.call('HGET', key, 'data')
  for _, e in ipairs(redis.call('SMEMBERS', exts_key)) do
    redis.call('PUBLISH', P .. 'ext:' .. e, popup_msg(call_id, version, e, data, ident))
  end
  return 1
end
local function close_call(key, exts_key, call_id, close, ttl)
  redis.call('HSET', key, 'status', 'closed', 'closed', close)
  redis.call('ZREM', P .. 'pending', call_id)
  local version = bump(key)
  for _, ext in ipairs(redis.call('SMEMBERS', exts_key)) do
    redis.call('ZREM', P .. 'ext:' .. ext .. ':open', call_id)
  end
  redis.call('EXPIRE', key, ttl)
  redis.call('EXPIRE', exts_key, ttl)
  redis.call('PUBLISH', P .. 'closes', closed_msg(call_id, version, close))
end
"""
)

# KEYS: call, exts, ext-open, pending.
# ARGV: P, call_id, extension, data, full ('1'|'0'), ttl, identification bound (µs).
_RING = (
    _COMMON
    + r"""
local key, exts_key, open_key, pending_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local call_id, ext, data, full, ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local status = redis.call('HGET', key, 'status')
if status == 'closed' or status == 'ignored' then return 0 end
if status ~= 'open' and not redis.call('HGET', key, 'ident') then
  local now = redis.call('TIME')
  local due = tonumber(now[1]) * 1000000 + tonumber(now[2]) + tonumber(ARGV[7])
  redis.call('ZADD', pending_key, string.format('%.0f', due), call_id)
end
local changed = false
local current = redis.call('HGET', key, 'data')
if (full == '1' or not current) and current ~= data then
  redis.call('HSET', key, 'data', data)
  current = data
  changed = status == 'open'
end
local added = redis.call('SADD', exts_key, ext)
if status ~= 'open' then redis.call('HSET', key, 'status', 'open') end
redis.call('EXPIRE', key, ttl)
redis.call('EXPIRE', exts_key, ttl)
if added == 0 and not changed and status == 'open' then return 0 end
local version = bump(key)
local t = redis.call('TIME')
redis.call('ZADD', open_key, t[1], call_id)
redis.call('EXPIRE', open_key, ttl)
local ident = redis.call('HGET', key, 'ident')
local targets = {ext}
if changed then targets = redis.call('SMEMBERS', exts_key) end
for _, e in ipairs(targets) do
  redis.call('PUBLISH', P .. 'ext:' .. e, popup_msg(call_id, version, e, current, ident))
end
return 1
"""
)

# KEYS: call. ARGV: P, call_id, ttl.
_IGNORE = r"""
local status = redis.call('HGET', KEYS[1], 'status')
if status then return 0 end
redis.call('HSET', KEYS[1], 'status', 'ignored')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS: call, exts. ARGV: P, call_id, ident, ttl, ident_at (µs since the epoch).
_IDENTIFY = (
    _COMMON
    + r"""
return identify(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[5], tonumber(ARGV[4]))
"""
)

# KEYS: pending. ARGV: P, provisional ident, ttl, most to settle.
_SETTLE = (
    _COMMON
    + r"""
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local settled = 0
for _, call_id in ipairs(due) do
  redis.call('ZREM', KEYS[1], call_id)
  local key = P .. 'call:' .. call_id
  if redis.call('HGET', key, 'status') == 'open' and not redis.call('HGET', key, 'ident') then
    settled = settled + identify(key, key .. ':exts', call_id, ARGV[2], '0', tonumber(ARGV[3]))
  end
end
return settled
"""
)

# KEYS: call, exts. ARGV: P, call_id, close, closed_ttl.
_CLOSE = (
    _COMMON
    + r"""
local key, exts_key = KEYS[1], KEYS[2]
local status = redis.call('HGET', key, 'status')
if status == 'closed' then return {0, redis.call('HGET', key, 'closed')} end
if status == 'ignored' then return {0, false} end
-- Also when nothing is known (never rang here, or Redis lost its data): remember the close
-- so a late CallRinging stays shut, and publish it for sessions that still show the call.
close_call(key, exts_key, ARGV[2], ARGV[3], tonumber(ARGV[4]))
return {1, ARGV[3]}
"""
)

# KEYS: call, exts. ARGV: P, call_id, close, closed_ttl, taker's extensions...
_TAKE = (
    _COMMON
    + r"""
local key, exts_key = KEYS[1], KEYS[2]
local matched = false
for i = 5, #ARGV do
  if redis.call('SISMEMBER', exts_key, ARGV[i]) == 1 then matched = ARGV[i]; break end
end
if not matched then return {-1, false, false} end
local status = redis.call('HGET', key, 'status')
if status == 'closed' then return {0, redis.call('HGET', key, 'closed'), matched} end
if status ~= 'open' then return {-1, false, false} end
close_call(key, exts_key, ARGV[2], ARGV[3], tonumber(ARGV[4]))
return {1, ARGV[3], matched}
"""
)

# ARGV: P, extensions (JSON list), call ids to check (JSON list), popup_ttl, max per extension.
_SNAPSHOT = (
    _COMMON
    + r"""
local exts, known = cjson.decode(ARGV[2]), cjson.decode(ARGV[3])
local ttl, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = tonumber(redis.call('TIME')[1])
local out = {}
for _, ext in ipairs(exts) do
  local open_key = P .. 'ext:' .. ext .. ':open'
  redis.call('ZREMRANGEBYSCORE', open_key, '-inf', '(' .. (now - ttl))
  for _, call_id in ipairs(redis.call('ZREVRANGE', open_key, 0, limit - 1)) do
    local key = P .. 'call:' .. call_id
    local h = redis.call('HMGET', key, 'status', 'version', 'data', 'ident')
    if h[1] == 'open' then
      out[#out + 1] = popup_msg(call_id, h[2], ext, h[3] or nil, h[4] or nil)
    else
      redis.call('ZREM', open_key, call_id)
    end
  end
end
for _, call_id in ipairs(known) do
  local h = redis.call('HMGET', P .. 'call:' .. call_id, 'status', 'version', 'closed')
  if h[1] == 'closed' then out[#out + 1] = closed_msg(call_id, h[2], h[3]) end
end
return out
"""
)


@dataclass(frozen=True)
class CloseResult:
    """What a close or take did: ``outcome`` 1 closed now, 0 already closed, -1 not yours/open."""

    outcome: int
    close: dict[str, Any] | None
    extension: str | None = None


class PopupStore:
    """The shared pop-up state (see module doc); every method is one atomic script."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        popup_ttl: int,
        closed_ttl: int,
        identification_timeout: float = 2.0,
    ):
        self.redis = redis
        self.prefix = prefix
        self.popup_ttl = popup_ttl
        self.closed_ttl = closed_ttl
        self.identification_timeout = identification_timeout
        self._ring = redis.register_script(_RING)
        self._ignore = redis.register_script(_IGNORE)
        self._identify = redis.register_script(_IDENTIFY)
        self._settle = redis.register_script(_SETTLE)
        self._close = redis.register_script(_CLOSE)
        self._take = redis.register_script(_TAKE)
        self._snapshot = redis.register_script(_SNAPSHOT)

    # Keys and channels -----------------------------------------------------------------

    def _call(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    def _exts(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}:exts"

    @property
    def _pending(self) -> str:
        return f"{self.prefix}pending"

    def extension_channel(self, extension: str) -> str:
        """The channel carrying pop-ups for ``extension``."""
        return f"{self.prefix}ext:{extension}"

    @property
    def extension_pattern(self) -> str:
        """The pattern matching every extension channel (glob characters escaped)."""
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix)
        return f"{escaped}ext:*"

    @property
    def closes_channel(self) -> str:
        """The channel carrying closes."""
        return f"{self.prefix}closes"

    @property
    def directory_channel(self) -> str:
        """The channel carrying operator directory changes."""
        return f"{self.prefix}directory"

    @property
    def worklist_channel(self) -> str:
        """The channel carrying call-back worklist changes."""
        return f"{self.prefix}worklist"

    # Changes ---------------------------------------------------------------------------

    async def ring(self, call_id: str, extension: str, call: dict[str, Any], *, full: bool) -> bool:
        """Open (or widen) the pop-up of a call ringing on ``extension``; False if a no-op.

        ``full`` details (from ``CallStarted``) replace what is stored; partial ones (from
        ``CallRinging``) only fill a gap. A closed or ignored call stays as it is.
        """
        done = await self._ring(
            keys=[
                self._call(call_id),
                self._exts(call_id),
                f"{self.prefix}ext:{extension}:open",
                self._pending,
            ],
            args=[
                self.prefix,
                call_id,
                extension,
                _dumps(call),
                "1" if full else "0",
                self.popup_ttl,
                round(self.identification_timeout * 1_000_000),
            ],
        )
        return bool(done)

    async def ignore(self, call_id: str) -> None:
        """Remember that a call gets no pop-up (outgoing, internal)."""
        await self._ignore(keys=[self._call(call_id)], args=[self.prefix, call_id, self.popup_ttl])

    async def identify(self, call_id: str, ident: dict[str, Any], at: datetime) -> bool:
        """Store who is calling, as identified at ``at``; updates the open pop-up everywhere
        it shows. An identification older than the stored one changes nothing."""
        at_us = round(at.timestamp() * 1_000_000)
        done = await self._identify(
            keys=[self._call(call_id), self._exts(call_id)],
            args=[self.prefix, call_id, _dumps(ident), self.popup_ttl, at_us],
        )
        return bool(done)

    async def settle_unidentified(self, provisional: dict[str, Any], *, limit: int = 100) -> int:
        """Show ``provisional`` (the number, as unknown) in every open pop-up still waiting
        for its identification past the bound; returns how many. A real identification
        arriving later still replaces it."""
        settled = await self._settle(
            keys=[self._pending], args=[self.prefix, _dumps(provisional), self.popup_ttl, limit]
        )
        return int(settled)

    async def close(self, call_id: str, close: dict[str, Any]) -> CloseResult:
        """Close the pop-up for everyone (first close wins; later ones are no-ops)."""
        outcome, stored = await self._close(
            keys=[self._call(call_id), self._exts(call_id)],
            args=[self.prefix, call_id, _dumps(close), self.closed_ttl],
        )
        return CloseResult(int(outcome), json.loads(stored) if stored else None)

    async def take(
        self, call_id: str, close: dict[str, Any], extensions: frozenset[str]
    ) -> CloseResult:
        """Close the pop-up because an operator on one of ``extensions`` took the call.

        Outcome -1 when the call is not ringing on any of those extensions (or is unknown),
        0 when it was already closed (``close`` says by whom), 1 when this take won.
        """
        if not extensions:
            return CloseResult(-1, None)
        outcome, stored, matched = await self._take(
            keys=[self._call(call_id), self._exts(call_id)],
            args=[self.prefix, call_id, _dumps(close), self.closed_ttl, *sorted(extensions)],
        )
        return CloseResult(int(outcome), json.loads(stored) if stored else None, matched or None)

    async def snapshot(
        self, extensions: frozenset[str], known_call_ids: list[str], *, limit: int
    ) -> list[PopupMessage | ClosedMessage]:
        """The open pop-ups of ``extensions`` and the closes of ``known_call_ids``."""
        if not extensions and not known_call_ids:
            return []
        raw = await self._snapshot(
            keys=[],
            args=[
                self.prefix,
                json.dumps(sorted(extensions)),
                json.dumps(known_call_ids),
                self.popup_ttl,
                limit,
            ],
        )
        return [json.loads(item) for item in raw]

    async def announce_operator(self, change: dict[str, Any]) -> None:
        """Tell every replica an operator's extension or status changed."""
        await self.redis.publish(self.directory_channel, _dumps(change))

    async def announce_worklist(self, change: dict[str, Any]) -> None:
        """Tell every replica the call-back worklist changed (every console re-reads it)."""
        await self.redis.publish(self.worklist_channel, _dumps(change))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
