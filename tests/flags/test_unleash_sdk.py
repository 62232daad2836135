"""The official Unleash Python SDK against this server over HTTP: it fetches the flags (then 304s),
registers, sends metrics, and answers exactly as `nous.flags` does — segments, dependencies and
variants included. Runs when `UnleashClient` is installed (a test dependency)."""

from __future__ import annotations

import time

import pytest

from nous import flags
from nous.flags import service
from nous.flags.cache import EVALS, YES_KEY
from tests.support.live import LiveServer

unleash = pytest.importorskip("UnleashClient")


def test_the_official_sdk_agrees_with_nous_flags(app, ctx, make_flag, token, redis_conn, tmp_path) -> None:
    seg = service.save_segment(None, "pros", [{"contextName": "plan", "operator": "IN", "values": ["pro"]}],
                               actor="t")
    make_flag("sdk.rollout", enabled=True, strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "sdk.rollout"},
         "constraints": [{"contextName": "environment", "operator": "IN", "values": ["production"]}]}])
    make_flag("sdk.segment", enabled=True, strategies=[{"name": "default", "segments": [seg.id]}])
    make_flag("sdk.variants", enabled=True, variants=[
        {"name": "a", "weight": 500, "stickiness": "default", "payload": {"type": "string", "value": "A"}},
        {"name": "b", "weight": 500, "stickiness": "default", "payload": {"type": "json", "value": "{\"x\": 1}"}}])
    make_flag("sdk.child", enabled=True, dependencies=[{"feature": "sdk.segment"}])
    contexts = [{"userId": f"u{i}", "environment": "production" if i % 3 else "staging",
                 "properties": {"plan": "pro" if i % 2 else "free"}} for i in range(150)]
    server = LiveServer(app)
    client = unleash.UnleashClient(url=f"{server.url}/api", app_name="sdk-check", instance_id="test-1",
                                   custom_headers={"Authorization": token}, refresh_interval=1, metrics_interval=1,
                                   cache_directory=str(tmp_path))
    try:
        client.initialize_client()
        deadline = time.monotonic() + 10
        while not client.is_enabled("sdk.segment", {"properties": {"plan": "pro"}}) and time.monotonic() < deadline:
            time.sleep(0.1)
        mismatches = []
        for key in ("sdk.rollout", "sdk.segment", "sdk.variants", "sdk.child"):
            for c in contexts:
                ours = (flags.is_enabled(key, c), flags.get_variant(key, c)["name"])
                theirs = (client.is_enabled(key, c), client.get_variant(key, c)["name"])
                if ours != theirs:
                    mismatches.append((key, c, ours, theirs))
        assert mismatches == []
        assert any(flags.is_enabled("sdk.rollout", c) for c in contexts)  # a real mix, not all off
        assert not all(flags.is_enabled("sdk.rollout", c) for c in contexts)
        time.sleep(2.5)  # a metrics interval and a registration
    finally:
        client.destroy()
        server.stop()
    assert any(c["appName"] == "sdk-check" for c in service.clients())
    EVALS.flush(redis_conn)
    assert int(redis_conn.hget(YES_KEY, "sdk.segment") or 0) > 0  # the SDK's metrics were counted
