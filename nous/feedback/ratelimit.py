"""The rate limit of `POST /api/feedback`: fixed windows per client address, in Redis, in one round trip.

The setting `feedback.rate_limit` holds one or more limits ("10/minute;100/hour"). One Lua script
counts the request in every window and returns each count with the seconds its window has left,
which is all the answer's X-RateLimit-* and Retry-After headers need. (Flask-Limiter spent three
round trips on the same: count, then read the count and the expiry back for the headers.)

The setting `feedback.upload_rate_limit` counts bytes the same way ("100000000/hour"): the same
script adds the request's size to those windows, so a submission's count and its bytes cost one
round trip together. A request over either is refused.

With Redis unreachable the windows are counted in this process's memory for PAUSE_AFTER_FAILURE
seconds before Redis is tried again: feedback is still accepted, and still limited.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app
from limits import RateLimitItem, parse_many

log = logging.getLogger("nous.feedback")

PAUSE_AFTER_FAILURE = 5.0
MEMORY_KEYS = 100_000  # above this many windows in memory, the expired ones are dropped

# KEYS: one per limit; ARGV: each limit's window in seconds, then what each key counts (1 for a
# request, its size for bytes). Returns {count, ttl, count, ttl, …}.
_HIT_LUA = """
local out = {}
local n_keys = #KEYS
for i, key in ipairs(KEYS) do
  local n = redis.call('INCRBY', key, ARGV[n_keys + i])
  local ttl = redis.call('TTL', key)
  if n == tonumber(ARGV[n_keys + i]) or ttl < 0 then
    redis.call('EXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""


# KEYS: the byte windows; ARGV[1]: the bytes to give back. A window that has ended is left alone.
_GIVE_BACK_LUA = """
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '-1')
  if n >= 0 then redis.call('SET', key, math.max(0, n - tonumber(ARGV[1])), 'KEEPTTL') end
end
return 1
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int  # of the limit closest to running out
    remaining: int
    reset_in: int  # seconds until that limit's window ends

    def headers(self) -> dict[str, str]:
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
               "X-RateLimit-Reset": str(int(time.time()) + self.reset_in)}
        if not self.allowed:
            out["Retry-After"] = str(self.reset_in)
        return out


class _Memory:
    """Fixed windows in this process: {key: (window end, count)}."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.windows: dict[str, tuple[float, int]] = {}

    def give_back(self, keys: list[str], cost: int) -> None:
        now = time.monotonic()
        with self.lock:
            for key in keys:
                end, n = self.windows.get(key, (0.0, 0))
                if end > now:
                    self.windows[key] = (end, max(0, n - cost))

    def hit(self, key: str, seconds: int, cost: int = 1) -> tuple[int, int]:
        now = time.monotonic()
        with self.lock:
            if len(self.windows) > MEMORY_KEYS:
                self.windows = {k: v for k, v in self.windows.items() if v[0] > now}
            end, n = self.windows.get(key, (0.0, 0))
            if end <= now:
                end, n = now + seconds, 0
            self.windows[key] = (end, n + cost)
            return n + cost, max(1, round(end - now))


class _State:
    """Per app: its Redis and script, the pause after a failure, the memory windows (safe to lose)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self.script = conn.register_script(_HIT_LUA)
        self.give_back = conn.register_script(_GIVE_BACK_LUA)
        self.paused_until = 0.0
        self.memory = _Memory()
        self.parsed: dict[str, list[RateLimitItem]] = {}

    def limits(self, raw: str) -> list[RateLimitItem]:
        items = self.parsed.get(raw)
        if items is None:
            if len(self.parsed) > 16:
                self.parsed.clear()
            items = self.parsed[raw] = parse_many(raw) if raw else []
        return items


def _state() -> _State:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get("nous.feedback.ratelimit")
    if state is None:
        state = app.extensions["nous.feedback.ratelimit"] = _State(app.extensions["nous.redis"])
    return state


def hit(raw_limits: str, address: str, *, raw_byte_limits: str = "", size: int = 0) -> Verdict:
    """Count one request from `address` against every limit in `raw_limits` and, when `size` is given,
    its `size` bytes against `raw_byte_limits`. The headers describe the request limits; a request over
    a byte limit is refused all the same, with that window's Retry-After."""
    state = _state()
    items = state.limits(raw_limits)
    byte_items = state.limits(raw_byte_limits) if size > 0 and raw_byte_limits else []
    if not items and not byte_items:
        return Verdict(True, 0, 0, 0)
    keys = [item.key_for("feedback", address) for item in items]  # LIMITER/feedback/<address>/2/1/hour
    keys += _byte_keys(byte_items, address)
    seconds = [item.get_expiry() for item in (*items, *byte_items)]
    costs = [1] * len(items) + [size] * len(byte_items)
    flat = _in_redis(state, state.script, keys, [*seconds, *costs])
    if flat is not None:
        results = [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]
    else:
        results = [state.memory.hit(k, s, c) for k, s, c in zip(keys, seconds, costs, strict=True)]
    counted, byte_counted = results[:len(items)], results[len(items):]
    bytes_over = [ttl for (n, ttl), item in zip(byte_counted, byte_items, strict=True) if n > item.amount]
    if not items:
        return Verdict(not bytes_over, 0, 0, max([1, *bytes_over]))
    allowed = all(n <= item.amount for (n, _), item in zip(counted, items, strict=True)) and not bytes_over
    # Report the limit closest to running out (the one that refused, when one did).
    (n, ttl), item = min(zip(counted, items, strict=True), key=lambda r: (r[1].amount - r[0][0], -r[0][1]))
    reset_in = max([ttl, *bytes_over]) if bytes_over else ttl
    return Verdict(allowed, item.amount, max(0, item.amount - n), max(1, reset_in))


def give_back(raw_byte_limits: str, address: str, size: int) -> None:
    """Uncount `size` bytes that `hit` counted for a request that stored nothing new: a retry answered from
    the submission its Idempotency-Key already made (or is making). The widget resends a large screenshot
    when an answer is lost; counting each resend would lock the tester out for the window."""
    state = _state()
    keys = _byte_keys(state.limits(raw_byte_limits) if size > 0 and raw_byte_limits else [], address)
    if keys and _in_redis(state, state.give_back, keys, [size]) is None:
        state.memory.give_back(keys, size)


def _byte_keys(byte_items: list[RateLimitItem], address: str) -> list[str]:
    return [item.key_for("feedback-bytes", address) for item in byte_items]


def _in_redis(state: _State, script: Any, keys: list[str], args: list[int]) -> Any:
    """`script` run in Redis, or None while Redis is unreachable (then for PAUSE_AFTER_FAILURE seconds the
    windows are counted in this process's memory instead)."""
    if time.monotonic() < state.paused_until:
        return None
    try:
        return script(keys=keys, args=args)
    except (redis.RedisError, OSError) as exc:
        state.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        log.warning("feedback rate limit counted in memory: Redis unreachable",
                    extra={"error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})
        return None
