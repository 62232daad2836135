"""The flag evaluation engine: Unleash client-specification cases, then our own edge cases.

The `SPEC_*` cases are ported from github.com/Unleash/client-specification (specifications/*.json):
same flags, contexts and expected answers, so a pass here means an Unleash SDK and this engine agree.
Variant cases whose stored copy predates the variant hash seed (08, 12) are taken from the Node SDK's
seeded variant tests instead. These tests need no fixture from tests/conftest.py.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections import UserDict
from datetime import UTC, datetime, timedelta, timezone

import mmh3
import pytest

from nous.flags.engine import (
    ALGORITHM_VERSION,
    OPERATORS,
    VARIANT_SEED,
    Engine,
    bucket,
    validate_feature,
)

# ----------------------------------------------------------------------------------- helpers


def default(*constraints: dict, **extra: object) -> dict:
    return {"name": "default", "parameters": {}, "constraints": list(constraints), **extra}


def rollout(pct: object, stickiness: str = "default", group: str | None = None, *constraints: dict,
            **extra: object) -> dict:
    params: dict = {"rollout": pct, "stickiness": stickiness}
    if group is not None:
        params["groupId"] = group
    return {"name": "flexibleRollout", "parameters": params, "constraints": list(constraints), **extra}


def flag(name: str, *strategies: dict, enabled: bool = True, **extra: object) -> dict:
    return {"name": name, "enabled": enabled, "strategies": list(strategies), **extra}


def c(context_name: str, operator: str, values: object = None, **extra: object) -> dict:
    """A constraint; a list goes to `values`, anything else to `value`."""
    out: dict = {"contextName": context_name, "operator": operator, **extra}
    if isinstance(values, list):
        out["values"] = values
    elif values is not None:
        out["value"] = values
    return out


def on(constraint: dict, context: dict | None = None) -> bool:
    """Whether a flag whose only strategy is `default` with this one constraint is on."""
    return Engine([flag("f", default(constraint))]).is_enabled("f", context or {})


def variant(name: str, weight: int = 1, value: str | None = None, **extra: object) -> dict:
    out: dict = {"name": name, "weight": weight, **extra}
    if value is not None:
        out["payload"] = {"type": "string", "value": value}
    return out


def users_on(engine: Engine, key: str, n: int = 2000) -> set[str]:
    return {f"u{i}" for i in range(n) if engine.is_enabled(key, {"userId": f"u{i}"})}


# ------------------------------------------------- Unleash client specification: is_enabled

SPEC_01 = [
    flag("Feature.A", {"name": "default"}),
    flag("Feature.B", {"name": "default"}, enabled=False),
    flag("Feature.C"),
]
SPEC_02 = [
    flag("Feature.A2", {"name": "userWithId", "parameters": {"userIds": "123"}}),
    flag("Feature.C2", {"name": "userWithId", "parameters": {"userIds": "123"}}, {"name": "default"}),
    flag("Feature.D2", {"name": "userWithId", "parameters": {"userIds": "123, 222, 88"}}),
]


def gradual(kind: str, pct: str, group: str | None = "AB12A") -> dict:
    params = {"percentage": pct} if group is None else {"percentage": pct, "groupId": group}
    return {"name": kind, "parameters": params}


SPEC_03 = [
    flag("Feature.A3", gradual("gradualRolloutUserId", "100")),
    flag("Feature.B3", gradual("gradualRolloutUserId", "50")),
    flag("Feature.C3", gradual("gradualRolloutUserId", "0")),
    flag("Feature.D3", gradual("gradualRolloutUserId", "0"), {"name": "default"}),
]
SPEC_04 = [
    flag("Feature.A4", gradual("gradualRolloutSessionId", "100")),
    flag("Feature.B4", gradual("gradualRolloutSessionId", "50")),
    flag("Feature.C4", gradual("gradualRolloutSessionId", "0")),
    flag("Feature.D4", gradual("gradualRolloutSessionId", "0"), {"name": "default"}),
]
SPEC_05 = [
    flag("Feature.A5", gradual("gradualRolloutRandom", "100", None)),
    flag("Feature.B5", gradual("gradualRolloutRandom", "0", None)),
    flag("Feature.C5", gradual("gradualRolloutRandom", "0", None), {"name": "default"}),
    flag("Feature.D5", gradual("gradualRolloutRandom", "100", None), enabled=False),
]


def remote(ips: str) -> dict:
    return {"name": "remoteAddress", "parameters": {"IPs": ips}}


SPEC_06 = [
    flag("Feature.remoteAddress.A", remote("127.0.0.1")),
    flag("Feature.remoteAddress.B", remote("192.168.0.1, 192.168.0.2, 192.168.0.3")),
    flag("Feature.remoteAddress.C", remote("192.168.0.1, 192.invalid, 192.168.0.2, 192.168.0.3")),
]
SPEC_09 = [
    flag("Feature.constraints.simple", default(c("environment", "IN", ["dev"]))),
    flag("Feature.constraints.list", default(c("environment", "IN", ["dev", "stage", "prod"]))),
    flag("Feature.constraints.multi", default(
        c("environment", "IN", ["prod"]), c("userId", "IN", ["1", "2", "3"]),
        c("appName", "NOT_IN", ["web", "sun-app"]))),
    flag("Feature.constraints.userWithId", {
        "name": "userWithId", "parameters": {"userIds": "123"},
        "constraints": [c("environment", "IN", ["prod"])]}),
    flag("Feature.constraints.custom", default(
        c("environment", "IN", ["prod"]), c("country", "IN", ["norway", "sweeden"]))),
    flag("Feature.constraints.dual", default(
        c("environment", "IN", ["prod", "dev"]), c("environment", "NOT_IN", ["dev", "qa"]))),
    flag("Feature.constraints.empty", default(c("environment", "IN", []))),
    flag("Feature.constraints.empty-not-in", default(c("environment", "NOT_IN", []))),
]
SPEC_10 = [
    flag("Feature.flexibleRollout.100", rollout("100", "default", "Feature.flexibleRollout.100")),
    flag("Feature.flexibleRollout.10", rollout("10", "default", "Feature.flexibleRollout.10")),
    flag("Feature.flexibleRollout.userId.55", rollout("55", "userId", "Feature.flexibleRollout.userId.55")),
    flag("Feature.flexibleRollout.sessionId.42",
         rollout("42", "sessionId", "Feature.flexibleRollout.sessionId.42")),
]
SPEC_11 = [
    flag("Feature.constraints.no_values", default(c("environment", "IN", []))),
    flag("Feature.constraints.no_values_NOT_IN", default(c("environment", "NOT_IN", []))),
    flag("Feature.constraints.empty", default()),
]
SPEC_12 = [
    flag("Feature.flexible.rollout.custom.stickiness_100",
         rollout("100", "customField", "Feature.flexible.rollout.custom.stickiness_100")),
    flag("Feature.flexible.rollout.custom.stickiness_50",
         rollout("50", "customField", "Feature.flexible.rollout.custom.stickiness_50")),
]
SPEC_13 = [
    flag("F1.startsWith", default(c("customField", "STR_STARTS_WITH", ["some-string"]))),
    flag("F2.startsWith.multiple", default(c("customField", "STR_STARTS_WITH", ["e1", "e2"]))),
    flag("F2.startsWith.caseInsensitve",
         default(c("customField", "STR_STARTS_WITH", ["TEST"], caseInsensitive=True))),
    flag("F3.endsWith", default(c("email", "STR_ENDS_WITH", ["some-email.com"]))),
    flag("F3.endsWith.ignoringCase",
         default(c("email", "STR_ENDS_WITH", ["some-email.com"], caseInsensitive=True))),
    flag("F4.contains", default(c("email", "STR_CONTAINS", ["email"]))),
    flag("F4.contains.inverted", default(c("email", "STR_CONTAINS", ["email"], inverted=True))),
    flag("F5.numEq", default(c("someValue", "NUM_EQ", "12"))),
    flag("F5.numEq.float", default(c("someValue", "NUM_EQ", "12.0"))),
    flag("F5.numEq.inverted", default(c("someValue", "NUM_EQ", "12", inverted=True))),
    flag("F5.numGT", default(c("someValue", "NUM_GT", "12"))),
    flag("F5.numGTE", default(c("someValue", "NUM_GTE", "12"))),
    flag("F5.numLT", default(c("someValue", "NUM_LT", "12"))),
    flag("F5.numLTE", default(c("someValue", "NUM_LTE", "12"))),
    flag("F6.number-range", default(c("someValue", "NUM_GT", "12"), c("someValue", "NUM_LT", "16"))),
    flag("F7.dateAfter", default(c("currentTime", "DATE_AFTER", "2022-01-29T13:00:00.000Z"))),
    flag("F7.dateBefore", default(c("currentTime", "DATE_BEFORE", "2022-01-29T13:00:00.000Z"))),
    flag("F7.date-range", default(c("currentTime", "DATE_AFTER", "2022-01-22T13:00:00.000Z"),
                                  c("currentTime", "DATE_BEFORE", "2022-01-29T13:00:00.000Z"))),
    flag("F7.date-with-timezone", default(
        c("currentTime", "DATE_AFTER", "2022-01-22T13:00:00.000+02:00"),
        c("currentTime", "DATE_BEFORE", "2022-01-22T14:00:00.000+02:00"))),
    flag("F7.invalid-operator",
         default(c("customField", "NOT_A_VALID_OPERATOR", "2022-01-22T13:00:00.000Z"))),
    flag("F8.missing-field.IN", default(c("customFieldMissing", "IN", ["s1"]))),
    flag("F8.missing-field.NOT_IN", default(c("customFieldMissing", "NOT_IN", ["s1"]))),
    flag("F9.inverted.IN", default(c("someValue", "IN", ["s1", "s2"], inverted=True))),
    flag("F10.inverted.NOT_IN", default(c("someValue", "NOT_IN", ["s1", "s2"], inverted=True))),
]
SPEC_14 = [
    flag("F8.semverEQ", default(c("version", "SEMVER_EQ", "1.2.2"))),
    flag("F8.semverGT", default(c("version", "SEMVER_GT", "1.2.2"))),
    flag("F8.semverGTE", default(c("version", "SEMVER_GTE", "1.2.2"))),
    flag("F8.semverLT", default(c("version", "SEMVER_LT", "1.2.2"))),
    flag("F8.semverLTE", default(c("version", "SEMVER_LTE", "1.2.2"))),
    flag("F8.semverAlphaGT", default(c("version", "SEMVER_GT", "2.0.0-alpha.1"))),
    flag("F8.semverAlphaLT", default(c("version", "SEMVER_LT", "2.0.0-alpha.1"))),
    flag("F8.semverAlphaVersioning", default(c("version", "SEMVER_LT", "2.0.0-alpha.3"))),
    flag("F8.alphaUnnumbered", default(c("version", "SEMVER_GT", "2.0.0-alpha"))),
    flag("F8.releaseCandidate", default(c("version", "SEMVER_GT", "2.0.0-rc"))),
    flag("F8.invalidSemverWithLeadingV", default(c("version", "SEMVER_EQ", "v2.0.0"))),
    flag("F8.semverMetadataEQ", default(c("version", "SEMVER_EQ", "1.2.2+metadata"))),
    flag("F8.semverPreReleaseMetadataEQ", default(c("version", "SEMVER_EQ", "1.2.2-alpha.1+metadata"))),
    flag("F8.semverPreReleaseMetadataLT", default(c("version", "SEMVER_LT", "1.2.2-alpha.1+metadata"))),
    flag("F8.semverPreReleaseMetadataGT", default(c("version", "SEMVER_GT", "1.2.2-alpha.1+metadata.1"))),
]
SPEC_15_FEATURES = [
    flag("F9.globalSegmentOn", default(segments=[1])),
    flag("F9.globalSegmentOff", default(segments=[2])),
    flag("F9.globalSegmentAndConstraint", default(c("version", "SEMVER_EQ", "1.2.2"), segments=[1])),
    flag("F9.withMissingSegment", default(c("version", "SEMVER_EQ", "1.2.2"), segments=[3])),
    flag("F9.withSeveralConstraintsAndSegments", default(
        c("customNumber", "NUM_LT", "10"), c("version", "SEMVER_LT", "3.2.2"), segments=[1, 4, 5])),
]
SPEC_15_SEGMENTS = [
    {"id": 1, "constraints": [c("version", "SEMVER_EQ", "1.2.2")]},
    {"id": 2, "constraints": [c("version", "SEMVER_EQ", "3.1.4")]},
    {"id": 3, "constraints": [c("version", "SEMVER_EQ", "3.1.4")]},
    {"id": 4, "constraints": [c("customName", "STR_CONTAINS", ["Pi"])]},
    {"id": 5, "constraints": [c("slicesLeft", "NUM_LTE", "4")]},
]
SPEC_15 = (SPEC_15_FEATURES, SPEC_15_SEGMENTS)
APP_VALUES = ["app", "app2-ios-[v1]"]
SPEC_16_CI = [
    flag("F9.caseInsensitiveIn", default(c("appName", "IN", APP_VALUES, caseInsensitive=True))),
    flag("F9.caseInsensitiveInInverted",
         default(c("appName", "IN", APP_VALUES, caseInsensitive=True, inverted=True))),
    flag("F9.caseInsensitiveNotIn", default(c("appName", "NOT_IN", APP_VALUES, caseInsensitive=True))),
    flag("F9.caseInsensitiveNotInInverted",
         default(c("appName", "NOT_IN", APP_VALUES, caseInsensitive=True, inverted=True))),
]


def child(name: str, *deps: dict, enabled: bool = True, constraints: tuple = ()) -> dict:
    strategy = rollout("100", "default", "groupId", *constraints,
                       variants=[variant("child.variant", 1, "variantValue")])
    return flag(name, strategy, enabled=enabled, dependencies=list(deps))


SPEC_17 = [
    flag("parent.enabled", {"name": "default"}),
    flag("parent.disabled", {"name": "default"}, enabled=False),
    flag("parent.with.variant", rollout("100", "default", "parent",
                                        variants=[variant("parent.variant", 1, "variantValue")])),
    flag("parent.with.constraint", rollout("100", "default", "parent", c("environment", "IN", ["prod"]),
                                           variants=[variant("parent.variant", 1, "variantValue")])),
    child("child.with.matching.constraint", {"feature": "parent.with.constraint"},
          constraints=(c("environment", "IN", ["prod"]),)),
    child("child.with.non.matching.constraint", {"feature": "parent.with.constraint"},
          constraints=(c("environment", "IN", ["dev"]),)),
    child("parent.with.cycle", {"feature": "child.with.cycle"}),
    child("child.with.cycle", {"feature": "parent.with.cycle"}),
    child("child.with.transitive.dependency", {"feature": "parent.enabled.child.enabled"}),
    child("parent.enabled.child.enabled", {"feature": "parent.enabled"}),
    child("parent.enabled.child.disabled", {"feature": "parent.enabled"}, enabled=False),
    child("parent.disabled.child.enabled", {"feature": "parent.disabled"}),
    child("parent.disabled.child.disabled", {"feature": "parent.disabled"}, enabled=False),
    child("parent.default.variant.child.enabled", {"feature": "parent.enabled", "variants": ["disabled"]}),
    child("parent.disabled.satisfied.child.enabled", {"feature": "parent.disabled", "enabled": False}),
    child("parent.disabled.not.satisfied.child.enabled", {"feature": "parent.enabled", "enabled": False}),
    child("parent.single.variant.child.enabled",
          {"feature": "parent.with.variant", "variants": ["parent.variant"]}),
    child("parent.multiple.variants.child.enabled",
          {"feature": "parent.with.variant", "variants": ["parent.variant", "nonmatching.variant"]}),
    child("parent.empty.variants.child.enabled", {"feature": "parent.with.variant", "variants": []}),
    child("parent.non.matching.variant.child.enabled",
          {"feature": "parent.with.variant", "variants": ["nonmatching.variant"]}),
    child("multiple.parents.satisfied.child.enabled",
          {"feature": "parent.enabled"}, {"feature": "parent.disabled", "enabled": False}),
    child("multiple.parents.not.satisfied.child.enabled",
          {"feature": "parent.enabled"}, {"feature": "parent.disabled"}),
    child("parents.not.exist.child.enabled", {"feature": "parent.not.exist"}),
]
SPEC_18 = [flag("Feature.UTF-8.Hellø_Wørld", {"name": "default"}),
           flag("Feature.UTF-8.😊_φriend_你好_🌍", {"name": "default"})]


def regex_flag(name: str, pattern: str, field: str = "userId", **extra: object) -> dict:
    return flag(name, default(c(field, "REGEX", pattern, **extra)))


SPEC_21 = [
    regex_flag("regex.case.sensitive", "^cat$"),
    regex_flag("invalid-regex-defaults-to-false", "(regex"),
    regex_flag("R01.literal_and_anchors", "^[^@]+@[^@]+$"),
    regex_flag("R01.literal_and_anchors.referencing.property", "^[^@]+@[^@]+$", "nested"),
    regex_flag("R02.perl_digit_class", r"^user\d{3}$"),
    regex_flag("R03.ascii_class", "^[[:alpha:]]+$"),
    regex_flag("R04.word_boundary_ascii", r"\bcat\b"),
    regex_flag("R05.alternation_prefer_left", "^(foo|fo)$"),
    regex_flag("R06.grouping_and_optional", "^(ab)?c$"),
    regex_flag("R07.repetition_range_limits", "^a{2,4}$"),
    regex_flag("R08.greedy_vs_nongreedy", "^a.*?b$"),
    regex_flag("R09.inline_flag_i", "^(?i)abc$"),
    regex_flag("Global.case.insensitive", "^abc$", caseInsensitive=True),
    regex_flag("Inverted.constraint", "^abc$", inverted=True),
    regex_flag("R10.inline_flag_m", "(?m)^foo$"),
    regex_flag("R11.inline_flag_s_dotall", "^(?s)a.b$"),
    regex_flag("R90.reject_lookahead", "^(?=a)b$"),
    regex_flag("R91.reject_backreference", r"^(a)\1$"),
]


def cidr_flag(name: str, values: list[str]) -> dict:
    return flag(name, default(c("remoteAddress", "IN_CIDR", values)))


SPEC_22 = [
    cidr_flag("CIDR.exact.match", ["127.0.0.1"]),
    cidr_flag("CIDR.range.match", ["160.33.0.0/16"]),
    cidr_flag("CIDR.mixed.values", ["127.invalid", "192.168.1.0/24"]),
    cidr_flag("CIDR.invalid.only", ["127.invalid"]),
    cidr_flag("CIDR.ipv6.exact.match", ["2001:db8::1"]),
    cidr_flag("CIDR.ipv6.range.match", ["2001:db8::/32"]),
    cidr_flag("CIDR.ipv6.mixed.values", ["bad::cidr", "2001:db8::/32"]),
]


def props(**kw: object) -> dict:
    return {"properties": kw}


SPEC_TESTS = [
    # 01-simple-examples
    (SPEC_01, "Feature.A", {}, True),
    (SPEC_01, "Feature.B", {}, False),
    (SPEC_01, "Feature.C", {}, True),
    (SPEC_01, "Unknown", {}, False),
    (SPEC_01, "Feature.A", {"userId": "123", "sessionId": "asd123", "remoteAddress": "127.0.0.1",
                            "properties": {"customName": "customValue", "anotherName": "anotherValue"}}, True),
    # 02-user-with-id-strategy
    (SPEC_02, "Feature.A2", {"userId": "123"}, True),
    (SPEC_02, "Feature.A2", {"userId": "22"}, False),
    (SPEC_02, "Feature.C2", {"userId": "22"}, True),
    (SPEC_02, "Feature.D2", {"userId": "222"}, True),
    (SPEC_02, "Feature.A2", {}, False),
    # 03-gradual-rollout-user-id-strategy
    (SPEC_03, "Feature.A3", {"userId": "123"}, True),
    (SPEC_03, "Feature.A3", {}, False),
    (SPEC_03, "Feature.B3", {"userId": "122"}, True),
    (SPEC_03, "Feature.B3", {"userId": "155"}, False),
    (SPEC_03, "Feature.C3", {"userId": "122"}, False),
    (SPEC_03, "Feature.D3", {}, True),
    # 04-gradual-rollout-session-id-strategy
    (SPEC_04, "Feature.A4", {"sessionId": "123"}, True),
    (SPEC_04, "Feature.A4", {}, False),
    (SPEC_04, "Feature.B4", {"sessionId": "122"}, True),
    (SPEC_04, "Feature.B4", {"sessionId": "155"}, False),
    (SPEC_04, "Feature.C4", {"sessionId": "122"}, False),
    (SPEC_04, "Feature.D4", {}, True),
    # 05-gradual-rollout-random-strategy
    (SPEC_05, "Feature.A5", {}, True),
    (SPEC_05, "Feature.B5", {}, False),
    (SPEC_05, "Feature.C5", {}, True),
    (SPEC_05, "Feature.D5", {}, False),
    # 06-remote-address-strategy
    (SPEC_06, "Feature.remoteAddress.A", {"remoteAddress": "127.0.0.1"}, True),
    (SPEC_06, "Feature.remoteAddress.A", {}, False),
    (SPEC_06, "Feature.remoteAddress.B", {"remoteAddress": "192.168.0.1"}, True),
    (SPEC_06, "Feature.remoteAddress.B", {"remoteAddress": "192.168.0.3"}, True),
    (SPEC_06, "Feature.remoteAddress.B", {"remoteAddress": "217.100.10.11"}, False),
    (SPEC_06, "Feature.remoteAddress.C", {"remoteAddress": "192.168.0.3"}, True),
    # 09-strategy-constraints
    (SPEC_09, "Feature.constraints.simple", {"environment": "default"}, False),
    (SPEC_09, "Feature.constraints.simple", {"environment": "dev"}, True),
    (SPEC_09, "Feature.constraints.list", {"environment": "stage"}, True),
    (SPEC_09, "Feature.constraints.list", {"environment": "qa"}, False),
    (SPEC_09, "Feature.constraints.multi", {"environment": "prod", "userId": "2"}, True),
    (SPEC_09, "Feature.constraints.multi", {"environment": "prod"}, False),
    (SPEC_09, "Feature.constraints.multi", {"environment": "prod", "userId": "2", "appName": "web"}, False),
    (SPEC_09, "Feature.constraints.custom", {"environment": "prod", **props(country="norway")}, True),
    (SPEC_09, "Feature.constraints.custom", {"environment": "prod", **props(country="denmark")}, False),
    (SPEC_09, "Feature.constraints.dual", {"environment": "prod"}, True),
    (SPEC_09, "Feature.constraints.dual", {"environment": "dev"}, False),
    (SPEC_09, "Feature.constraints.empty", {"environment": "dev"}, False),
    (SPEC_09, "Feature.constraints.empty-not-in", {"environment": "dev"}, True),
    (SPEC_09, "Feature.constraints.userWithId", {"environment": "prod", "userId": "123"}, True),
    (SPEC_09, "Feature.constraints.userWithId", {"environment": "dev", "userId": "123"}, False),
    (SPEC_09, "Feature.constraints.userWithId", {"environment": "prod", "userId": "44"}, False),
    # 10-flexible-rollout-strategy
    (SPEC_10, "Feature.flexibleRollout.100", {}, True),
    (SPEC_10, "Feature.flexibleRollout.10", {"userId": "174"}, True),
    (SPEC_10, "Feature.flexibleRollout.10", {"userId": "499"}, False),
    (SPEC_10, "Feature.flexibleRollout.10", {"sessionId": "174"}, True),
    (SPEC_10, "Feature.flexibleRollout.10", {"sessionId": "499"}, False),
    (SPEC_10, "Feature.flexibleRollout.userId.55", {"userId": "25"}, True),
    (SPEC_10, "Feature.flexibleRollout.userId.55", {"sessionId": "25"}, False),
    (SPEC_10, "Feature.flexibleRollout.userId.55", {}, False),
    (SPEC_10, "Feature.flexibleRollout.sessionId.42", {"sessionId": "147"}, True),
    # 11-strategy-constraints-edge-cases
    (SPEC_11, "Feature.constraints.no_values", {"environment": "default"}, False),
    (SPEC_11, "Feature.constraints.no_values", {}, False),
    (SPEC_11, "Feature.constraints.no_values_NOT_IN", {"environment": "default"}, True),
    (SPEC_11, "Feature.constraints.no_values_NOT_IN", {}, True),
    (SPEC_11, "Feature.constraints.empty", {"environment": "default"}, True),
    (SPEC_11, "Feature.constraints.empty", {}, True),
    # 12-custom-stickiness
    (SPEC_12, "Feature.flexible.rollout.custom.stickiness_100", {"customField": "any_value"}, True),
    (SPEC_12, "Feature.flexible.rollout.custom.stickiness_50", {}, False),
    (SPEC_12, "Feature.flexible.rollout.custom.stickiness_50", {"customField": "402"}, False),
    (SPEC_12, "Feature.flexible.rollout.custom.stickiness_50", {"customField": "388"}, True),
    (SPEC_12, "Feature.flexible.rollout.custom.stickiness_50", {"customField": "39"}, True),
    # 13-constraint-operators
    (SPEC_13, "F1.startsWith", props(customField="some-string-is-cool"), True),
    (SPEC_13, "F1.startsWith", props(customField="some2-is-cool-string"), False),
    (SPEC_13, "F2.startsWith.multiple", props(customField="e2 cool"), True),
    (SPEC_13, "F2.startsWith.multiple", props(customField="cool e1"), False),
    (SPEC_13, "F2.startsWith.caseInsensitve", props(customField="test@example.com"), True),
    (SPEC_13, "F2.startsWith.caseInsensitve", props(customField="TEsT@example.com"), True),
    (SPEC_13, "F3.endsWith", props(email="test@some-email.com"), True),
    (SPEC_13, "F3.endsWith", props(email="test@some-EMAIL.com"), False),
    (SPEC_13, "F3.endsWith.ignoringCase", props(email="test@SOME-EMAIL.com"), True),
    (SPEC_13, "F3.endsWith", props(email="test@another-email.com"), False),
    (SPEC_13, "F4.contains", props(email="test@some-email.com"), True),
    (SPEC_13, "F4.contains", props(email="test@another.com"), False),
    (SPEC_13, "F4.contains.inverted", props(email="test@another.com"), True),
    (SPEC_13, "F5.numEq", props(someValue="12"), True),
    (SPEC_13, "F5.numEq", props(someValue="12.0"), True),
    (SPEC_13, "F5.numEq.inverted", props(someValue="12"), False),
    (SPEC_13, "F5.numEq.float", props(someValue="12.0"), True),
    (SPEC_13, "F5.numEq.float", props(someValue="12"), True),
    (SPEC_13, "F5.numEq.inverted", props(someValue="13"), True),
    (SPEC_13, "F5.numGT", props(someValue="13"), True),
    (SPEC_13, "F5.numGT", props(someValue="12"), False),
    (SPEC_13, "F5.numGTE", props(someValue="12"), True),
    (SPEC_13, "F5.numGTE", props(someValue="13"), True),
    (SPEC_13, "F5.numGTE", props(someValue="11"), False),
    (SPEC_13, "F5.numLTE", props(someValue="13"), False),
    (SPEC_13, "F5.numLTE", props(someValue="12"), True),
    (SPEC_13, "F5.numLTE", props(someValue="0"), True),
    (SPEC_13, "F5.numLT", props(someValue="0"), True),
    (SPEC_13, "F5.numLT", props(someValue="12"), False),
    (SPEC_13, "F6.number-range", props(someValue="11"), False),
    (SPEC_13, "F6.number-range", props(someValue="14"), True),
    (SPEC_13, "F7.dateAfter", {"currentTime": "2022-01-30T13:00:00.000Z"}, True),
    (SPEC_13, "F7.dateAfter", {"currentTime": "2022-01-28T13:00:00.000Z"}, False),
    (SPEC_13, "F7.dateAfter", {"currentTime": "2022-01-29T13:00:00.000Z"}, False),
    (SPEC_13, "F7.dateBefore", {"currentTime": "2022-01-28T13:00:00.000Z"}, True),
    (SPEC_13, "F7.dateBefore", {"currentTime": "2022-01-30T13:00:00.000Z"}, False),
    (SPEC_13, "F7.dateBefore", {"currentTime": "2022-01-29T13:00:00.000Z"}, False),
    (SPEC_13, "F7.date-range", {"currentTime": "2022-01-25T13:00:00.000Z"}, True),
    (SPEC_13, "F7.date-with-timezone", {"currentTime": "2022-01-22T11:30:00.000Z"}, True),
    (SPEC_13, "F7.invalid-operator", props(someValue="12"), False),
    (SPEC_13, "F8.missing-field.IN", {}, False),
    (SPEC_13, "F8.missing-field.IN", props(customFieldMissing="s1"), True),
    (SPEC_13, "F8.missing-field.NOT_IN", {}, True),
    (SPEC_13, "F8.missing-field.NOT_IN", props(customFieldMissing=None), True),
    (SPEC_13, "F9.inverted.IN", props(someValue="s1"), False),
    (SPEC_13, "F10.inverted.NOT_IN", props(someValue="s1"), True),
    # 14-constraint-semver-operators
    (SPEC_14, "F8.semverEQ", props(version="1.2.2"), True),
    (SPEC_14, "F8.semverEQ", props(version="1.2.2+metadata"), True),
    (SPEC_14, "F8.semverEQ", props(version="1.2.0"), False),
    (SPEC_14, "F8.semverGT", props(version="1.2.3"), True),
    (SPEC_14, "F8.semverGT", props(version="1.2.0"), False),
    (SPEC_14, "F8.semverGT", props(version="1.2.2+metadata"), False),
    (SPEC_14, "F8.semverGTE", props(version="1.2.2"), True),
    (SPEC_14, "F8.semverGTE", props(version="1.2.3"), True),
    (SPEC_14, "F8.semverGTE", props(version="1.2.1"), False),
    (SPEC_14, "F8.semverLT", props(version="1.2.1"), True),
    (SPEC_14, "F8.semverLT", props(version="1.2.3"), False),
    (SPEC_14, "F8.semverLT", props(version="1.2.2+metadata"), False),
    (SPEC_14, "F8.semverLTE", props(version="1.2.2"), True),
    (SPEC_14, "F8.semverLTE", props(version="1.2.1"), True),
    (SPEC_14, "F8.semverLTE", props(version="1.2.3"), False),
    (SPEC_14, "F8.semverAlphaGT", props(version="2.0.0-beta.1"), True),
    (SPEC_14, "F8.semverAlphaGT", props(version="2.0.0"), True),
    (SPEC_14, "F8.semverAlphaLT", props(version="2.0.0-beta.1"), False),
    (SPEC_14, "F8.semverAlphaLT", props(version="1.9.1-beta.1"), True),
    (SPEC_14, "F8.semverAlphaLT", props(version="2.0.0"), False),
    (SPEC_14, "F8.semverAlphaVersioning", props(version="2.0.0-alpha.1"), True),
    (SPEC_14, "F8.semverAlphaVersioning", props(version="2.0.0-alpha.4"), False),
    (SPEC_14, "F8.alphaUnnumbered", props(version="2.0.0-alpha.1"), True),
    (SPEC_14, "F8.releaseCandidate", props(version="2.0.0-alpha.1"), False),
    (SPEC_14, "F8.releaseCandidate", props(version="2.0.0-beta.1"), False),
    (SPEC_14, "F8.releaseCandidate", props(version="2.0.0"), True),
    (SPEC_14, "F8.invalidSemverWithLeadingV", props(version="v2.0.0"), False),
    (SPEC_14, "F8.invalidSemverWithLeadingV", props(version="not a semver"), False),
    (SPEC_14, "F8.semverMetadataEQ", props(version="1.2.2"), True),
    (SPEC_14, "F8.semverMetadataEQ", props(version="1.2.2+metadata.1"), True),
    (SPEC_14, "F8.semverMetadataEQ", props(version="1.2.2+metadata"), True),
    (SPEC_14, "F8.semverPreReleaseMetadataEQ", props(version="1.2.2-alpha.1"), True),
    (SPEC_14, "F8.semverPreReleaseMetadataEQ", props(version="1.2.2-alpha.1+metadata.1"), True),
    (SPEC_14, "F8.semverPreReleaseMetadataEQ", props(version="1.2.2-alpha.1+metadata"), True),
    (SPEC_14, "F8.semverPreReleaseMetadataLT", props(version="1.2.2-alpha.1"), False),
    (SPEC_14, "F8.semverPreReleaseMetadataGT", props(version="1.2.2-alpha.1+metadata.2"), False),
    # 15-global-constraints (segments)
    (SPEC_15, "F9.globalSegmentOn", props(version="1.2.2"), True),
    (SPEC_15, "F9.globalSegmentOff", props(version="3.2.2"), False),
    (SPEC_15, "F9.globalSegmentAndConstraint", props(version="1.2.2"), True),
    (SPEC_15, "F9.withMissingSegment", props(version="1.2.2"), False),
    (SPEC_15, "F9.withSeveralConstraintsAndSegments",
     props(version="1.2.2", customNumber="3.14", customName="Pie", slicesLeft="4"), True),
    # 16-case-insensitive-in-operators
    (SPEC_16_CI, "F9.caseInsensitiveIn", props(appName="App"), True),
    (SPEC_16_CI, "F9.caseInsensitiveIn", props(appName="App2-iOS-[v1]"), True),
    (SPEC_16_CI, "F9.caseInsensitiveInInverted", props(appName="App"), False),
    (SPEC_16_CI, "F9.caseInsensitiveInInverted", props(appName="App2-iOS-[v1]"), False),
    (SPEC_16_CI, "F9.caseInsensitiveNotIn", props(appName="APP"), False),
    (SPEC_16_CI, "F9.caseInsensitiveNotInInverted", props(appName="APP2-IOS-[V1]"), True),
    # 17-dependent-features
    (SPEC_17, "parent.enabled.child.enabled", {}, True),
    (SPEC_17, "parent.enabled.child.disabled", {}, False),
    (SPEC_17, "parent.disabled.child.enabled", {}, False),
    (SPEC_17, "parent.disabled.child.disabled", {}, False),
    (SPEC_17, "parent.disabled.satisfied.child.enabled", {}, True),
    (SPEC_17, "parent.disabled.not.satisfied.child.enabled", {}, False),
    (SPEC_17, "parent.single.variant.child.enabled", {}, True),
    (SPEC_17, "parent.multiple.variants.child.enabled", {}, True),
    (SPEC_17, "parent.empty.variants.child.enabled", {}, True),
    (SPEC_17, "parent.non.matching.variant.child.enabled", {}, False),
    (SPEC_17, "multiple.parents.satisfied.child.enabled", {}, True),
    (SPEC_17, "multiple.parents.not.satisfied.child.enabled", {}, False),
    (SPEC_17, "parents.not.exist.child.enabled", {}, False),
    (SPEC_17, "child.with.cycle", {}, False),
    (SPEC_17, "child.with.transitive.dependency", {}, False),
    (SPEC_17, "child.with.matching.constraint", {"environment": "prod"}, True),
    (SPEC_17, "child.with.non.matching.constraint", {"environment": "dev"}, False),
    (SPEC_17, "parent.default.variant.child.enabled", {}, True),
    # 18-utf8-flag-names
    (SPEC_18, "Feature.UTF-8.Hellø_Wørld", {}, True),
    (SPEC_18, "Feature.UTF-8.😊_φriend_你好_🌍", {}, True),
    # 21-regex-constraint-operators
    (SPEC_21, "R01.literal_and_anchors", {"userId": "test@example.com"}, True),
    (SPEC_21, "R01.literal_and_anchors", {"userId": "not-an-email"}, False),
    (SPEC_21, "invalid-regex-defaults-to-false", {"userId": "any-value"}, False),
    (SPEC_21, "R01.literal_and_anchors.referencing.property", props(nested=None), False),
    (SPEC_21, "R01.literal_and_anchors.referencing.property", props(nested="test@example.com"), True),
    (SPEC_21, "R01.literal_and_anchors", {}, False),
    (SPEC_21, "R02.perl_digit_class", {"userId": "user123"}, True),
    (SPEC_21, "R02.perl_digit_class", {"userId": "user12"}, False),
    (SPEC_21, "R03.ascii_class", {"userId": "AlphaBeta"}, True),
    (SPEC_21, "R03.ascii_class", {"userId": "Alpha1"}, False),
    (SPEC_21, "R04.word_boundary_ascii", {"userId": "a cat b"}, True),
    (SPEC_21, "R04.word_boundary_ascii", {"userId": "concatenate"}, False),
    (SPEC_21, "R05.alternation_prefer_left", {"userId": "foo"}, True),
    (SPEC_21, "R05.alternation_prefer_left", {"userId": "fo"}, True),
    (SPEC_21, "R05.alternation_prefer_left", {"userId": "f"}, False),
    (SPEC_21, "R06.grouping_and_optional", {"userId": "abc"}, True),
    (SPEC_21, "R06.grouping_and_optional", {"userId": "c"}, True),
    (SPEC_21, "R06.grouping_and_optional", {"userId": "ac"}, False),
    (SPEC_21, "R07.repetition_range_limits", {"userId": "aaaa"}, True),
    (SPEC_21, "R07.repetition_range_limits", {"userId": "a"}, False),
    (SPEC_21, "R07.repetition_range_limits", {"userId": "aaaaa"}, False),
    (SPEC_21, "R08.greedy_vs_nongreedy", {"userId": "a___b___b"}, True),
    (SPEC_21, "R08.greedy_vs_nongreedy", {"userId": "a___b___c"}, False),
    (SPEC_21, "R09.inline_flag_i", {"userId": "AbC"}, True),
    (SPEC_21, "R09.inline_flag_i", {"userId": "zAbCz"}, False),
    (SPEC_21, "Global.case.insensitive", {"userId": "AbC"}, True),
    (SPEC_21, "regex.case.sensitive", {"userId": "Cat"}, False),
    (SPEC_21, "regex.case.sensitive", {"userId": "cat"}, True),
    (SPEC_21, "Inverted.constraint", {"userId": "xyz"}, True),
    (SPEC_21, "Inverted.constraint", {"userId": "abc"}, False),
    (SPEC_21, "R10.inline_flag_m", {"userId": "x\nfoo\ny"}, True),
    (SPEC_21, "R10.inline_flag_m", {"userId": "x\nfo\ny"}, False),
    (SPEC_21, "R11.inline_flag_s_dotall", {"userId": "a\nb"}, True),
    (SPEC_21, "R90.reject_lookahead", {"userId": "ab"}, False),
    (SPEC_21, "R91.reject_backreference", {"userId": "aa"}, False),
    # 22-cidr-constraint-operators
    (SPEC_22, "CIDR.exact.match", {"remoteAddress": "127.0.0.1"}, True),
    (SPEC_22, "CIDR.exact.match", {"remoteAddress": "127.0.0.2"}, False),
    (SPEC_22, "CIDR.range.match", {"remoteAddress": "160.33.0.33"}, True),
    (SPEC_22, "CIDR.range.match", {"remoteAddress": "160.34.0.1"}, False),
    (SPEC_22, "CIDR.mixed.values", {"remoteAddress": "192.168.1.42"}, True),
    (SPEC_22, "CIDR.invalid.only", {"remoteAddress": "127.0.0.1"}, False),
    (SPEC_22, "CIDR.range.match", {}, False),
    (SPEC_22, "CIDR.ipv6.exact.match", {"remoteAddress": "2001:db8::1"}, True),
    (SPEC_22, "CIDR.ipv6.exact.match", {"remoteAddress": "2001:db8::2"}, False),
    (SPEC_22, "CIDR.ipv6.range.match", {"remoteAddress": "2001:db8:0:1::42"}, True),
    (SPEC_22, "CIDR.ipv6.range.match", {"remoteAddress": "2001:db9::1"}, False),
    (SPEC_22, "CIDR.ipv6.mixed.values", {"remoteAddress": "2001:db8::abcd"}, True),
]


def _engine_for(state: object) -> Engine:
    if isinstance(state, tuple):
        return Engine(*state)
    return Engine(state)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "key", "context", "expected"), SPEC_TESTS,
                         ids=[f"{t[1]}-{i}" for i, t in enumerate(SPEC_TESTS)])
def test_client_specification_is_enabled(state: object, key: str, context: dict, expected: bool) -> None:
    assert _engine_for(state).is_enabled(key, context) is expected


# ------------------------------------------------- Unleash client specification: variants


def pv(name: str, value: str, ptype: str = "string") -> dict:
    return {"name": name, "enabled": True, "payload": {"type": ptype, "value": value}}


DISABLED = {"name": "disabled", "enabled": False}

SPEC_08 = [
    flag("Feature.Variants.A", default(), variants=[variant("variant1", 1, "val1")]),
    flag("Feature.Variants.override.D", variants=[
        variant("variant1", 33, "val1", overrides=[{"contextName": "userId", "values": ["132", "61"]}]),
        variant("variant2", 33, "val2"), variant("variant3", 34, "val3")]),
    flag("Feature.Variants.E", default(), enabled=False, variants=[variant("variant1", 1, "val1")]),
    flag("Feature.Variants.F", default(), variants=[]),
    flag("Feature.Variants.G", rollout("0", "default", "feature-variant-g"),
         variants=[variant("variant1", 1, "val1")]),
    flag("Feature.Variants.H", default(),
         variants=[{"name": "variant1", "weight": 1, "payload": {"type": "number", "value": "1.2"}}]),
]
STRATEGY_A = {"rollout": "100", "stickiness": "default", "groupId": "a"}
SPEC_16_SV = [
    flag("Feature.strategy.variant.with.constraint", {
        "name": "flexibleRollout", "parameters": STRATEGY_A,
        "variants": [variant("variantName", 1, "variantValue")],
        "constraints": [c("environment", "IN", ["dev"])]}, variants=[]),
    flag("Feature.strategy.variant.overrides.feature.variant", {
        "name": "flexibleRollout", "parameters": STRATEGY_A,
        "variants": [variant("variantName", 1, "variantValue")],
        "constraints": [c("environment", "IN", ["dev"])]},
        variants=[variant("featureVariant", 1, "willBeIgnored")]),
    flag("Feature.strategy.multiple.variants", {
        "name": "flexibleRollout", "parameters": STRATEGY_A,
        "variants": [variant("variantNameA", 1, "variantValueA"), variant("variantNameB", 1, "variantValueB")],
        "constraints": []}, variants=[]),
    flag("Feature.strategy.empty.variants",
         {"name": "flexibleRollout", "parameters": STRATEGY_A, "variants": [], "constraints": []}, variants=[]),
    flag("Feature.strategy.variant.fallback", {"name": "flexibleRollout", "parameters": STRATEGY_A},
         variants=[variant("featureVariant", 1, "fallbackValue")]),
    flag("Feature.strategy.numeric.variants", {
        "name": "flexibleRollout", "parameters": STRATEGY_A, "constraints": [], "variants": [
            {"name": "variantNameA", "weight": 1, "payload": {"type": "number", "value": "1.2"}},
            {"name": "variantNameB", "weight": 1, "payload": {"type": "number", "value": "1"}}]}, variants=[]),
    flag("Feature.strategy.no.strategy.variants",
         {"name": "flexibleRollout", "parameters": STRATEGY_A, "variants": [], "constraints": []},
         variants=[{"name": "variantNameA", "weight": 1, "payload": {"type": "number", "value": "1"}}]),
]


def node_variants(n: int, **extra: object) -> list[dict]:
    return [{"name": f"variant{i + 1}", "weight": 1, "payload": {"type": "string", "value": ""}, **extra}
            for i in range(n)]


# The Node SDK's seeded variant tests (unleash-node-sdk, src/test/variant.test.ts): flag "toggleName".
NODE_2 = [flag("toggleName", variants=node_variants(2))]
NODE_3 = [flag("toggleName", variants=node_variants(3))]
NODE_STICKY_2 = [flag("toggleName", variants=node_variants(2, stickiness="someField"))]
NODE_STICKY_4 = [flag("toggleName", variants=[dict(v, weight=25, stickiness="organization")
                                              for v in node_variants(4)])]
NODE_OVERRIDE_FIRST = [flag("toggleName", variants=[
    dict(node_variants(3)[0], overrides=[{"contextName": "userId", "values": ["z", "b"]}]),
    dict(node_variants(3)[1], overrides=[{"contextName": "userId", "values": ["z"]}]),
    node_variants(3)[2]])]

VARIANT_TESTS = [
    # 08-variants (the cases that do not depend on the hash seed)
    (SPEC_08, "Feature.Variants.A", {"userId": "0"}, pv("variant1", "val1")),
    (SPEC_08, "Feature.Variants.MissingToggle", {}, DISABLED),
    (SPEC_08, "Feature.Variants.override.D", {"userId": "132"}, pv("variant1", "val1")),
    (SPEC_08, "Feature.Variants.override.D", {"userId": "61"}, pv("variant1", "val1")),
    (SPEC_08, "Feature.Variants.E", {"userId": "0"}, DISABLED),
    (SPEC_08, "Feature.Variants.F", {"userId": "0"}, DISABLED),
    (SPEC_08, "Feature.Variants.G", {"userId": "0"}, DISABLED),
    (SPEC_08, "Feature.Variants.H", {"userId": "0"}, pv("variant1", "1.2", "number")),
    # 16-strategy-variants
    (SPEC_16_SV, "Feature.strategy.variant.with.constraint", {"environment": "dev"},
     pv("variantName", "variantValue")),
    (SPEC_16_SV, "Feature.strategy.variant.with.constraint", {"environment": "not-dev"}, DISABLED),
    (SPEC_16_SV, "Feature.strategy.variant.overrides.feature.variant", {"environment": "dev"},
     pv("variantName", "variantValue")),
    (SPEC_16_SV, "Feature.strategy.multiple.variants", {"userId": "5"}, pv("variantNameA", "variantValueA")),
    (SPEC_16_SV, "Feature.strategy.multiple.variants", {"userId": "0"}, pv("variantNameB", "variantValueB")),
    (SPEC_16_SV, "Feature.strategy.empty.variants", {}, DISABLED),
    (SPEC_16_SV, "Feature.strategy.variant.fallback", {}, pv("featureVariant", "fallbackValue")),
    (SPEC_16_SV, "Feature.strategy.numeric.variants", {"userId": "0"}, pv("variantNameB", "1", "number")),
    (SPEC_16_SV, "Feature.strategy.no.strategy.variants", {"userId": "0"}, pv("variantNameA", "1", "number")),
    # 17-dependent-features
    (SPEC_17, "parent.enabled.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "parent.enabled.child.disabled", {}, DISABLED),
    (SPEC_17, "parent.disabled.child.enabled", {}, DISABLED),
    (SPEC_17, "parent.disabled.child.disabled", {}, DISABLED),
    (SPEC_17, "parent.disabled.satisfied.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "parent.disabled.not.satisfied.child.enabled", {}, DISABLED),
    (SPEC_17, "parent.single.variant.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "parent.multiple.variants.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "parent.empty.variants.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "parent.non.matching.variant.child.enabled", {}, DISABLED),
    (SPEC_17, "multiple.parents.satisfied.child.enabled", {}, pv("child.variant", "variantValue")),
    (SPEC_17, "multiple.parents.not.satisfied.child.enabled", {}, DISABLED),
    (SPEC_17, "parents.not.exist.child.enabled", {}, DISABLED),
    (SPEC_17, "child.with.cycle", {}, DISABLED),
    (SPEC_17, "child.with.transitive.dependency", {}, DISABLED),
    (SPEC_17, "child.with.matching.constraint", {"environment": "prod"}, pv("child.variant", "variantValue")),
    (SPEC_17, "child.with.non.matching.constraint", {"environment": "dev"}, DISABLED),
    (SPEC_17, "parent.default.variant.child.enabled", {}, pv("child.variant", "variantValue")),
    # Node SDK seeded variant selection (seed 86028157, groupId = flag name)
    (NODE_2, "toggleName", {"userId": "a"}, pv("variant1", "")),
    (NODE_2, "toggleName", {"userId": "0"}, pv("variant2", "")),
    (NODE_STICKY_2, "toggleName", {"someField": "a"}, pv("variant1", "")),
    (NODE_STICKY_2, "toggleName", {"someField": "0"}, pv("variant2", "")),
    (NODE_STICKY_4, "toggleName", {"organization": "1430"}, pv("variant1", "")),
    (NODE_STICKY_4, "toggleName", {"organization": "125"}, pv("variant2", "")),
    (NODE_STICKY_4, "toggleName", {"organization": "930"}, pv("variant3", "")),
    (NODE_STICKY_4, "toggleName", {"organization": "381"}, pv("variant4", "")),
    (NODE_3, "toggleName", {"userId": "0"}, pv("variant1", "")),
    (NODE_3, "toggleName", {"userId": "zxa"}, pv("variant2", "")),
    (NODE_3, "toggleName", {"userId": "ya"}, pv("variant3", "")),
    (NODE_OVERRIDE_FIRST, "toggleName", {"userId": "z"}, pv("variant1", "")),
]


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


# ---------------------------------------------------------------------------- strategies


def test_unknown_strategy_is_off_but_a_later_known_one_still_counts() -> None:
    e = Engine([flag("f", {"name": "applicationHostname", "parameters": {"hostNames": "x"}}),
                flag("g", {"name": "nope"}, {"name": "default"})])
    assert e.is_enabled("f", {"userId": "1"}) is False
    assert e.is_enabled("g", {"userId": "1"}) is True


def test_flag_without_strategies_is_on_but_switched_off_flag_is_off() -> None:
    e = Engine([flag("a"), flag("b", enabled=False), {"name": "c", "enabled": True}])
    assert e.is_enabled("a") is True
    assert e.is_enabled("b") is False
    assert e.is_enabled("c") is True


def test_disabled_strategy_never_matches() -> None:
    e = Engine([flag("f", default(disabled=True)), flag("g", default(disabled=True), default())])
    assert e.is_enabled("f") is False
    assert e.is_enabled("g") is True


@pytest.mark.parametrize(("user_ids", "user", "expected"), [
    ("123, 222 ,88", "222", True),
    ("123,222,88", "88", True),
    ("123", "1234", False),
    ("", "123", False),
    (["a", "b"], "b", True),
    (None, "123", False),
])
def test_user_with_id(user_ids: object, user: str, expected: bool) -> None:
    e = Engine([flag("f", {"name": "userWithId", "parameters": {"userIds": user_ids}})])
    assert e.is_enabled("f", {"userId": user}) is expected


def test_user_with_id_accepts_numeric_user_id_in_context() -> None:
    e = Engine([flag("f", {"name": "userWithId", "parameters": {"userIds": "42"}})])
    assert e.is_enabled("f", {"userId": 42}) is True
    assert e.is_enabled("f", {"userId": 43}) is False


def test_flexible_rollout_group_id_defaults_to_flag_name() -> None:
    named = Engine([flag("checkout", rollout("50"))])
    explicit = Engine([flag("other", rollout("50", "default", "checkout"))])
    users = [f"u{i}" for i in range(300)]
    assert [named.is_enabled("checkout", {"userId": u}) for u in users] == [
        explicit.is_enabled("other", {"userId": u}) for u in users]
    assert all(named.is_enabled("checkout", {"userId": u}) is (bucket("checkout", u) <= 50) for u in users)


def test_flexible_rollout_default_stickiness_falls_back_to_session_then_random() -> None:
    e = Engine([flag("f", rollout("50", "default", "g"))])
    on_session = [s for s in map(str, range(200)) if bucket("g", s) <= 50]
    off_session = [s for s in map(str, range(200)) if bucket("g", s) > 50]
    assert e.is_enabled("f", {"sessionId": on_session[0]}) is True
    assert e.is_enabled("f", {"sessionId": off_session[0]}) is False
    # userId wins over sessionId
    assert e.is_enabled("f", {"userId": off_session[0], "sessionId": on_session[0]}) is False
    # neither: random, so both answers occur
    assert {e.is_enabled("f", {}) for _ in range(200)} == {True, False}


def test_flexible_rollout_named_stickiness_missing_is_off_even_at_100() -> None:
    e = Engine([flag("f", rollout("100", "tenant")), flag("g", rollout("100", "sessionId"))])
    assert e.is_enabled("f", {"userId": "1"}) is False
    assert e.is_enabled("f", {"properties": {"tenant": "acme"}}) is True
    assert e.is_enabled("f", {"tenant": "acme"}) is True
    assert e.is_enabled("g", {"userId": "1"}) is False


def test_flexible_rollout_random_stickiness_is_random() -> None:
    e = Engine([flag("f", rollout("50", "random"))])
    assert {e.is_enabled("f", {"userId": "same"}) for _ in range(200)} == {True, False}


@pytest.mark.parametrize("pct", ["0", 0, "-5", "abc", None, "", [50], "NaN"])
def test_flexible_rollout_zero_or_invalid_percentage_is_off(pct: object) -> None:
    e = Engine([flag("f", rollout(pct))])
    assert not any(e.is_enabled("f", {"userId": f"u{i}"}) for i in range(300))


@pytest.mark.parametrize("pct", ["100", 100, 150, "100.0"])
def test_flexible_rollout_full_percentage_is_on_for_everyone(pct: object) -> None:
    e = Engine([flag("f", rollout(pct))])
    assert all(e.is_enabled("f", {"userId": f"u{i}"}) for i in range(300))
    assert e.is_enabled("f", {}) is True


def test_flexible_rollout_accepts_numbers_and_numeric_strings_alike() -> None:
    a = Engine([flag("f", rollout("33"))])
    b = Engine([flag("f", rollout(33))])
    assert users_on(a, "f") == users_on(b, "f")
    assert 400 < len(users_on(a, "f")) < 900


def test_gradual_rollouts_use_their_own_ids() -> None:
    e = Engine([flag("u", gradual("gradualRolloutUserId", "50", "G")),
                flag("s", gradual("gradualRolloutSessionId", "50", "G"))])
    ids = [str(i) for i in range(100)]
    assert [e.is_enabled("u", {"userId": i}) for i in ids] == [bucket("G", i) <= 50 for i in ids]
    assert [e.is_enabled("s", {"sessionId": i}) for i in ids] == [bucket("G", i) <= 50 for i in ids]
    assert e.is_enabled("u", {"sessionId": "1"}) is False
    assert e.is_enabled("s", {"userId": "1"}) is False


@pytest.mark.parametrize(("ips", "address", "expected"), [
    ("10.0.0.0/8", "10.200.3.4", True),
    ("10.0.0.0/8", "11.0.0.1", False),
    ("10.0.0.0/8, 192.168.1.7", "192.168.1.7", True),
    ("2001:db8::/32", "2001:db8:ffff::1", True),
    ("2001:db8::/32", "2001:db9::1", False),
    ("2001:db8::1", "2001:db8::1", True),
    ("192.168.0.0/16", "::ffff:192.168.4.4", True),
    ("not-an-ip, 10.0.0.0/33, 1.2.3.4", "1.2.3.4", True),
    ("not-an-ip", "not-an-ip", True),  # exact string match, as in Unleash
    ("10.0.0.0/8", "garbage", False),
    ("10.0.0.0/8", "", False),
    ("", "10.0.0.1", False),
])
def test_remote_address(ips: str, address: str, expected: bool) -> None:
    e = Engine([flag("f", remote(ips))])
    assert e.is_enabled("f", {"remoteAddress": address}) is expected


def test_first_matching_strategy_decides_and_strategies_are_ored() -> None:
    e = Engine([flag("f", default(c("environment", "IN", ["prod"])),
                     {"name": "userWithId", "parameters": {"userIds": "7"}})])
    assert e.is_enabled("f", {"environment": "prod"}) is True
    assert e.is_enabled("f", {"userId": "7"}) is True
    assert e.is_enabled("f", {"environment": "dev", "userId": "8"}) is False


# ---------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("operator", sorted(OPERATORS - {"NOT_IN"}))
def test_every_operator_except_not_in_is_false_on_a_missing_field_and_inverted_true(operator: str) -> None:
    value = {"DATE_AFTER": "2000-01-01T00:00:00Z", "DATE_BEFORE": "2999-01-01T00:00:00Z"}.get(
        operator, "1.0.0" if operator.startswith("SEMVER") else "1")
    values = ["10.0.0.0/8"] if operator == "IN_CIDR" else ["x"]
    plain = c("missing", operator, values if operator in {"IN", "IN_CIDR"} or operator.startswith("STR")
              else value)
    assert on(plain, {"userId": "1"}) is False
    assert on(dict(plain, inverted=True), {"userId": "1"}) is True


def test_not_in_with_missing_field_is_true_and_inverted_false() -> None:
    assert on(c("missing", "NOT_IN", ["x"])) is True
    assert on(c("missing", "NOT_IN", ["x"], inverted=True)) is False


@pytest.mark.parametrize("context", [
    {"plan": ""}, {"plan": None}, {"properties": {"plan": ""}}, {"properties": None}, {"properties": "x"},
    {"properties": {"plan": ["pro"]}}, {"properties": {"plan": {"x": 1}}},
])
def test_empty_null_or_unusable_values_count_as_missing(context: dict) -> None:
    assert on(c("plan", "IN", ["pro"]), context) is False
    assert on(c("plan", "NOT_IN", ["pro"]), context) is True


def test_top_level_field_wins_over_properties_and_empty_top_level_falls_back() -> None:
    constraint = c("plan", "IN", ["pro"])
    assert on(constraint, {"plan": "pro", "properties": {"plan": "free"}}) is True
    assert on(constraint, {"plan": "free", "properties": {"plan": "pro"}}) is False
    assert on(constraint, {"plan": "", "properties": {"plan": "pro"}}) is True


def test_in_compares_exact_strings_and_trims_configured_values() -> None:
    assert on(c("plan", "IN", [" pro "]), {"plan": "pro"}) is True
    assert on(c("plan", "IN", ["pro"]), {"plan": "Pro"}) is False
    assert on(c("plan", "IN", ["pro"], caseInsensitive=True), {"plan": "PRO"}) is True
    assert on(c("plan", "NOT_IN", ["pro"], caseInsensitive=True), {"plan": "PRO"}) is False


def test_scalars_in_context_and_values_compare_as_json_strings() -> None:
    assert on(c("seats", "IN", ["5"]), {"seats": 5}) is True
    assert on(c("seats", "IN", [5]), {"seats": "5"}) is True
    assert on(c("beta", "IN", ["true"]), {"beta": True}) is True
    assert on(c("ratio", "IN", ["2"]), {"ratio": 2.0}) is True


def test_empty_string_value_is_ignored_for_string_operators() -> None:
    assert on({"contextName": "email", "operator": "STR_CONTAINS", "value": ""}, {"email": "a"}) is False
    assert on({"contextName": "email", "operator": "STR_CONTAINS", "values": [" "]}, {"email": "a"}) is False


def test_string_operators_with_several_values_any_matches() -> None:
    assert on(c("email", "STR_CONTAINS", ["nope", "@corp"]), {"email": "a@corp.com"}) is True
    assert on(c("email", "STR_STARTS_WITH", []), {"email": "a@corp.com"}) is False
    assert on(c("email", "STR_ENDS_WITH", [""]), {"email": "a@corp.com"}) is False  # "" ignored
    assert on(c("email", "STR_CONTAINS", ["CORP"], caseInsensitive=True), {"email": "a@corp.com"}) is True
    assert on(c("email", "STR_CONTAINS", ["CORP"]), {"email": "a@corp.com"}) is False


def test_unicode_values_and_case_insensitive_unicode() -> None:
    assert on(c("city", "IN", ["Zürich"]), {"city": "Zürich"}) is True
    assert on(c("city", "STR_STARTS_WITH", ["ZÜ"], caseInsensitive=True), {"city": "zürich"}) is True
    assert on(c("名前", "IN", ["値"]), {"properties": {"名前": "値"}}) is True


@pytest.mark.parametrize(("op", "target", "value", "expected"), [
    ("NUM_EQ", "5", "5.0", True),
    ("NUM_EQ", "5", 5, True),
    ("NUM_EQ", 5, "5", True),
    ("NUM_GT", "-1.5", "-1", True),
    ("NUM_LT", "1e3", "999", True),
    ("NUM_GTE", "0", "abc", False),
    ("NUM_GT", "0", "1_000", False),
    ("NUM_GT", "0", True, False),
    ("NUM_LTE", "0", " 0 ", True),
    ("NUM_EQ", "abc", "1", False),
    ("NUM_EQ", "NaN", "NaN", False),
])
def test_number_operators(op: str, target: object, value: object, expected: bool) -> None:
    assert on(c("n", op, target), {"n": value}) is expected


def test_number_operator_with_invalid_target_is_false_even_inverted() -> None:
    assert on(c("n", "NUM_EQ", "abc", inverted=True), {"n": "1"}) is False


@pytest.mark.parametrize(("op", "target", "now", "expected"), [
    ("DATE_AFTER", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:01Z", True),
    ("DATE_AFTER", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z", False),  # exclusive
    ("DATE_BEFORE", "2024-05-01T12:00:00+02:00", "2024-05-01T09:59:59.999Z", True),
    ("DATE_BEFORE", "2024-05-01T00:00:00-05:00", "2024-05-01T04:59:59Z", True),
    ("DATE_BEFORE", "2024-05-01T00:00:00-05:00", "2024-05-01T05:00:00Z", False),
    ("DATE_AFTER", "2024-05-01", "2024-05-01T00:00:01Z", True),  # a date alone is midnight UTC
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00.000001", True),  # no zone: UTC
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "yesterday", False),
    ("DATE_AFTER", "not a date", "2024-05-01T00:00:00Z", False),
])
def test_date_operators_respect_time_zones(op: str, target: str, now: str, expected: bool) -> None:
    assert on(c("currentTime", op, target), {"currentTime": now}) is expected


def test_date_operator_accepts_datetime_objects_in_context() -> None:
    constraint = c("currentTime", "DATE_AFTER", "2024-05-01T12:00:00+02:00")
    tz = timezone(timedelta(hours=-3))
    assert on(constraint, {"currentTime": datetime(2024, 5, 1, 7, 0, 1, tzinfo=tz)}) is True
    assert on(constraint, {"currentTime": datetime(2024, 5, 1, 7, 0, 0, tzinfo=tz)}) is False


def test_date_operator_uses_now_when_current_time_is_missing() -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert on(c("currentTime", "DATE_AFTER", past)) is True
    assert on(c("currentTime", "DATE_BEFORE", past)) is False
    assert on(c("currentTime", "DATE_BEFORE", future)) is True
    # another field name does not default to now: missing is false
    assert on(c("signupAt", "DATE_AFTER", past)) is False


@pytest.mark.parametrize(("op", "target", "version", "expected"), [
    ("SEMVER_LT", "1.0.0", "1.0.0-alpha", True),
    ("SEMVER_LT", "1.0.0-alpha.beta", "1.0.0-alpha.1", True),  # numeric ids sort before words
    ("SEMVER_LT", "1.0.0-alpha.10", "1.0.0-alpha.2", True),  # numerically, not as text
    ("SEMVER_LT", "1.0.0-rc.1", "1.0.0-beta.11", True),
    ("SEMVER_GT", "1.9.9", "1.10.0", True),
    ("SEMVER_GTE", "2.0.0", "2.0.0+build.5", True),
    ("SEMVER_LTE", "2.0.0", "2.0.0-rc.1", True),
    ("SEMVER_EQ", "1.2.3", "1.2", False),
    ("SEMVER_EQ", "1.2.3", "01.2.3", False),
    ("SEMVER_EQ", "1.2.3", 123, False),
    ("SEMVER_EQ", "1.2", "1.2.0", False),  # invalid target
])
def test_semver_operators_order_pre_releases(op: str, target: str, version: object, expected: bool) -> None:
    assert on(c("version", op, target), {"properties": {"version": version}}) is expected


def test_semver_invalid_context_value_is_false_and_inverted_true() -> None:
    assert on(c("version", "SEMVER_GT", "1.0.0", inverted=True), {"version": "junk"}) is True
    assert on(c("version", "SEMVER_GT", "1.0.0"), {"version": "junk"}) is False


@pytest.mark.parametrize(("pattern", "value", "ci", "expected"), [
    ("^[a-z]+@corp\\.com$", "ann@corp.com", False, True),
    ("^[a-z]+@corp\\.com$", "ANN@corp.com", False, False),
    ("^[a-z]+@corp\\.com$", "ANN@CORP.COM", True, True),
    ("corp", "x-corp-y", False, True),  # unanchored search
    ("^ü+$", "üüü", False, True),
    ("^.$", "😊", False, True),  # one code point, not one byte
    ("[", "anything", False, False),
    ("(a)\\1", "aa", False, False),
    ("(?<=a)b", "ab", False, False),
    ("", "x", False, False),
])
def test_regex_uses_re2(pattern: str, value: str, ci: bool, expected: bool) -> None:
    assert on(c("v", "REGEX", pattern, caseInsensitive=ci), {"v": value}) is expected


def test_invalid_regex_is_false_even_when_inverted() -> None:
    assert on(c("v", "REGEX", "(unclosed", inverted=True), {"v": "x"}) is False


def test_regex_result_memo_gives_the_same_answers_as_fresh_evaluation() -> None:
    e = Engine([regex_flag("f", "^a[0-9]+$")])
    values = [f"a{i}" if i % 3 else f"b{i}" for i in range(6000)]  # more values than the memo holds
    first = [e.is_enabled("f", {"userId": v}) for v in values]
    again = [e.is_enabled("f", {"userId": v}) for v in reversed(values)][::-1]
    assert first == again == [bool(re.fullmatch("a[0-9]+", v)) for v in values]


@pytest.mark.parametrize(("values", "address", "expected"), [
    (["10.0.0.0/8"], "10.1.2.3", True),
    (["10.0.0.0/8"], "::ffff:10.1.2.3", True),
    (["fd00::/8"], "fd12:3456::1", True),
    (["fd00::/8"], "fe80::1", False),
    (["10.0.0.0/8"], "fd00::1", False),
    (["10.0.0.1/24"], "10.0.0.200", True),  # host bits ignored
    ([], "10.0.0.1", False),
    (["10.0.0.0/8"], "10.1.2", False),
    (["10.0.0.0/8"], "fe80::1%eth0", False),
])
def test_in_cidr(values: list, address: str, expected: bool) -> None:
    assert on(c("remoteAddress", "IN_CIDR", values), {"remoteAddress": address}) is expected


def test_in_cidr_matches_python_ipaddress_on_a_sample() -> None:
    net = "172.16.0.0/12"
    constraint = c("ip", "IN_CIDR", [net])
    for i in range(0, 2**32, 2**32 // 257):
        address = str(ipaddress.IPv4Address(i))
        assert on(constraint, {"ip": address}) is (ipaddress.IPv4Address(i) in ipaddress.ip_network(net))


@pytest.mark.parametrize("constraint", [
    "IN", None, 5, [], {}, {"operator": "IN", "values": ["x"]}, {"contextName": "", "operator": "IN"},
    {"contextName": 5, "operator": "IN", "values": ["x"]}, {"contextName": "v", "operator": 7},
    {"contextName": "v", "operator": "IN", "values": 5}, {"contextName": "v", "operator": "IN"},
    {"contextName": "v", "operator": "FOO", "values": ["x"], "inverted": True},
    {"contextName": "v", "operator": "SEMVER_EQ", "value": ["x", "y"]},
])
def test_unusable_constraints_are_false(constraint: object) -> None:
    e = Engine([flag("f", {"name": "default", "constraints": [constraint]})])
    assert e.is_enabled("f", {"v": "x", "userId": "x"}) is False


def test_value_and_values_are_both_accepted() -> None:
    assert on({"contextName": "v", "operator": "IN", "value": "x"}, {"v": "x"}) is True
    assert on({"contextName": "v", "operator": "NUM_EQ", "values": ["3"]}, {"v": "3"}) is True


def test_inverted_and_case_insensitive_must_be_real_booleans() -> None:
    assert on(c("v", "IN", ["x"], inverted="false"), {"v": "x"}) is True
    assert on(c("v", "IN", ["X"], caseInsensitive="true"), {"v": "x"}) is False


# ------------------------------------------------------------------------------ segments


def test_segment_constraints_must_all_hold() -> None:
    segs = [{"id": 7, "constraints": [c("plan", "IN", ["pro"]), c("region", "IN", ["eu"])]}]
    e = Engine([flag("f", default(segments=[7]))], segs)
    assert e.is_enabled("f", {"plan": "pro", "region": "eu"}) is True
    assert e.is_enabled("f", {"plan": "pro", "region": "us"}) is False


def test_unknown_or_unreadable_segment_turns_the_strategy_off() -> None:
    segs = [{"id": 1, "constraints": []}, {"id": 2, "constraints": "bad"}, "junk"]
    e = Engine([flag("a", default(segments=[1])), flag("b", default(segments=[9])),
                flag("c", default(segments=[2])), flag("d", default(segments="1"))], segs)
    assert e.is_enabled("a") is True
    assert e.is_enabled("b") is False
    assert e.is_enabled("c") is False
    assert e.is_enabled("d") is False


def test_segment_ids_may_be_numeric_strings() -> None:
    e = Engine([flag("f", default(segments=["3"]))], [{"id": 3, "constraints": []}])
    assert e.is_enabled("f") is True


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


# ------------------------------------------------------------------------------- explain


def test_explain_names_the_matching_strategy_and_every_constraint() -> None:
    e = Engine([flag("f",
                     default(c("plan", "IN", ["pro"])),
                     rollout("100", "default", "g", c("email", "STR_ENDS_WITH", ["@corp.com"]),
                             c("n", "FOO", "1")),
                     variants=[variant("v")])])
    out = e.explain("f", {"userId": "u1", "plan": "free", "email": "a@corp.com"})
    assert out["enabled"] is False and out["found"] is True
    assert out["reason"] == "no strategy matched"
    first, second = out["strategies"]
    assert first["constraints"][0] | {"context_value": "free", "passed": False} == first["constraints"][0]
    assert second["constraints"][0]["passed"] is True
    assert second["constraints"][1]["passed"] is False
    assert second["constraints"][1]["problem"] == 'unknown operator "FOO"'
    assert second["rule"]["bucket"] == bucket("g", "u1") and second["rule"]["passed"] is True
    out = e.explain("f", {"userId": "u1", "plan": "pro"})
    assert out["enabled"] is True and out["matched_strategy"] == 0
    assert out["reason"] == "strategy 0 (default) matched"
    assert out["variant"]["name"] == "v"


@pytest.mark.parametrize(("features", "overrides", "reason"), [
    ([flag("f", enabled=False)], None, "flag is switched off"),
    ([flag("f")], None, "flag has no strategies: on for everyone"),
    ([flag("f", default(), dependencies=[{"feature": "p"}])], None, "a dependency is not satisfied"),
    ([flag("f", enabled=False)], {"f": True}, "tester override: on"),
    ([], None, "unknown flag"),
])
def test_explain_reasons(features: list, overrides: dict | None, reason: str) -> None:
    out = Engine(features).explain("f", {}, overrides)
    assert out["reason"] == reason
    assert out["enabled"] is Engine(features).is_enabled("f", {}, overrides)


@pytest.mark.parametrize(("strategy", "problem"), [
    (default(segments="1"), "segments is not a list"),
    (default(segments=[4]), 'unknown segment "4"'),
    ({"name": "default", "constraints": "plan"}, "constraints is not a list"),
    (default(disabled=True), "strategy is disabled"),
    ({"name": "nope"}, 'unknown strategy "nope"'),
    ("default", "strategy is not an object"),
])
def test_explain_shows_why_a_strategy_can_never_match(strategy: object, problem: str) -> None:
    e = Engine([flag("f", strategy)], [{"id": 1, "constraints": []}])  # type: ignore[arg-type]
    out = e.explain("f", {"userId": "u1"})
    assert out["strategies"][0]["problems"] == [problem]
    assert out["strategies"][0]["matched"] is False
    assert out["enabled"] is False is e.is_enabled("f", {"userId": "u1"})


def test_explain_context_values_are_json_friendly() -> None:
    e = Engine([flag("f", default(c("currentTime", "DATE_AFTER", "2020-01-01T00:00:00Z"),
                                  c("tags", "IN", ["a"])))])
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = e.explain("f", {"currentTime": when, "tags": {"a"}})["strategies"][0]["constraints"]
    assert rows[0]["context_value"] == "2024-01-02T03:04:05+00:00" and rows[0]["passed"] is True
    assert rows[1]["context_value"] == "{'a'}" and rows[1]["passed"] is False


def test_explain_dependency_and_segment_details() -> None:
    e = Engine([flag("p", default(), variants=[variant("red")]),
                flag("f", default(segments=[1, 2]), dependencies=[{"feature": "p", "variants": ["blue"]}])],
               [{"id": 1, "constraints": [c("plan", "IN", ["pro"])]}])
    out = e.explain("f", {"plan": "pro"})
    assert out["dependencies"] == [{"feature": "p", "expect_enabled": True, "variants": ["blue"],
                                    "satisfied": False,
                                    "reason": 'parent variant "red" is not one of the required variants'}]
    segments = out["strategies"][0]["segments"]
    assert segments[0]["found"] is True and segments[0]["passed"] is True
    assert segments[1] == {"id": 2, "found": False, "passed": False, "constraints": []}
    assert out["enabled"] is False


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
