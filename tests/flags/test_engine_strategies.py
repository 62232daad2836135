"""Activation strategies and segments (nous.flags.engine.strategies)."""

from __future__ import annotations

import pytest

from nous.flags.engine import Engine, bucket, validate_feature
from tests.flags.engine_helpers import c, default, flag, gradual, remote, rollout, users_on

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
    ("u1, u2,", "", True),  # an empty entry matches a userId given as "", as in both official SDKs
    ("u1, u2", "", False),
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
    ("192.168.0.0/16", "::ffff:192.168.4.4", False),  # an IPv6 address, even IPv4-mapped (as in the SDKs)
    ("192.168.0.0/16", " 192.168.4.4", False),  # the address is read exactly, no spaces
    ("not-an-ip, 10.0.0.0/33, 1.2.3.4", "1.2.3.4", True),
    ("not-an-ip", "not-an-ip", False),  # entries that are not an IP or CIDR are ignored (IN_CIDR's rules)
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


def test_a_segment_id_written_with_a_superscript_digit_is_a_name_not_a_crash() -> None:
    e = Engine([flag("f", default(segments=["¹"]))], [{"id": "¹", "constraints": []}])
    assert e.is_enabled("f") is True
    assert validate_feature(flag("f", default(segments=["¹"])), segment_ids=["¹"]) == []
