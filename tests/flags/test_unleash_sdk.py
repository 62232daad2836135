"""The official Unleash Python SDK against this server over HTTP: it fetches the flags (then 304s),
registers, sends metrics, and answers exactly as `nous.flags` does — segments, dependencies and
variants included. Runs when `UnleashClient` is installed (a test dependency)."""

from __future__ import annotations

import time

import pytest

from nous import flags
from nous.flags import service
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
    reported = service.sdk_usage("production", "sdk.segment")  # the SDK's metrics were kept, as the SDK's
    assert reported["yes"] > 0 and set(reported["variants"]) <= {"disabled"}  # no variants: "disabled"
    assert [(a["app"], a["sdk"].startswith("unleash-")) for a in reported["apps"]] == [("sdk-check", True)]
    assert set(service.sdk_usage("production", "sdk.variants")["variants"]) - {"disabled"}


# Every strategy and operator the two engines share, each flag on its own so a disagreement names it.
BROAD_FLAGS: dict[str, dict] = {
    "x.user-with-id": {"strategies": [{"name": "userWithId", "parameters": {"userIds": "u1, u7,u12"}}]},
    "x.gradual-user": {"strategies": [{"name": "gradualRolloutUserId", "parameters": {"percentage": 40,
                                                                                      "groupId": "g"}}]},
    # no groupId: ours defaults to the flag key, which /api/client/features then states for the SDKs
    "x.gradual-session": {"strategies": [{"name": "gradualRolloutSessionId", "parameters": {"percentage": 60}}]},
    "x.rollout-custom": {"strategies": [{"name": "flexibleRollout", "parameters": {
        "rollout": "35", "stickiness": "tenant", "groupId": "x.rollout-custom"}}]},
    "x.remote": {"strategies": [{"name": "remoteAddress", "parameters": {"IPs": "10.0.0.1, 192.168.0.0/16"}}]},
    "x.in": {"constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}]},
    "x.not-in": {"constraints": [{"contextName": "plan", "operator": "NOT_IN", "values": ["free"]}]},
    # caseInsensitive does nothing on IN/NOT_IN, in the SDKs as in NOUS (tests/flags/test_sdk_parity.py
    # covers every operator with and without it)
    "x.in-ci": {"constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"], "caseInsensitive": True}]},
    "x.in-inverted": {"constraints": [{"contextName": "plan", "operator": "IN", "values": ["PRO"],
                                       "inverted": True}]},
    "x.str-contains": {"constraints": [{"contextName": "email", "operator": "STR_CONTAINS",
                                        "values": ["ter1"]}]},
    "x.str-starts-ci": {"constraints": [{"contextName": "email", "operator": "STR_STARTS_WITH",
                                         "values": ["TESTER1"], "caseInsensitive": True}]},
    "x.str-ends": {"constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH",
                                    "values": [".org", ".net"]}]},
    "x.num-gt": {"constraints": [{"contextName": "seats", "operator": "NUM_GT", "value": "10"}]},
    "x.num-lte": {"constraints": [{"contextName": "seats", "operator": "NUM_LTE", "value": "7.5"}]},
    "x.num-eq-inverted": {"constraints": [{"contextName": "seats", "operator": "NUM_EQ", "value": "3",
                                           "inverted": True}]},
    "x.semver-gte": {"constraints": [{"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0"}]},
    "x.semver-lt-pre": {"constraints": [{"contextName": "appVersion", "operator": "SEMVER_LT",
                                         "value": "2.1.0-rc.2"}]},
    "x.semver-eq": {"constraints": [{"contextName": "appVersion", "operator": "SEMVER_EQ", "value": "2.0.0"}]},
    "x.date-after": {"constraints": [{"contextName": "signedUp", "operator": "DATE_AFTER",
                                      "value": "2024-04-01T00:00:00.000Z"}]},
    "x.date-before": {"constraints": [{"contextName": "signedUp", "operator": "DATE_BEFORE",
                                       "value": "2024-06-01T00:00:00.000Z"}]},
    "x.environment": {"constraints": [{"contextName": "environment", "operator": "IN", "values": ["production"]}]},
    "x.two-constraints": {"constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]},
        {"contextName": "appVersion", "operator": "SEMVER_GT", "value": "1.9.9"}], "rollout": "70"},
    "x.strategy-variants": {"strategies": [{"name": "flexibleRollout", "parameters": {
        "rollout": "100", "stickiness": "default", "groupId": "x.strategy-variants"},
        "constraints": [], "variants": [
            {"name": "red", "weight": 300, "stickiness": "default", "weightType": "variable"},
            {"name": "blue", "weight": 700, "stickiness": "default", "weightType": "variable",
             "payload": {"type": "string", "value": "b"}}]}]},
    "x.flag-variants-custom": {"variants": [
        {"name": "one", "weight": 500, "stickiness": "tenant", "weightType": "variable"},
        {"name": "two", "weight": 500, "stickiness": "tenant", "weightType": "variable"}]},
    "x.parent-off-child": {"dependencies": [{"feature": "x.in", "enabled": False}]},
    "x.parent-variant": {"dependencies": [{"feature": "x.strategy-variants", "variants": ["blue"]}]},
}


