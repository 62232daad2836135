"""Properties of the flag engine, checked with Hypothesis: stickiness, monotonic rollouts, the shares
that percentages and variant weights promise, and that no input makes evaluation raise.

Hypothesis keeps no example database here (`database=None`), so the run leaves no files behind.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nous.flags.engine import OPERATORS, STRATEGIES, Engine, codegen, validate_feature

QUICK = settings(database=None, deadline=None, max_examples=40)
SLOW = settings(database=None, deadline=None, max_examples=3,
                suppress_health_check=[HealthCheck.too_slow])

ids = st.text(alphabet=string.ascii_letters + string.digits + "-_.@üé😊你", min_size=1, max_size=24)
names = st.text(min_size=1, max_size=30)
percent = st.integers(min_value=0, max_value=100)

SAMPLE = 100_000
TOLERANCE = 1.5  # percentage points


def rollout_flag(key: str, pct: object, stickiness: str = "default", group: str | None = None,
                 constraints: list | None = None, variants: list | None = None) -> dict:
    params: dict[str, Any] = {"rollout": pct, "stickiness": stickiness}
    if group is not None:
        params["groupId"] = group
    strategy: dict[str, Any] = {"name": "flexibleRollout", "parameters": params,
                                "constraints": constraints or []}
    return {"name": key, "enabled": True, "strategies": [strategy], "variants": variants or []}


# ------------------------------------------------------------------------------ stickiness


@QUICK
@given(key=names, group=st.none() | names, pct=percent, user=ids, session=st.none() | ids,
       plan=st.sampled_from(["free", "pro", "team"]))
def test_same_context_same_answer(key: str, group: str | None, pct: int, user: str, session: str | None,
                                  plan: str) -> None:
    variants = [{"name": f"v{i}", "weight": w} for i, w in enumerate((10, 30, 60))]
    e = Engine([rollout_flag(key, str(pct), "default", group, [
        {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}], variants)])
    ctx = {"userId": user, "sessionId": session, "properties": {"plan": plan}}
    first = (e.is_enabled(key, ctx), e.get_variant(key, ctx), e.explain(key, ctx)["enabled"])
    rebuilt = Engine([rollout_flag(key, str(pct), "default", group, [
        {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}], variants)])
    for engine in (e, e, rebuilt):
        assert (engine.is_enabled(key, dict(ctx)), engine.get_variant(key, dict(ctx)),
                engine.explain(key, dict(ctx))["enabled"]) == first
    # the constraint and the rollout decide together: the same user with a matching plan
    assert first[0] is (plan != "free" and e.is_enabled(key, {"userId": user, "plan": "team"}))


@QUICK
@given(key=names, group=st.none() | names, low=percent, high=percent, user=ids,
       stickiness=st.sampled_from(["default", "userId", "tenant"]))
def test_raising_the_percentage_never_turns_anyone_off(key: str, group: str | None, low: int, high: int,
                                                       user: str, stickiness: str) -> None:
    low, high = sorted((low, high))
    ctx = {"userId": user, "tenant": user}
    before = Engine([rollout_flag(key, low, stickiness, group)]).is_enabled(key, ctx)
    after = Engine([rollout_flag(key, high, stickiness, group)]).is_enabled(key, ctx)
    assert after or not before


@QUICK
@given(user=ids, forced=st.booleans(), enabled=st.booleans(), pct=percent)
def test_override_always_wins(user: str, forced: bool, enabled: bool, pct: int) -> None:
    flag = rollout_flag("f", pct)
    flag["enabled"] = enabled
    e = Engine([flag])
    assert e.is_enabled("f", {"userId": user}, {"f": forced}) is forced
    assert e.get_variant("f", {"userId": user}, {"f": forced})["feature_enabled"] is forced
    assert e.evaluate_all({"userId": user}, {"f": forced})["f"]["enabled"] is forced


# ------------------------------------------------------------------------------ distributions


def share_on(e: Engine, key: str, salt: str, field: str = "userId") -> float:
    return 100 * sum(e.is_enabled(key, {field: f"{salt}{i}"}) for i in range(SAMPLE)) / SAMPLE


@SLOW
@given(group=names, salt=st.text(alphabet=string.ascii_letters, max_size=6))
def test_percentages_hold_over_100k_ids(group: str, salt: str) -> None:
    for pct in (10, 25, 50, 90):
        e = Engine([rollout_flag("f", str(pct), "default", group)])
        assert abs(share_on(e, "f", salt) - pct) <= TOLERANCE, pct


@settings(database=None, deadline=None, max_examples=1)
@given(salt=st.text(alphabet=string.ascii_letters, max_size=6))
def test_custom_stickiness_and_random_rollouts_hold_their_percentage(salt: str) -> None:
    e = Engine([rollout_flag("tenant", "30", "tenant"), rollout_flag("random", "30", "random"),
                {"name": "legacy", "enabled": True, "strategies": [
                    {"name": "gradualRolloutRandom", "parameters": {"percentage": "30"}}]}])
    assert abs(share_on(e, "tenant", salt, "tenant") - 30) <= TOLERANCE
    assert abs(share_on(e, "random", salt) - 30) <= TOLERANCE
    assert abs(share_on(e, "legacy", salt) - 30) <= TOLERANCE


@SLOW
@given(key=names, salt=st.text(alphabet=string.ascii_letters, max_size=6),
       weights=st.sampled_from([(10, 30, 60), (1, 49, 50), (25, 25, 25, 25), (700, 200, 100), (1, 1)]))
def test_variant_shares_match_weights_over_100k_ids(key: str, salt: str, weights: tuple[int, ...]) -> None:
    variants = [{"name": f"v{i}", "weight": w} for i, w in enumerate(weights)]
    e = Engine([{"name": key, "enabled": True, "strategies": [], "variants": variants}])
    counts: dict[str, int] = {}
    for i in range(SAMPLE):
        name = e.get_variant(key, {"userId": f"{salt}{i}"})["name"]
        counts[name] = counts.get(name, 0) + 1
    total = sum(weights)
    for i, w in enumerate(weights):
        assert abs(100 * counts.get(f"v{i}", 0) / SAMPLE - 100 * w / total) <= TOLERANCE, (weights, counts)


@settings(database=None, deadline=None, max_examples=1)
@given(salt=st.text(alphabet=string.ascii_letters, max_size=6))
def test_variants_inside_a_10_percent_rollout_are_still_fair(salt: str) -> None:
    # Why Unleash seeds the variant hash: with one hash, the 10% in a rollout would all land in the
    # first tenth of the variant range.
    variants = [{"name": f"v{i}", "weight": 100} for i in range(10)]
    e = Engine([rollout_flag("f", "10", "default", "f", variants=variants)])
    counts: dict[str, int] = {}
    enabled = 0
    for i in range(SAMPLE):
        v = e.get_variant("f", {"userId": f"{salt}{i}"})
        if v["feature_enabled"]:
            enabled += 1
            counts[v["name"]] = counts.get(v["name"], 0) + 1
    assert abs(100 * enabled / SAMPLE - 10) <= TOLERANCE
    assert all(abs(100 * counts.get(f"v{i}", 0) / enabled - 10) <= 2 * TOLERANCE for i in range(10)), counts


# ------------------------------------------------------------------------- never raises

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
operators = st.sampled_from(sorted(OPERATORS)) | st.text(max_size=8)
constraint = st.fixed_dictionaries(
    {"contextName": st.sampled_from(["userId", "plan", "currentTime", "remoteAddress", "version"]) | json_values,
     "operator": operators},
    optional={"values": st.lists(json_scalars, max_size=4) | json_values, "value": json_values,
              "inverted": json_values, "caseInsensitive": json_values},
)
strategy = st.fixed_dictionaries(
    {"name": st.sampled_from(sorted(STRATEGIES)) | st.text(max_size=8)},
    optional={"parameters": st.dictionaries(
        st.sampled_from(["rollout", "percentage", "stickiness", "groupId", "userIds", "IPs"]),
        json_values, max_size=4) | json_values,
        "constraints": st.lists(constraint | json_values, max_size=3) | json_values,
        "segments": st.lists(json_scalars, max_size=3) | json_values,
        "variants": st.lists(json_values, max_size=3)},
)
feature = st.fixed_dictionaries(
    {"name": st.just("f")},
    optional={"enabled": json_values, "strategies": st.lists(strategy | json_values, max_size=3) | json_values,
              "variants": st.lists(st.fixed_dictionaries(
                  {"name": json_values, "weight": json_values},
                  optional={"payload": json_values, "overrides": json_values, "stickiness": json_values})
                  | json_values, max_size=3) | json_values,
              "dependencies": st.lists(st.fixed_dictionaries(
                  {"feature": st.sampled_from(["f", "p"]) | json_values},
                  optional={"enabled": json_values, "variants": json_values}), max_size=2) | json_values},
)
context = st.fixed_dictionaries(
    {}, optional={"userId": json_values, "sessionId": json_values, "remoteAddress": json_values,
                  "currentTime": json_values, "plan": json_values,
                  "properties": st.dictionaries(st.sampled_from(["plan", "version", "userId"]), json_values)
                  | json_values},
) | json_values


@settings(database=None, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(features=st.lists(feature | json_values, max_size=3),
       segments=st.lists(st.fixed_dictionaries({"id": json_scalars, "constraints": json_values}) | json_values,
                         max_size=2),
       ctx=context, overrides=st.none() | json_values)
def test_no_input_makes_evaluation_raise(features: list, segments: list, ctx: Any, overrides: Any) -> None:
    e = Engine([*features, {"name": "p", "enabled": True}], segments)
    assert e.is_enabled("f", ctx, overrides) in (True, False)
    v = e.get_variant("f", ctx, overrides)
    assert isinstance(v["name"], str) and v["enabled"] in (True, False) and v["feature_enabled"] in (True, False)
    assert all(r["enabled"] in (True, False) for r in e.evaluate_all(ctx, overrides).values())
    assert e.explain("f", ctx, overrides)["enabled"] in (True, False)
    for f in features:
        assert all(isinstance(p, str) for p in validate_feature(f))


# A generator of well-formed flags: validate_feature must accept every one, and evaluation must agree
# with itself (is_enabled, get_variant, evaluate_all and explain) for every context.

words = st.sampled_from(["pro", "free", "team", "Pro", "acme", "1.2.3", "2.0.0-rc.1", "10.1.2.3", "😊"])
single_values = {
    "NUM": st.sampled_from(["0", "1.5", "-3", "100"]),
    "DATE": st.sampled_from(["2020-01-01T00:00:00Z", "2030-06-01T12:00:00+02:00", "2024-02-29T00:00:00.000Z"]),
    "SEMVER": st.sampled_from(["1.0.0", "1.2.3", "2.0.0-rc.1", "2.0.0-alpha.10+build"]),
    "REGEX": st.sampled_from(["^p", "o$", "^[a-z]+$", "(?i)ACME", "\\d"]),
}
cidrs = st.sampled_from(["10.0.0.0/8", "10.1.2.3", "2001:db8::/32", "0.0.0.0/0"])


@st.composite
def valid_constraint(draw: st.DrawFn) -> dict:
    op = draw(st.sampled_from(sorted(OPERATORS)))
    out = {"contextName": draw(st.sampled_from(["plan", "version", "remoteAddress", "currentTime", "n"])),
           "operator": op, "inverted": draw(st.booleans()), "caseInsensitive": draw(st.booleans())}
    if op == "IN_CIDR":
        out["values"] = draw(st.lists(cidrs, max_size=3))
    elif op in {"IN", "NOT_IN"} or op.startswith("STR_"):
        out["values"] = draw(st.lists(words, max_size=3))
    else:
        out["value"] = draw(single_values[op.split("_")[0]])
    return out


@st.composite
def valid_strategy(draw: st.DrawFn) -> dict:
    name = draw(st.sampled_from(["default", "userWithId", "flexibleRollout", "gradualRolloutUserId",
                                 "gradualRolloutSessionId", "remoteAddress"]))
    params: dict[str, Any] = {}
    if name == "flexibleRollout":
        params = {"rollout": str(draw(percent)), "stickiness": draw(st.sampled_from(["default", "userId", "plan"])),
                  "groupId": draw(names)}
    elif name.startswith("gradual"):
        params = {"percentage": draw(percent), "groupId": draw(names)}
    elif name == "userWithId":
        params = {"userIds": ",".join(draw(st.lists(st.sampled_from(["u1", "u2", "u3"]), min_size=1)))}
    elif name == "remoteAddress":
        params = {"IPs": ", ".join(draw(st.lists(cidrs, min_size=1, max_size=3)))}
    out = {"name": name, "parameters": params, "constraints": draw(st.lists(valid_constraint(), max_size=3))}
    if draw(st.booleans()):
        out["variants"] = draw(valid_variants())
    return out


@st.composite
def valid_variants(draw: st.DrawFn) -> list:
    n = draw(st.integers(min_value=1, max_value=4))
    return [{"name": f"v{i}", "weight": draw(st.integers(min_value=1, max_value=250)),
             "payload": {"type": "string", "value": f"p{i}"}} for i in range(n)]


valid_feature = st.builds(
    lambda enabled, strategies, variants, deps: {"name": "f", "enabled": enabled, "type": "release",
                                                 "strategies": strategies, "variants": variants,
                                                 "dependencies": deps},
    st.booleans(), st.lists(valid_strategy(), max_size=3), st.just([]) | valid_variants(),
    st.just([]) | st.just([{"feature": "p"}]) | st.just([{"feature": "p", "enabled": False}]),
)
contexts = st.fixed_dictionaries({
    "userId": st.sampled_from(["u1", "u2", "u9"]), "remoteAddress": st.sampled_from(["10.1.2.3", "2001:db8::5"]),
    "currentTime": st.sampled_from(["2025-01-01T00:00:00Z", "2019-01-01T00:00:00+05:00"]),
    "properties": st.fixed_dictionaries({"plan": words, "version": words, "n": st.sampled_from(["1", "x", 50])}),
})


@settings(database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(feature=valid_feature, parent_on=st.booleans(), ctx=contexts)
def test_well_formed_flags_validate_and_evaluate_consistently(feature: dict, parent_on: bool, ctx: dict) -> None:
    assert validate_feature(feature) == []
    e = Engine([feature, {"name": "p", "enabled": parent_on}])
    answer = e.is_enabled("f", ctx)
    variant = e.get_variant("f", ctx)
    assert variant["feature_enabled"] is answer
    assert e.evaluate_all(ctx)["f"] == {"enabled": answer, "variant": variant}
    explained = e.explain("f", ctx)
    assert explained["enabled"] is answer and explained["variant"] == variant
    if answer and feature["strategies"]:
        assert explained["strategies"][explained["matched_strategy"]]["matched"] is True
    if not feature["enabled"] or (feature["dependencies"] and parent_on is (
            feature["dependencies"][0].get("enabled") is False)):
        assert answer is False


# ------------------------------------------- generated strategy functions == the closures they inline
# Engine.load writes each strategy's constraints and rule out as one Python function (codegen.generate).
# With generation switched off, the same constraints are chained closures: both must answer alike for
# every context — values at the top level or in properties, missing, empty, of other types.

loose_values = st.none() | st.just("") | words | words.map(str.upper) | st.sampled_from(
    ["  pro ", "x@Example.COM", "2.1.0", "2.1.0-beta.2", "abc"]) \
    | st.integers(min_value=-5, max_value=5) | st.sampled_from([1.5, 2.0, float("nan"), True, False])
loose_fields = st.sampled_from(["plan", "version", "n", "userId", "sessionId", "tenant", "email"])
loose_context = st.builds(
    lambda top, props, props_kind: {**top, **({"properties": props} if props_kind == "dict" else
                                              {"properties": props_kind} if props_kind else {})},
    st.dictionaries(loose_fields, loose_values, max_size=5),
    st.dictionaries(loose_fields, loose_values, max_size=5),
    st.sampled_from(["dict", None, "not a mapping"]),
)


@st.composite
def generated_strategy(draw: st.DrawFn) -> dict:
    out = draw(valid_strategy())
    if out["name"] == "flexibleRollout" and draw(st.booleans()):
        out["parameters"]["stickiness"] = draw(st.sampled_from(["tenant", "sessionId", "random"]))
    for c in out["constraints"]:
        c["contextName"] = draw(loose_fields)
    return out


def closures_only(features: list, segments: list) -> Engine:
    generate = codegen.generate
    codegen.generate = None  # calling it fails: Strategy._combine falls back to chaining the closures
    try:
        return Engine(features, segments)
    finally:
        codegen.generate = generate


@settings(database=None, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(strategies=st.lists(generated_strategy(), min_size=1, max_size=3),
       singles=st.lists(valid_constraint(), min_size=1, max_size=6), single_fields=st.lists(loose_fields, min_size=6),
       segment=st.lists(valid_constraint(), max_size=2), use_segment=st.booleans(),
       ctxs=st.lists(loose_context, min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_generated_strategies_answer_as_the_closures_do(strategies: list, singles: list, single_fields: list,
                                                        segment: list, use_segment: bool, ctxs: list,
                                                        seed: int) -> None:
    import random

    for c in segment:
        c["contextName"] = "plan"
    if use_segment:
        strategies[0]["segments"] = [1]
    # one flag per constraint alone (each answer then shows that constraint's outcome), and a mixed one
    flags = [{"name": f"c{i}", "enabled": True, "strategies": [{"name": "default", "constraints": [
        {**c, "contextName": field}]}]} for i, (c, field) in enumerate(zip(singles, single_fields, strict=False))]
    flags.append({"name": "f", "enabled": True, "strategies": strategies})
    # the same constraints again in other flags: evaluate_all tests each once per context and shares it
    flags.append({"name": "f-again", "enabled": True, "strategies": strategies})
    flags.append({"name": "every-single", "enabled": True, "strategies": [{"name": "default", "constraints": [
        {**c, "contextName": field} for c, field in zip(singles, single_fields, strict=False)]}]})
    segments = [{"id": 1, "constraints": segment}]
    generated, chained = Engine(flags, segments), closures_only(flags, segments)
    for flag in generated._flags.values():
        for s in flag.strategies:
            assert s.problems or s.check.__code__.co_filename == "<nous.flags strategy>"
    for ctx in ctxs:
        random.seed(seed)  # random stickiness: both draw the same numbers
        ours = [generated.is_enabled(f["name"], ctx) for f in flags], generated.evaluate_all(ctx)
        random.seed(seed)
        assert ours == ([chained.is_enabled(f["name"], ctx) for f in flags], chained.evaluate_all(ctx)), ctx
        # every flag at once, by the function generate_all wrote, and by the loop over the chained closures
        random.seed(seed)
        fused = generated.evaluate_all_json(ctx)
        random.seed(seed)
        assert fused == chained.evaluate_all_json(ctx, {}), ctx  # overrides (even none) take the loop


@settings(database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(features=st.lists(valid_feature, min_size=1, max_size=3), parent_on=st.booleans(), ctx=contexts,
       overrides=st.none() | st.dictionaries(st.sampled_from(["f", "f1", "p", "x"]), st.booleans()))
def test_evaluate_all_json_is_evaluate_all_as_json(features: list, parent_on: bool, ctx: dict,
                                                   overrides: dict | None) -> None:
    import json

    for i, f in enumerate(features):
        f["name"] = f"f{i}" if i else "f"
    e = Engine([*features, {"name": "p", "enabled": parent_on}, {"name": "ünïcode \"quoted\"", "enabled": True}])
    text, keys, answers = e.evaluate_all_json(ctx, overrides)
    expected = e.evaluate_all(ctx, overrides)
    for result in expected.values():
        result["variant"].setdefault("payload", None)
    assert json.loads(text) == expected
    assert list(zip(keys, answers, strict=True)) == [(k, v["enabled"]) for k, v in expected.items()]


class RaisingProperties(dict):
    def get(self, *_args: Any) -> Any:
        raise RuntimeError("unreadable")


def test_evaluate_all_json_answers_many_flags_through_generated_functions_as_the_loop_does() -> None:
    """More flags than one generated function takes (codegen.FUSED_MAX), of every kind evaluate_all_json
    meets: on for everyone, rollouts, shared and unshared constraints, several strategies, a disabled and
    an unusable strategy, variants, a dependency, a flag switched off. A context whose properties raise
    when read turns off the flags that read them, and only those."""
    import json
    import random

    kinds = [
        {"enabled": True},
        {"enabled": True, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "50"},
                                          "constraints": [{"contextName": "plan", "operator": "IN",
                                                           "values": ["pro"]}]}]},
        {"enabled": True, "strategies": [
            {"name": "default", "constraints": [{"contextName": "plan", "operator": "IN", "values": ["team"]}]},
            {"name": "default", "disabled": True},
            {"name": "no such strategy"},
            {"name": "userWithId", "parameters": {"userIds": "u1,u3,u5"}}]},
        {"enabled": True, "strategies": [{"name": "default", "constraints": [
            {"contextName": "version", "operator": "SEMVER_GT", "value": "1.2.0"},
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"], "inverted": True}]}]},
        {"enabled": True, "strategies": [{"name": "default"}],
         "variants": [{"name": "a", "weight": 500}, {"name": "b", "weight": 500}]},
        {"enabled": True, "dependencies": [{"feature": "k0"}], "strategies": [{"name": "default"}]},
        {"enabled": False, "strategies": [{"name": "default"}]},
    ]
    flags = [{"name": f"k{i}", **kinds[i % len(kinds)]} for i in range(codegen.FUSED_MAX * 2 + 5)]
    e = Engine(flags)
    assert len(e._fused) == 3 and e._fused[0].__code__.co_filename == "<nous.flags evaluate_all>"
    contexts_ = [{}, {"userId": "u1", "properties": {"plan": "pro", "version": "1.3.0"}},
                 {"userId": "u3", "plan": "team", "properties": {"email": "a@example.com", "version": "2.0.0"}},
                 {"sessionId": "s9", "properties": {"plan": "pro", "email": "b@elsewhere.org"}},
                 {"userId": "u2", "properties": RaisingProperties(plan="pro")}]
    for ctx in contexts_:
        random.seed(7)  # without userId or sessionId, rollouts and variants draw at random: the same draws
        fused = e.evaluate_all_json(ctx)
        random.seed(7)
        assert fused == e.evaluate_all_json(ctx, {}), ctx
        text = fused[0]
        random.seed(7)
        expected = e.evaluate_all(ctx)
        for result in expected.values():
            result["variant"].setdefault("payload", None)
        assert json.loads(text) == expected
    _text, keys, answers = e.evaluate_all_json(contexts_[-1])
    answers = dict(zip(keys, answers, strict=True))
    assert answers["k0"] is True and answers["k2"] is False  # k2 reads plan from the raising properties
    assert answers["k1"] is False and answers["k4"] is True


def test_shared_constraint_ids_are_never_given_to_another_constraint() -> None:
    ids = codegen._SharedIds()
    ids.LIMIT = 3
    first = [ids.of(("plan", "v in K", frozenset({str(i)}), False, False)) for i in range(3)]
    assert ids.of(("plan", "v in K", frozenset({"0"}), False, False)) == first[0]  # the same constraint, same id
    later = [ids.of(("plan", "v in K", frozenset({str(i)}), False, False)) for i in range(3, 9)]
    assert len(set(first + later)) == 9  # the table started again, under ids it never gave out
    assert ids.of(("plan", "v in K", ["a list"], False, False)) is None  # not a key: not shared
