"""The client APIs' rate limit (the setting `api.rate_limit`, per token), without a Redis call per request.

The limit is a fixed window shared by every process, as flask-limiter's default strategy: at most N
requests per token in each window of W seconds, counted in Redis. What differs is how a process takes
its share: instead of one Redis round trip per request (flask-limiter's EVALSHA cost more than
evaluating twenty flags), a process leases a small block of the window's quota with one pipelined
INCRBY and spends it in memory. Blocks are about 1 % of the limit (one request for limits below 200
a window, at most 500), so each process holds back at most that much: the shared limit is never
exceeded, and near it a process may answer 429 while another still holds a few unspent requests.

A window that is used up is remembered until it ends, so refused requests cost no Redis call either.
With Redis unreachable each process counts the limit on its own (as flask-limiter's in-memory
fallback does) and tries Redis again after a few seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from functools import lru_cache

import redis
from limits import parse_many

KEY = "nous:flags:limit:{client}:{amount}/{seconds}:{window}"
BLOCK_SHARE = 100  # a lease is 1/BLOCK_SHARE of the limit …
BLOCK_MAX = 500  # … and at most this many requests
RETRY_REDIS_AFTER = 5.0
MAX_LEASES = 10_000  # remembered (client, limit) pairs per process; forgotten all at once beyond


@lru_cache(maxsize=64)
def parse(text: str) -> tuple[tuple[int, int, str], ...]:
    """(amount, window seconds, description) of each limit in a setting like '600/minute; 10/second'."""
    return tuple((item.amount, int(item.get_expiry()), str(item)) for item in parse_many(text))


def block_size(amount: int) -> int:
    return max(1, min(amount // BLOCK_SHARE, BLOCK_MAX))


class _Lease:
    __slots__ = ("exhausted", "local", "remaining", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.remaining = 0  # leased from Redis and not spent yet
        self.exhausted = False  # the window's quota is used up: refuse until it ends
        self.local = 0  # requests counted in memory while Redis was unreachable


class LeaseLimiter:
    """Fixed-window limits per client key, with quota leased from Redis in blocks."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._leases: dict[tuple[str, int, int], _Lease] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._redis_down_until = 0.0
        self.redis_calls = 0  # lease requests sent (tests, diagnostics)

    def reset(self) -> None:
        with self._lock:
            self._leases.clear()
            self._redis_down_until = 0.0

    def hit(self, conn: Callable[[], redis.Redis], client: str, setting: str) -> tuple[int, str] | None:
        """Count one request of `client` against every limit in `setting`. None when allowed, else
        (seconds until the refusing window ends, that limit's description). `conn` gives the Redis
        connection when a lease is due (most requests need none)."""
        now = self._clock()
        for amount, seconds, description in parse(setting):
            if not self._take(conn, client, amount, seconds, now):
                window_end = (int(now) // seconds + 1) * seconds
                return max(1, math.ceil(window_end - now)), description
        return None

    def _take(self, conn: Callable[[], redis.Redis], client: str, amount: int, seconds: int, now: float) -> bool:
        window = int(now) // seconds
        slot = (client, amount, seconds)
        with self._lock:
            lease = self._leases.get(slot)
            if lease is None or lease.window != window:
                if len(self._leases) >= MAX_LEASES:
                    self._leases.clear()
                lease = self._leases[slot] = _Lease(window)
            if lease.remaining > 0:
                lease.remaining -= 1
                return True
            if lease.exhausted:
                return False
            if now < self._redis_down_until:
                lease.local += 1
                return lease.local <= amount
        granted = self._lease(conn, client, amount, seconds, window, now)
        with self._lock:
            if granted is None:  # Redis unreachable: this process counts alone
                lease.local += 1
                return lease.local <= amount
            if granted == 0:
                lease.exhausted = True
                return False
            lease.remaining += granted - 1
            return True

    def _lease(self, conn: Callable[[], redis.Redis], client: str, amount: int, seconds: int, window: int,
               now: float) -> int | None:
        """Take up to a block of this window's quota from Redis: how many requests were granted."""
        block = block_size(amount)
        key = KEY.format(client=client, amount=amount, seconds=seconds, window=window)
        try:
            self.redis_calls += 1
            pipe = conn().pipeline(transaction=False)
            pipe.incrby(key, block)
            pipe.expire(key, seconds + 1)
            total = int(pipe.execute()[0])
        except (redis.RedisError, OSError):
            self._redis_down_until = now + RETRY_REDIS_AFTER
            return None
        return max(0, min(block, amount - (total - block)))


LIMITER = LeaseLimiter()
