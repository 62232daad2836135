"""Why a flag is on or off (nous.flags.engine.explain)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nous.flags.engine import Engine, bucket
from tests.flags.engine_helpers import c, default, flag, rollout, variant

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
