"""Request telemetry: request ids, per-process counts flushed to Redis in windows, percentiles, Prometheus."""

from __future__ import annotations

import time

import pytest
import redis

from nous.telemetry import maybe_flush, requests
from nous.telemetry.requests import BUCKETS_MS, KEY, STATS, WINDOW, percentile, request_id, summary


def test_request_id_keeps_a_plain_token_and_replaces_anything_else() -> None:
    assert request_id("abc-123.x:y_z") == "abc-123.x:y_z"
    for sent in ("", "bad id <script>", "x" * 65, "ünïcode"):
        rid = request_id(sent)
        assert rid != sent and len(rid) == 16 and int(rid, 16) >= 0
    assert request_id("") != request_id("")


@pytest.mark.parametrize(("histogram", "q", "expected"), [
    ([0] * len(BUCKETS_MS), 0.5, None),  # nothing measured
    ([10] + [0] * (len(BUCKETS_MS) - 1), 0.5, 0.5),  # all under 1 ms: half-way into the first bucket
    ([0, 0, 0, 4] + [0] * (len(BUCKETS_MS) - 4), 0.95, 9.75),  # 5–10 ms, interpolated
    ([0] * (len(BUCKETS_MS) - 1) + [2], 0.99, 19900.0),  # the open bucket ends at twice its lower bound
])
def test_percentiles_are_interpolated_inside_their_bucket(histogram, q, expected) -> None:
    assert percentile(histogram, q) == expected


def test_counts_are_flushed_to_redis_and_summed_per_endpoint(ctx, redis_conn) -> None:
    STATS.reset()
    for ms in (3, 3, 40):
        STATS.record("demo.page", 200, ms)
    STATS.record("demo.page", 503, 700)
    STATS.record("demo.api", 404, 1)
    before = int(time.time()) // WINDOW * WINDOW
    STATS.flush(redis_conn)
    after = int(time.time()) // WINDOW * WINDOW  # a 10 s window may end during the flush
    assert any(redis_conn.exists(KEY.format(w)) for w in {before, after})
    data = summary(redis_conn, 60)
    page = data["endpoints"]["demo.page"]
    assert page["requests"] == 4 and page["by_status"] == {"2xx": 3, "5xx": 1}
    assert page["mean_ms"] == pytest.approx((3 + 3 + 40 + 700) / 4, abs=0.01)
    assert data["endpoints"]["demo.api"]["by_status"] == {"4xx": 1}
    assert data["requests"] == 5 and data["error_rate"] == pytest.approx(1 / 5)
    assert data["requests_per_second"] == pytest.approx(5 / 60, abs=0.001)
    assert 2.5 <= data["latency_ms"]["p50"] <= 5
    STATS.flush(redis_conn)  # nothing new: nothing added
    assert summary(redis_conn, 60)["requests"] == 5


def test_a_flush_waits_for_its_interval(ctx, redis_conn) -> None:
    STATS.reset()
    STATS.flush(redis_conn)
    STATS.record("demo.page", 200, 1)
    maybe_flush(redis_conn)  # flushed a moment ago: not due yet, the count waits in this process
    assert summary(redis_conn, 60)["requests"] == 0
    STATS._last_flush -= requests.FLUSH_EVERY
    maybe_flush(redis_conn)
    assert summary(redis_conn, 60)["requests"] == 1


def test_with_redis_down_counts_are_dropped_and_flushing_pauses(ctx) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    STATS.reset()
    STATS.record("demo.page", 200, 1)
    STATS.flush(down)  # no exception: telemetry never breaks a request
    assert not STATS.due()  # paused for a while rather than trying on every request
    STATS._pause_until = 0.0


def test_request_id_is_echoed_or_generated(client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert generated and generated != "bad id <script>" and len(generated) == 16


def test_prometheus_counts_unusual_methods_as_other(client) -> None:
    """A client can send any method token; each would otherwise be a new series kept forever."""
    for method in ("BREW", "PROPFIND"):
        client.open("/openapi.json", method=method)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="unmatched",method="OTHER",status="405"' in text
    assert 'method="BREW"' not in text and 'method="PROPFIND"' not in text
