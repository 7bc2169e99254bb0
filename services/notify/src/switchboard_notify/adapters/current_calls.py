"""Each operator's current call in Redis, changed and fanned out atomically by Lua scripts.

Beside the pop-ups (``popup_store.py``), under the same prefix ``P``:

* ``P call:<id>:operator`` — who holds the call (the first to answer it on the phone or
  take it in the console); set once, so a replayed answer changes nothing;
* ``P op:<operator_id>:current`` — a hash: ``call_id``, ``version``, ``data`` (call details
  JSON, copied from the pop-up), ``ident`` (identification JSON, kept current by
  :data:`LUA_FUNCTIONS`' ``current_ident`` whenever the pop-up's identification changes),
  ``answer`` (answer JSON), ``end`` (end JSON, once the call ended: wrap-up), ``result``
  (the touch's last result seen). One per operator: a new call replaces the last one.

Both keys live ``current_ttl`` seconds from the last change. Channel ``P current`` carries
every change with the operator's id; each replica hands it to that operator's sessions only.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

#: Lua shared by every script: the prefix, the version clock, the current-call messages.
#: ``current_ident`` is called by the pop-up store's identification too.
LUA_FUNCTIONS = r"""
local P = ARGV[1]
local function bump(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local v = tonumber(redis.call('HGET', key, 'version') or '0')
  if now <= v then now = v + 1 end
  local s = string.format('%.0f', now)
  redis.call('HSET', key, 'version', s)
  return s
end
local function publish_current(op, key)
  local h = redis.call('HMGET', key, 'call_id', 'version', 'data', 'ident', 'answer', 'end')
  redis.call('PUBLISH', P .. 'current', '{"kind":"current","operator_id":' .. cjson.encode(op) ..
    ',"call_id":' .. cjson.encode(h[1]) .. ',"version":' .. h[2] .. ',"call":' ..
    (h[3] or 'null') .. ',"ident":' .. (h[4] or 'null') .. ',"answer":' .. (h[5] or 'null') ..
    ',"end":' .. (h[6] or 'null') .. '}')
end
local function current_of(call_id)
  local op = redis.call('GET', P .. 'call:' .. call_id .. ':operator')
  if not op then return false, false end
  local key = P .. 'op:' .. op .. ':current'
  if redis.call('HGET', key, 'call_id') ~= call_id then return false, false end
  return op, key
end
local function current_ident(call_id, ident)
  local op, key = current_of(call_id)
  if not op then return end
  redis.call('HSET', key, 'ident', ident)
  bump(key)
  publish_current(op, key)
end
local function clear_current(op, key, call_id, reason)
  local version = bump(key)
  redis.call('DEL', key)
  redis.call('PUBLISH', P .. 'current', '{"kind":"current_cleared","operator_id":' ..
    cjson.encode(op) .. ',"call_id":' .. cjson.encode(call_id) .. ',"version":' .. version ..
    ',"reason":' .. cjson.encode(reason) .. '}')
end
"""

# KEYS: call, holder, operator's current. ARGV: P, call_id, operator_id, answer, ttl.
_ANSWER = (
    LUA_FUNCTIONS
    + r"""
local call_key, holder_key, key = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[5])
if redis.call('HGET', call_key, 'status') == 'ignored' then return 0 end
if redis.call('EXISTS', holder_key) == 1 then return 0 end
redis.call('SET', holder_key, ARGV[3], 'EX', ttl)
local previous = redis.call('HGET', key, 'version')
redis.call('DEL', key)
if previous then redis.call('HSET', key, 'version', previous) end
local h = redis.call('HMGET', call_key, 'data', 'ident')
redis.call('HSET', key, 'call_id', ARGV[2], 'answer', ARGV[4])
if h[1] then redis.call('HSET', key, 'data', h[1]) end
if h[2] then redis.call('HSET', key, 'ident', h[2]) end
redis.call('EXPIRE', key, ttl)
bump(key)
publish_current(ARGV[3], key)
return 1
"""
)

# ARGV: P, call_id, end, ttl.
_END = (
    LUA_FUNCTIONS
    + r"""