def _broad_flag(make_flag, key: str, spec: dict) -> None:
    strategies = spec.get("strategies")
    if strategies is None:
        strategies = [{"name": "flexibleRollout", "constraints": spec.get("constraints", []),
                       "parameters": {"rollout": spec.get("rollout", "100"), "stickiness": "default",
                                      "groupId": key}}]
    make_flag(key, enabled=True, strategies=strategies, variants=spec.get("variants", []),
              dependencies=spec.get("dependencies", []))


def _broad_contexts() -> list[dict]:
    plans = ["pro", "team", "free", "PRO", None]
    versions = ["2.1.0", "2.0.0", "2.1.0-rc.1", "2.1.0-rc.10", "1.9.9", "10.0.0", "not-a-version", None]
    out = []
    for i in range(120):
        props: dict = {"tenant": f"t{i % 17}", "email": f"tester{i}@example.{'org' if i % 3 else 'com'}",
                       "seats": str((i * 7) % 15 + (0.5 if i % 4 == 0 else 0)),
                       "signedUp": f"2024-0{1 + i % 9}-15T12:00:00.000Z"}
        if plans[i % 5] is not None:
            props["plan"] = plans[i % 5]
        ctx: dict = {"userId": f"u{i}", "sessionId": f"s{i * 13}", "properties": props,
                     "environment": "production" if i % 2 else "staging",
                     "remoteAddress": ("10.0.0.1", "192.168.4.5", "172.16.0.1")[i % 3]}
        if versions[i % 8] is not None:
            ctx["appVersion"] = versions[i % 8]
        out.append(ctx)
    return out


def test_the_official_sdk_agrees_on_every_strategy_and_operator(app, ctx, make_flag, token, tmp_path) -> None:
    for key, spec in BROAD_FLAGS.items():
        _broad_flag(make_flag, key, spec)
    server = LiveServer(app)
    client = unleash.UnleashClient(url=f"{server.url}/api", app_name="sdk-broad", instance_id="test-2",
                                   environment="production", custom_headers={"Authorization": token},
                                   refresh_interval=60, disable_metrics=True, disable_registration=True,
                                   cache_directory=str(tmp_path))
    try:
        client.initialize_client()
        deadline = time.monotonic() + 10
        while not client.is_enabled("x.in", {"properties": {"plan": "pro"}}) and time.monotonic() < deadline:
            time.sleep(0.1)
        mismatches = []
        answered = {key: set() for key in BROAD_FLAGS}
        for c in _broad_contexts():
            for key in BROAD_FLAGS:
                ours = (flags.is_enabled(key, c), flags.get_variant(key, c)["name"])
                theirs = (client.is_enabled(key, c), client.get_variant(key, c)["name"])
                answered[key].add(ours)
                if ours != theirs:
                    mismatches.append((key, c, ours, theirs))
        assert mismatches == [], (sorted({m[0] for m in mismatches}), len(mismatches), mismatches[:3])
        one_sided = [k for k, seen in answered.items() if len(seen) < 2]
        assert one_sided == [], str(one_sided)  # each flag answers differently for different contexts
    finally:
        client.destroy()
        server.stop()


