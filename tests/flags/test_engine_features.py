"""A whole flag (nous.flags.engine.features): dependencies, and the problems the compile pass reports."""

from __future__ import annotations

import re

import pytest

from nous.flags.engine import Engine, notices, validate_feature
from tests.flags.engine_helpers import c, default, flag, gradual, remote, rollout, variant
from tests.flags.unleash_spec import (
    NODE_STICKY_4,
    SPEC_02,
    SPEC_06,
    SPEC_09,
    SPEC_10,
    SPEC_12,
    SPEC_13,
    SPEC_14,
    SPEC_15_FEATURES,
    SPEC_16_CI,
    SPEC_16_SV,
    SPEC_17,
    SPEC_21,
    SPEC_22,
)

# -------------------------------------------------------------------------- dependencies


def test_dependency_uses_child_context_for_parent() -> None:
    e = Engine([flag("parent", default(c("plan", "IN", ["pro"]))),
                flag("child", default(), dependencies=[{"feature": "parent"}])])
    assert e.is_enabled("child", {"plan": "pro"}) is True
    assert e.is_enabled("child", {"plan": "free"}) is False


def test_required_parent_variant_needs_the_parent_enabled() -> None:
    e = Engine([flag("parent", default(), enabled=False),
                flag("child", default(), dependencies=[{"feature": "parent", "variants": ["disabled"]}])])
    assert e.is_enabled("child") is False


@pytest.mark.parametrize("deps", [
    "parent", [None], [{"feature": 5}], [{"enabled": True}], {"feature": "parent"},
])
def test_unreadable_dependencies_turn_the_child_off(deps: object) -> None:
    e = Engine([flag("parent", default()), flag("child", default(), dependencies=deps)])
    assert e.is_enabled("child") is False
    assert e.get_variant("child")["feature_enabled"] is False


def test_self_dependency_is_off() -> None:
    e = Engine([flag("me", default(), dependencies=[{"feature": "me"}])])
    assert e.is_enabled("me") is False


# ------------------------------------------------------------------------------ validation


def test_valid_feature_has_no_problems() -> None:
    states = (SPEC_02, SPEC_06, SPEC_09, SPEC_10, SPEC_12, SPEC_13, SPEC_14, SPEC_16_CI, SPEC_16_SV, SPEC_17,
              SPEC_21, SPEC_22, NODE_STICKY_4)
    for feature in (f for state in states for f in state):
        invalid_on_purpose = re.search("invalid|reject|remoteAddress.C", feature["name"])
        assert (validate_feature(feature) == []) is not invalid_on_purpose, feature["name"]
    for feature in SPEC_15_FEATURES:
        expected = [] if feature["name"] != "F9.withMissingSegment" else [
            'strategies[0].segments[0]: unknown segment "3"']
        assert validate_feature(feature, segment_ids=[1, 2, 4, 5]) == expected
    full = flag("f", rollout(50, "default", "g", c("d", "DATE_AFTER", "2024-01-01T00:00:00Z")),
                type="experiment", impressionData=True, variants=[
                    {"name": "a", "weight": 500, "stickiness": "default",
                     "payload": {"type": "json", "value": '{"x": 1}'},
                     "overrides": [{"contextName": "userId", "values": ["1"]}]},
                    {"name": "b", "weight": 500, "payload": {"type": "number", "value": "2.5"}}])
    assert validate_feature(full, segment_ids=[]) == []


