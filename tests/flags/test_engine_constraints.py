"""Constraints and the context values they read (nous.flags.engine.constraints, .context)."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from nous.flags.engine import OPERATORS, Engine, validate_feature
from tests.flags.engine_helpers import c, default, flag, on
from tests.flags.unleash_spec import regex_flag

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
    # caseInsensitive does nothing on IN and NOT_IN, as in both official SDKs
    assert on(c("plan", "IN", ["pro"], caseInsensitive=True), {"plan": "PRO"}) is False
    assert on(c("plan", "NOT_IN", ["pro"], caseInsensitive=True), {"plan": "PRO"}) is True
    assert on(c("plan", "IN", ["pro"], caseInsensitive=True), {"plan": "pro"}) is True


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
    ("NUM_LTE", "0", "0", True),
    ("NUM_LTE", "0", " 0 ", False),  # a context number with spaces is not one (as the SDKs read it)
    ("NUM_LTE", " 0 ", "0", True),  # in the definition, spaces around it are fine
    ("NUM_GT", "0", "١٢", False),  # ASCII digits only
    ("NUM_GT", "0", "1e3", True),
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
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00.000001", False),  # a context date needs a zone
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00.000001Z", True),
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "2024-05-01 00:00:01z", True),  # RFC 3339 as the SDKs read it
    ("DATE_AFTER", "2024-05-01T00:00:00Z", " 2024-05-01T01:00:01+0100 ", True),
    ("DATE_AFTER", "2024-05-01T00:00:00Z", "2024-05-02", False),  # a date alone is not a context date
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
    # numbers past 2^64 - 1 are refused, as the SDKs refuse them (Rust's semver, node's safe integers)
    ("SEMVER_GT", "1.0.0", "18446744073709551615.0.0", True),
    ("SEMVER_GT", "1.0.0", "99999999999999999999.0.0", False),
    ("SEMVER_LT", "99999999999999999999.0.0", "1.0.0", False),  # invalid target
    ("SEMVER_GT", "1.0.0", " 2.0.0", False),  # a context version is read exactly
    ("SEMVER_GT", " 1.0.0 ", "2.0.0", True),  # in the definition, spaces around it are fine
    ("SEMVER_GT", "1.0.0", "١.٢.٣", False),  # ASCII digits only
])
def test_semver_operators_order_pre_releases(op: str, target: str, version: object, expected: bool) -> None:
    assert on(c("version", op, target), {"properties": {"version": version}}) is expected


def test_semver_past_2_64_is_refused_by_validation() -> None:
    assert validate_feature(flag("f", default(c("v", "SEMVER_EQ", "99999999999999999999.0.0")))) == [
        'strategies[0].constraints[0].value: not a semantic version "99999999999999999999.0.0"']
    assert on(c("v", "SEMVER_EQ", "99999999999999999999.0.0", inverted=True), {"v": "1.0.0"}) is False


def test_regex_tests_an_empty_string_as_the_sdks_do() -> None:
    assert on(c("email", "REGEX", "^$"), {"properties": {"email": ""}}) is True
    assert on(c("email", "REGEX", "^$"), {"email": ""}) is True
    assert on(c("email", "REGEX", "^$"), {}) is False  # absent is still missing
    assert on(c("email", "REGEX", "^[a-z]+$", inverted=True), {"email": ""}) is True


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
    (["10.0.0.0/8"], "::ffff:10.1.2.3", False),  # an IPv6 address, even IPv4-mapped (as in the SDKs)
    (["::ffff:0:0/96"], "::ffff:10.1.2.3", True),
    (["10.0.0.0/8"], " 10.1.2.3", False),  # written exactly, no spaces
    (["10.0.0.0/255.0.0.0"], "10.1.2.3", True),  # a netmask for IPv4
    (["10.0.0.0/255.0.255.0"], "10.1.2.3", False),  # not a netmask: the entry is ignored
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