def test_a_flag_stored_with_a_numeric_constraint_value_reaches_the_sdk_as_text(app, ctx, make_flag, token,
                                                                                tmp_path) -> None:
    """Flags stored before values had to be text may hold a number: /api/client/features sends it as text,
    or the Python SDK would refuse the whole payload and answer every flag off."""
    from nous.extensions import db
    from nous.flags.cache import bump_version
    from nous.flags.models import Flag

    make_flag("legacy.num", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "seats", "operator": "NUM_GT", "value": "5"}]}])
    make_flag("legacy.other", enabled=True)
    row = db.session.scalar(db.select(Flag).where(Flag.key == "legacy.num")).in_("production")
    row.strategies = [{"name": "default", "constraints": [{"contextName": "seats", "operator": "NUM_GT", "value": 5},
                                                          {"contextName": "plan", "operator": "IN",
                                                           "values": ["pro", 3]}]}]
    db.session.commit()
    bump_version()
    server = LiveServer(app)
    client = unleash.UnleashClient(url=f"{server.url}/api", app_name="sdk-legacy", instance_id="test-2",
                                   custom_headers={"Authorization": token}, refresh_interval=1,
                                   disable_metrics=True, disable_registration=True, cache_directory=str(tmp_path))
    try:
        client.initialize_client()
        deadline = time.monotonic() + 10
        while not client.is_enabled("legacy.other") and time.monotonic() < deadline:
            time.sleep(0.1)
        for seats, plan, expected in (("9", "pro", True), ("9", "3", True), ("2", "pro", False), ("9", "free", False)):
            c = {"properties": {"seats": seats, "plan": plan}}
            assert flags.is_enabled("legacy.num", c) is expected
            assert client.is_enabled("legacy.num", c) is expected
        assert client.is_enabled("legacy.other")
    finally:
        client.destroy()
        server.stop()


def test_a_flag_stored_with_unusable_list_values_reaches_the_sdk_as_the_engine_reads_it(app, ctx, make_flag, token,
                                                                                      tmp_path) -> None:
    """Flags stored before list values had to be exact text may hold a null or a value with spaces around
    it: the engine leaves the null out and trims the rest, and /api/client/features sends that same list,
    so the Python SDK (which compares values as written) answers alike."""
    from nous.extensions import db
    from nous.flags.cache import bump_version
    from nous.flags.models import Flag

    make_flag("legacy.list", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    row = db.session.scalar(db.select(Flag).where(Flag.key == "legacy.list")).in_("production")
    row.strategies = [{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro", None, " team "]}]}]
    db.session.commit()
    bump_version()
    server = LiveServer(app)
    client = unleash.UnleashClient(url=f"{server.url}/api", app_name="sdk-legacy", instance_id="test-3",
                                   custom_headers={"Authorization": token}, refresh_interval=1,
                                   disable_metrics=True, disable_registration=True, cache_directory=str(tmp_path))
    try:
        client.initialize_client()
        deadline = time.monotonic() + 10
        while not client.is_enabled("legacy.list", {"properties": {"plan": "pro"}}) and time.monotonic() < deadline:
            time.sleep(0.1)
        for plan, expected in (("pro", True), ("team", True), ("null", False), ("None", False), ("free", False)):
            c = {"properties": {"plan": plan}}
            assert flags.is_enabled("legacy.list", c) is expected, plan
            assert client.is_enabled("legacy.list", c) is expected, plan
    finally:
        client.destroy()
        server.stop()
