"""Weighted sticky variants (nous.flags.engine.variants)."""

from __future__ import annotations

from nous.flags.engine import VARIANT_SEED, Engine, bucket
from tests.flags.engine_helpers import c, default, flag, rollout, variant

# ------------------------------------------------------------------------------ variants


def test_variant_result_shape() -> None:
    e = Engine([flag("f", default(), variants=[variant("blue", 1, "b")]), flag("g", default()),
                flag("h", default(), enabled=False, variants=[variant("blue")])])
    assert e.get_variant("f", {"userId": "1"}) == {
        "name": "blue", "enabled": True, "feature_enabled": True, "payload": {"type": "string", "value": "b"}}
    assert e.get_variant("g") == {"name": "disabled", "enabled": False, "feature_enabled": True}
    assert e.get_variant("h") == {"name": "disabled", "enabled": False, "feature_enabled": False}
    assert e.get_variant("missing") == {"name": "disabled", "enabled": False, "feature_enabled": False}


def test_variant_payload_is_a_copy() -> None:
    e = Engine([flag("f", default(), variants=[variant("blue", 1, "b")])])
    e.get_variant("f")["payload"]["value"] = "changed"
    assert e.get_variant("f")["payload"]["value"] == "b"


def test_variant_bucket_follows_seeded_hash_over_weights() -> None:
    e = Engine([flag("exp", default(), variants=[variant("a", 200), variant("b", 300), variant("c", 500)])])
    for i in range(300):
        target = bucket("exp", f"u{i}", 1000, VARIANT_SEED)
        expected = "a" if target <= 200 else "b" if target <= 500 else "c"
        assert e.get_variant("exp", {"userId": f"u{i}"})["name"] == expected


def test_variant_default_stickiness_uses_user_then_session_then_remote_address() -> None:
    e = Engine([flag("exp", default(), variants=[variant(f"v{i}") for i in range(10)])])

    def expected(value: str) -> str:
        return f"v{bucket('exp', value, 10, VARIANT_SEED) - 1}"

    assert e.get_variant("exp", {"userId": "u1", "sessionId": "s1"})["name"] == expected("u1")
    assert e.get_variant("exp", {"sessionId": "s1", "remoteAddress": "1.2.3.4"})["name"] == expected("s1")
    assert e.get_variant("exp", {"remoteAddress": "1.2.3.4"})["name"] == expected("1.2.3.4")
    assert len({e.get_variant("exp", {})["name"] for _ in range(300)}) > 5  # random without any id


def test_variant_custom_stickiness_missing_field_is_random() -> None:
    e = Engine([flag("exp", default(), variants=[variant(f"v{i}", stickiness="org") for i in range(10)])])
    assert len({e.get_variant("exp", {"userId": "same"})["name"] for _ in range(300)}) > 5
    assert len({e.get_variant("exp", {"org": "acme"})["name"] for _ in range(50)}) == 1


def test_variant_with_zero_weight_is_never_chosen_except_by_override() -> None:
    vs = [variant("never", 0, overrides=[{"contextName": "userId", "values": ["vip"]}]), variant("always", 1)]
    e = Engine([flag("f", default(), variants=vs)])
    assert {e.get_variant("f", {"userId": f"u{i}"})["name"] for i in range(300)} == {"always"}
    assert e.get_variant("f", {"userId": "vip"})["name"] == "never"


def test_variants_with_no_weight_at_all_give_disabled_variant_on_an_enabled_flag() -> None:
    e = Engine([flag("f", default(), variants=[variant("a", 0), variant("b", 0)])])
    assert e.get_variant("f", {"userId": "1"}) == {"name": "disabled", "enabled": False, "feature_enabled": True}


def test_variant_override_reads_properties_and_first_variant_wins() -> None:
    vs = [variant("a", 1, overrides=[{"contextName": "company", "values": ["acme"]}]),
          variant("b", 1, overrides=[{"contextName": "company", "values": ["acme", "initech"]}])]
    e = Engine([flag("f", default(), variants=vs)])
    assert e.get_variant("f", {"properties": {"company": "acme"}})["name"] == "a"
    assert e.get_variant("f", {"properties": {"company": "initech"}})["name"] == "b"


def test_strategy_variants_use_strategy_group_and_stickiness() -> None:
    strategy = rollout("100", "tenant", "grp", variants=[variant(f"v{i}") for i in range(10)])
    e = Engine([flag("f", strategy)])
    for tenant in ("acme", "initech", "hooli"):
        expected = f"v{bucket('grp', tenant, 10, VARIANT_SEED) - 1}"
        assert e.get_variant("f", {"tenant": tenant, "userId": "ignored"})["name"] == expected


def test_variant_comes_from_the_first_matching_strategy() -> None:
    e = Engine([flag("f",
                     default(c("plan", "IN", ["pro"]), variants=[variant("pro-variant")]),
                     default(variants=[variant("everyone-variant")]),
                     variants=[variant("flag-variant")])])
    assert e.get_variant("f", {"plan": "pro"})["name"] == "pro-variant"
    assert e.get_variant("f", {"plan": "free"})["name"] == "everyone-variant"
