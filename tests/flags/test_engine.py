"""The flag engine as a whole (nous.flags.engine.core): the Unleash client-specification cases
(tests/flags/unleash_spec.py), the frozen hash, overrides, and the engine's API and safety. The other
test_engine_*.py files follow the engine's modules. These tests need no fixture from tests/conftest.py.
"""

from __future__ import annotations

import copy
from collections import UserDict

import mmh3
import pytest

from nous.flags.engine import ALGORITHM_VERSION, VARIANT_SEED, Engine, bucket, validate_feature
from tests.flags.engine_helpers import c, default, flag, rollout, variant
from tests.flags.unleash_spec import SPEC_TESTS, VARIANT_TESTS


def _engine_for(state: object) -> Engine:
    if isinstance(state, tuple):
        return Engine(*state)
    return Engine(state)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "key", "context", "expected"), SPEC_TESTS,
                         ids=[f"{t[1]}-{i}" for i, t in enumerate(SPEC_TESTS)])
def test_client_specification_is_enabled(state: object, key: str, context: dict, expected: bool) -> None:
    assert _engine_for(state).is_enabled(key, context) is expected


@pytest.mark.parametrize(("state", "key", "context", "expected"), VARIANT_TESTS,
                         ids=[f"{t[1]}-{i}" for i, t in enumerate(VARIANT_TESTS)])
def test_client_specification_variants(state: list, key: str, context: dict, expected: dict) -> None:
    got = Engine(state).get_variant(key, context)
    assert {k: got.get(k) for k in expected} == expected
    if expected["enabled"]:
        assert got["feature_enabled"] is True
    else:
        assert "payload" not in got


# ----------------------------------------------------------------------------- hashing


def test_algorithm_is_frozen_at_version_1_with_published_seeds() -> None:
    assert ALGORITHM_VERSION == 1
    assert VARIANT_SEED == 86028157
    # Reference buckets from the client specification (10-flexible-rollout: 174 in, 499 out at 10%).
    assert bucket("Feature.flexibleRollout.10", "174") == 10
    assert bucket("Feature.flexibleRollout.10", "499") == 32
    # Strategy-variant bucket of spec 16: userId 5 -> first of two, 0 -> second (seeded).
    assert bucket("a", "5", 2, VARIANT_SEED) == 1
    assert bucket("a", "0", 2, VARIANT_SEED) == 2


@pytest.mark.parametrize("value", ["Jürgen", "😊", "你好", "plain"])
def test_hash_reads_the_utf8_bytes_unsigned(value: str) -> None:
    data = f"grp:{value}".encode()
    assert bucket("grp", value) == mmh3.hash(data, 0, False) % 100 + 1
    assert bucket("grp", value, 7, VARIANT_SEED) == mmh3.hash(data, VARIANT_SEED, False) % 7 + 1
    e = Engine([flag("f", rollout("50", "default", "grp"))])
    assert e.is_enabled("f", {"userId": value}) is (bucket("grp", value) <= 50)


# ------------------------------------------------------------------------------ overrides


def test_tester_override_wins_over_everything() -> None:
    e = Engine([flag("on", default()), flag("off", default(), enabled=False),
                flag("gated", default(), dependencies=[{"feature": "missing"}])])
    assert e.is_enabled("on", {}, {"on": False}) is False
    assert e.is_enabled("off", {}, {"off": True}) is True
    assert e.is_enabled("gated", {}, {"gated": True}) is True
    assert e.is_enabled("unknown", {}, {"unknown": True}) is True
    assert e.is_enabled("on", {}, {"other": False}) is True


@pytest.mark.parametrize("overrides", [{"f": "false"}, {"f": 0}, {"f": None}, ["f"], "f", 5, UserDict()])
def test_overrides_that_are_not_booleans_are_ignored(overrides: object) -> None:
    e = Engine([flag("f", default())])
    assert e.is_enabled("f", {}, overrides) is True  # type: ignore[arg-type]


def test_override_applies_to_variants_and_to_parents() -> None:
    e = Engine([flag("parent", default(), enabled=False),
                flag("child", default(), dependencies=[{"feature": "parent"}], variants=[variant("v")]),
                flag("off", default(), enabled=False, variants=[variant("x")])])
    assert e.is_enabled("child") is False
    assert e.is_enabled("child", {}, {"parent": True}) is True
    assert e.get_variant("off", {}, {"off": True}) == {"name": "x", "enabled": True, "feature_enabled": True}
    assert e.get_variant("child", {}, {"child": False}) == {
        "name": "disabled", "enabled": False, "feature_enabled": False}


# ------------------------------------------------------------------- engine API and safety