local op, key = current_of(ARGV[2])
if not op or redis.call('HEXISTS', key, 'end') == 1 then return 0 end
redis.call('HSET', key, 'end', ARGV[3])
redis.call('EXPIRE', key, tonumber(ARGV[4]))
redis.call('EXPIRE', P .. 'call:' .. ARGV[2] .. ':operator', tonumber(ARGV[4]))
bump(key)
publish_current(op, key)
return 1
"""
)

# ARGV: P, call_id, result ('' when none). A result newly set in wrap-up ends the wrap-up.
_RESULT = (
    LUA_FUNCTIONS
    + r"""
local op, key = current_of(ARGV[2])
if not op then return 0 end
local before = redis.call('HGET', key, 'result') or ''
if ARGV[3] == before then return 0 end
if ARGV[3] == '' then redis.call('HDEL', key, 'result') return 0 end
redis.call('HSET', key, 'result', ARGV[3])
if redis.call('HEXISTS', key, 'end') == 0 then return 0 end
clear_current(op, key, ARGV[2], 'result_set')
return 1
"""
)

# ARGV: P, call_id, operator_id. Only the holder, only in wrap-up.
_DISMISS = (
    LUA_FUNCTIONS
    + r"""
local op, key = current_of(ARGV[2])
if op ~= ARGV[3] or redis.call('HEXISTS', key, 'end') == 0 then return 0 end
clear_current(op, key, ARGV[2], 'dismissed')
return 1
"""
)


class CurrentCallStore:
    """The operators' current calls (see module doc); every change is one atomic script."""

    def __init__(self, redis: Redis, prefix: str, *, current_ttl: int):
        self.redis = redis
        self.prefix = prefix
        self.current_ttl = current_ttl
        self._answer = redis.register_script(_ANSWER)
        self._end = redis.register_script(_END)
        self._result = redis.register_script(_RESULT)
        self._dismiss = redis.register_script(_DISMISS)

    def _current(self, operator_id: str) -> str:
        return f"{self.prefix}op:{operator_id}:current"

    @property
    def channel(self) -> str:
        """The channel carrying current-call changes (each names its operator)."""
        return f"{self.prefix}current"

    async def answer(self, call_id: str, operator_id: str, answer: dict[str, Any]) -> bool:
        """``operator_id`` answered (or took) the call: it becomes their current call,
        with the pop-up's details and identification. The first holder stays the holder;
        False when nothing changed (a replay, someone else holds it, an outgoing call)."""
        done = await self._answer(
            keys=[
                f"{self.prefix}call:{call_id}",
                f"{self.prefix}call:{call_id}:operator",
                self._current(operator_id),
            ],
            args=[self.prefix, call_id, operator_id, _dumps(answer), self.current_ttl],
        )
        return bool(done)

    async def end(self, call_id: str, end: dict[str, Any]) -> bool:
        """The call ended: its holder's current call goes to wrap-up (False: no holder,
        already ended, or the holder moved on to another call)."""
        done = await self._end(keys=[], args=[self.prefix, call_id, _dumps(end), self.current_ttl])
        return bool(done)

    async def result(self, call_id: str, result: str | None) -> bool:
        """The call's touch has ``result``: one newly set after the end finishes the wrap-up
        (True when it did)."""
        done = await self._result(keys=[], args=[self.prefix, call_id, result or ""])
        return bool(done)

    async def dismiss(self, call_id: str, operator_id: str) -> bool:
        """The operator closes the wrap-up of ``call_id`` without a result; False when it is
        not their call in wrap-up."""
        done = await self._dismiss(keys=[], args=[self.prefix, call_id, operator_id])
        return bool(done)

    async def snapshot(self, operator_id: str) -> dict[str, Any] | None:
        """The operator's current call as an internal ``current`` message, or ``None``."""
        h = await self.redis.hgetall(self._current(operator_id))
        if not h or "call_id" not in h or "version" not in h:
            return None
        return {
            "kind": "current",
            "operator_id": operator_id,
            "call_id": h["call_id"],
            "version": int(h["version"]),
            "call": json.loads(h["data"]) if "data" in h else None,
            "ident": json.loads(h["ident"]) if "ident" in h else None,
            "answer": json.loads(h["answer"]) if "answer" in h else None,
            "end": json.loads(h["end"]) if "end" in h else None,
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
