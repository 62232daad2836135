"""The client APIs' rate limit: a fixed window per token shared by every process, quota leased from Redis.

Two `LeaseLimiter` objects stand for two processes; they share the real Redis of the test run."""

from __future__ import annotations

import random

import redis

from nous.flags.limits import KEY, LeaseLimiter, block_size


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def allowed(limiter: LeaseLimiter, conn: redis.Redis, client: str, setting: str, n: int) -> int:
    return sum(limiter.hit(lambda: conn, client, setting) is None for _ in range(n))


def test_small_limits_are_exact_across_processes(redis_conn) -> None:
    clock = Clock(1_700_000_000.0)
    a, b = LeaseLimiter(clock), LeaseLimiter(clock)
    answers = [(a if i % 2 else b).hit(lambda: redis_conn, "token:1", "10/minute") is None for i in range(14)]
    assert answers == [True] * 10 + [False] * 4
    assert block_size(10) == 1


def test_large_limits_lease_blocks_and_never_exceed_the_limit(redis_conn) -> None:
    clock = Clock(1_700_000_000.0)
    procs = [LeaseLimiter(clock), LeaseLimiter(clock), LeaseLimiter(clock)]
    rng = random.Random(5)
    granted = sum(rng.choice(procs).hit(lambda: redis_conn, "token:2", "5000/minute") is None for _ in range(6000))
    block = block_size(5000)
    assert block == 50
    # never more than the limit; at most the unspent blocks held by the other processes less
    assert 5000 - 2 * (block - 1) <= granted <= 5000
    sent = sum(p.redis_calls for p in procs)
    assert sent <= 5000 // block + 3 * 2  # one Redis round trip per block, not per request
    window = int(clock.now) // 60
    assert int(redis_conn.get(KEY.format(client="token:2", amount=5000, seconds=60, window=window))) >= granted


def test_a_used_up_window_refuses_without_redis_then_the_next_window_allows(redis_conn) -> None:
    clock = Clock(1_700_000_030.25)  # 50.25 s into a minute
    limiter = LeaseLimiter(clock)
    assert allowed(limiter, redis_conn, "token:3", "3/minute", 3) == 3
    calls = limiter.redis_calls
    refused = limiter.hit(lambda: redis_conn, "token:3", "3/minute")
    assert refused is not None
    retry_after, description = refused
    window_end = (int(clock.now) // 60 + 1) * 60
    assert window_end - clock.now == 9.75 and retry_after == 10
    assert "3 per 1 minute" in description
    assert allowed(limiter, redis_conn, "token:3", "3/minute", 20) == 0
    assert limiter.redis_calls == calls + 1  # only the request that found the window used up asked Redis
    clock.now = window_end + 0.1
    assert allowed(limiter, redis_conn, "token:3", "3/minute", 4) == 3
    assert allowed(limiter, redis_conn, "token:other", "3/minute", 1) == 1  # another token, its own budget


def test_every_limit_of_the_setting_applies(redis_conn) -> None:
    clock = Clock(1_700_000_000.0)
    limiter = LeaseLimiter(clock)
    assert allowed(limiter, redis_conn, "token:4", "2/second; 3/minute", 5) == 2
    clock.now += 1
    answers = [limiter.hit(lambda: redis_conn, "token:4", "2/second; 3/minute") for _ in range(2)]
    assert answers[0] is None  # the minute's third
    assert answers[1] is not None and answers[1][1] == "3 per 1 minute" and answers[1][0] > 1


def test_redis_down_each_process_counts_alone() -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = LeaseLimiter(Clock(1_700_000_000.0))
    assert allowed(limiter, down, "token:5", "3/minute", 5) == 3
    assert limiter.redis_calls == 1  # then no retry for a few seconds