def test_evaluate_all_reports_every_flag_consistently() -> None:
    e = Engine([flag("a", default(), variants=[variant("x", 1, "1")]), flag("b", enabled=False),
                flag("c", rollout("50", "default", "c"))])
    result = e.evaluate_all({"userId": "u1"}, {"b": True})
    assert set(result) == {"a", "b", "c"}
    assert result["a"] == {"enabled": True, "variant": {
        "name": "x", "enabled": True, "feature_enabled": True, "payload": {"type": "string", "value": "1"}}}
    assert result["b"]["enabled"] is True
    assert result["c"]["enabled"] is e.is_enabled("c", {"userId": "u1"})
    assert result["c"]["variant"]["feature_enabled"] is result["c"]["enabled"]


def test_load_replaces_the_whole_set() -> None:
    e = Engine([flag("a"), flag("b")])
    assert e.keys() == ["a", "b"] and "a" in e and len(e) == 2
    e.load([flag("c", enabled=False)])
    assert e.keys() == ["c"] and "a" not in e and len(e) == 1
    assert e.is_enabled("a") is False
    assert [] not in e


def test_engine_does_not_change_when_the_source_dicts_do() -> None:
    source = [flag("f", default(c("plan", "IN", ["pro"])))]
    e = Engine(source)
    source[0]["enabled"] = False
    source[0]["strategies"][0]["constraints"][0]["values"].append("free")
    assert e.is_enabled("f", {"plan": "pro"}) is True
    assert e.is_enabled("f", {"plan": "free"}) is False
    shown = e.explain("f", {"plan": "free"})["strategies"][0]["constraints"][0]
    assert shown["values"] == ["pro"] and shown["passed"] is False


def test_duplicate_names_keep_the_last_definition() -> None:
    e = Engine([flag("f"), flag("f", enabled=False)])
    assert e.is_enabled("f") is False


JUNK = [None, 5, "x", [], {}, [None], {"name": None}, {"name": 5, "enabled": True}, b"bytes", object()]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_anywhere_in_a_flag_never_raises(junk: object) -> None:
    good = flag("f", rollout("50", "default", "g", c("plan", "IN", ["pro"])), variants=[variant("v")])
    places = [
        lambda f: f.__setitem__("strategies", junk),
        lambda f: f.__setitem__("variants", junk),
        lambda f: f.__setitem__("dependencies", junk),
        lambda f: f.__setitem__("enabled", junk),
        lambda f: f["strategies"].append(junk),
        lambda f: f["strategies"][0].__setitem__("parameters", junk),
        lambda f: f["strategies"][0]["parameters"].__setitem__("rollout", junk),
        lambda f: f["strategies"][0]["parameters"].__setitem__("stickiness", junk),
        lambda f: f["strategies"][0]["parameters"].__setitem__("groupId", junk),
        lambda f: f["strategies"][0].__setitem__("constraints", junk),
        lambda f: f["strategies"][0]["constraints"].append(junk),
        lambda f: f["strategies"][0]["constraints"][0].__setitem__("values", junk),
        lambda f: f["strategies"][0].__setitem__("segments", junk),
        lambda f: f["strategies"][0].__setitem__("variants", junk),
        lambda f: f["variants"].append(junk),
        lambda f: f["variants"][0].__setitem__("weight", junk),
        lambda f: f["variants"][0].__setitem__("payload", junk),
        lambda f: f["variants"][0].__setitem__("overrides", junk),
        lambda f: f["variants"][0].__setitem__("stickiness", junk),
    ]
    for place in places:
        broken = copy.deepcopy(good)
        place(broken)
        e = Engine([broken, junk], [junk])
        sticky = {"userId": "u1", "plan": "pro"}
        assert e.explain("f", sticky)["enabled"] is e.is_enabled("f", sticky)
        assert e.get_variant("f", sticky)["feature_enabled"] is e.is_enabled("f", sticky)
        for ctx in (sticky, junk, {"properties": junk, "plan": junk}):
            assert e.is_enabled("f", ctx) in (True, False)  # type: ignore[arg-type]
            assert e.get_variant("f", ctx)["name"]  # type: ignore[arg-type]
            assert isinstance(e.evaluate_all(ctx)["f"]["enabled"], bool)  # type: ignore[arg-type]
            assert isinstance(e.explain("f", ctx)["enabled"], bool)  # type: ignore[arg-type]
        assert all(isinstance(p, str) for p in validate_feature(broken))


@pytest.mark.parametrize("features", [None, 5, "flags", [None, 1, "x"], {"name": "single", "enabled": True}])
def test_engine_accepts_junk_feature_lists(features: object) -> None:
    e = Engine(features, None)  # type: ignore[arg-type]
    assert e.is_enabled("x") is False
    assert e.is_enabled("single") is (features == {"name": "single", "enabled": True})


def test_unhashable_key_and_mapping_context_are_handled() -> None:
    e = Engine([flag("f", default(c("plan", "IN", ["pro"])))])
    assert e.is_enabled(["f"], {"plan": "pro"}) is False  # type: ignore[arg-type]
    assert e.get_variant(["f"])["name"] == "disabled"  # type: ignore[arg-type]
    assert e.is_enabled("f", UserDict({"plan": "pro"})) is True
    assert e.is_enabled("f", UserDict({"properties": UserDict({"plan": "pro"})})) is True