@pytest.mark.parametrize(("feature", "problem"), [
    ("x", "feature: must be an object"),
    ({"enabled": True}, "name: required non-empty string"),
    ({"name": "f"}, "enabled: required true or false"),
    (flag("f", type="toggle"), 'type: unknown type "toggle"'),
    (flag("f", {"name": "magic"}), 'strategies[0].name: unknown strategy "magic"'),
    (flag("f", default(c("v", "FOO", ["x"]))), 'strategies[0].constraints[0].operator: unknown operator "FOO"'),
    (flag("f", default(), default(c("v", "IN", ["x"]), c("v", "BAR", ["x"]))),
     'strategies[1].constraints[1].operator: unknown operator "BAR"'),
    (flag("f", default(c("", "IN", ["x"]))), "strategies[0].constraints[0].contextName: required non-empty string"),
    (flag("f", default(c("v", "IN", "x"))), "strategies[0].constraints[0].values: required list of strings"),
    (flag("f", default(c("v", "IN", [1]))), "strategies[0].constraints[0].values: required list of strings"),
    (flag("f", default(c("v", "NUM_GT", "ten"))), 'strategies[0].constraints[0].value: not a number "ten"'),
    (flag("f", default(c("v", "NUM_GT"))), "strategies[0].constraints[0].value: required"),
    (flag("f", default(c("v", "DATE_AFTER", "tomorrow"))),
     'strategies[0].constraints[0].value: not an ISO 8601 date and time "tomorrow"'),
    (flag("f", default(c("v", "SEMVER_GT", "v1.0"))),
     'strategies[0].constraints[0].value: not a semantic version "v1.0"'),
    (flag("f", default(c("v", "REGEX", "(?=x)"))),
     'strategies[0].constraints[0].value: not a valid RE2 regular expression "(?=x)"'),
    (flag("f", default(c("v", "IN_CIDR", ["10.0.0.0/33"]))),
     'strategies[0].constraints[0].values: invalid IP address or CIDR "10.0.0.0/33"'),
    (flag("f", default(c("v", "IN", ["x"], inverted="yes"))),
     "strategies[0].constraints[0].inverted: must be true or false"),
    (flag("f", rollout("150")), "strategies[0].parameters.rollout: must be a number from 0 to 100"),
    (flag("f", {"name": "flexibleRollout", "parameters": {}}),
     "strategies[0].parameters.rollout: must be a number from 0 to 100"),
    (flag("f", gradual("gradualRolloutUserId", "x")),
     "strategies[0].parameters.percentage: must be a number from 0 to 100"),
    (flag("f", {"name": "userWithId", "parameters": {"userIds": " , "}}),
     "strategies[0].parameters.userIds: required comma-separated user ids"),
    (flag("f", remote("1.2.3.4, nope")), 'strategies[0].parameters.IPs: invalid IP address or CIDR "nope"'),
    (flag("f", default(segments=[1])), 'strategies[0].segments[0]: unknown segment "1"'),
    (flag("f", default(segments=[None])), "strategies[0].segments[0]: not a segment id"),
    (flag("f", variants=[variant("a"), variant("a")]), 'variants[1].name: duplicate variant "a"'),
    (flag("f", variants=[variant("a", 0)]), "variants: total weight must be greater than 0"),
    (flag("f", variants=[variant("a", -1)]), "variants[0].weight: must be a whole number from 0 to 1000"),
    (flag("f", variants=[{"name": "a", "weight": 1, "payload": {"type": "json", "value": "{"}}]),
     "variants[0].payload.value: not valid JSON"),
    (flag("f", variants=[{"name": "a", "weight": 1, "payload": {"type": "xml", "value": "<a/>"}}]),
     'variants[0].payload.type: unknown payload type "xml"'),
    (flag("f", variants=[variant("a", overrides=[{"contextName": "userId", "values": "1"}])]),
     "variants[0].overrides[0].values: required list of strings"),
    (flag("f", default(variants=[variant("", 1)])), "strategies[0].variants[0].name: required non-empty string"),
    (flag("f", dependencies=[{"feature": "f"}]), "dependencies[0].feature: a flag cannot depend on itself"),
    (flag("f", dependencies=[{"feature": "p", "variants": "v"}]),
     "dependencies[0].variants: must be a list of variant names"),
    (flag("f", dependencies=[{"feature": ""}]), "dependencies[0].feature: required flag name"),
])
def test_validate_feature_reports_problems(feature: object, problem: str) -> None:
    problems = validate_feature(feature, segment_ids=[])
    assert any(p.startswith(problem) for p in problems), problems


def test_notices_name_in_conditions_that_ask_to_ignore_case() -> None:
    feature = flag("f", default(), default(c("plan", "IN", ["pro"], caseInsensitive=True),
                                           c("plan", "STR_CONTAINS", ["pro"], caseInsensitive=True),
                                           c("plan", "NOT_IN", ["x"], caseInsensitive=True)))
    assert notices(feature) == [
        'Strategy 2, condition 1: "ignore case" is set on IN, which always compares exactly (as the Unleash SDKs do)',
        'Strategy 2, condition 3: "ignore case" is set on NOT_IN, which always compares exactly '
        "(as the Unleash SDKs do)"]
    assert validate_feature(feature) == []  # still valid: only a notice
    assert notices(flag("f", default(c("plan", "IN", ["pro"])))) == [] == notices("junk")


@pytest.mark.parametrize(("op", "value", "valid"), [
    ("DATE_AFTER", "2024-05-01T00:00:00Z", True),
    ("DATE_AFTER", "2024-05-01T00:00:00.000+02:00", True),
    ("DATE_AFTER", " 2024-05-01T00:00:00Z ", True),
    ("DATE_AFTER", "2024-05-01", False),  # the Python SDK would turn the whole flag off
    ("DATE_AFTER", "2024-05-01T00:00:00.123456Z", False),
    ("DATE_AFTER", "2024-05-01T00:00:00", False),
    ("NUM_GT", "5", True),
    ("NUM_GT", " -1.5e3 ", True),
    ("NUM_GT", ".5", False),
    ("NUM_GT", "Infinity", False),
    ("NUM_GT", 5, False),  # a JSON number: the Python SDK would refuse every flag of the payload
])
def test_numbers_and_dates_must_be_written_as_the_sdks_read_them(op: str, value: object, valid: bool) -> None:
    assert (validate_feature(flag("f", default(c("x", op, value)))) == []) is valid


@pytest.mark.parametrize(("op", "values", "problem"), [
    ("IN", ["pro", " team"], '" team" is empty or has spaces around it'),
    ("NOT_IN", ["pro", ""], '"" is empty or has spaces around it'),
    ("STR_CONTAINS", ["x "], '"x " is empty or has spaces around it'),
    ("IN_CIDR", ["10.0.0.0/8 "], '"10.0.0.0/8 " is empty or has spaces around it'),
])
def test_list_values_must_be_exact(op: str, values: list, problem: str) -> None:
    assert validate_feature(flag("f", default(c("x", op, values)))) == [
        f"strategies[0].constraints[0].values: {problem} (the SDKs would not agree on it)"]
