"""Cases ported from github.com/Unleash/client-specification (specifications/*.json): same flags,
contexts and expected answers, so a pass means an Unleash SDK and this engine agree. Variant cases whose
stored copy predates the variant hash seed (08, 12) are taken from the Node SDK's seeded variant tests.
"""

from __future__ import annotations

from tests.flags.engine_helpers import c, default, flag, gradual, remote, rollout, variant

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
    # 16-case-insensitive-in-operators was withdrawn from the specification (Unleash/client-specification
    # #53, a revert of #48): IN and NOT_IN always compare exactly, `caseInsensitive` or not, as both
    # official SDKs do. Its flags are kept with the answers the SDKs give.
    (SPEC_16_CI, "F9.caseInsensitiveIn", props(appName="App"), False),
    (SPEC_16_CI, "F9.caseInsensitiveIn", props(appName="App2-iOS-[v1]"), False),
    (SPEC_16_CI, "F9.caseInsensitiveIn", props(appName="app2-ios-[v1]"), True),
    (SPEC_16_CI, "F9.caseInsensitiveInInverted", props(appName="App"), True),
    (SPEC_16_CI, "F9.caseInsensitiveInInverted", props(appName="App2-iOS-[v1]"), True),
    (SPEC_16_CI, "F9.caseInsensitiveNotIn", props(appName="APP"), True),
    (SPEC_16_CI, "F9.caseInsensitiveNotIn", props(appName="app"), False),
    (SPEC_16_CI, "F9.caseInsensitiveNotInInverted", props(appName="APP2-IOS-[V1]"), False),
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
