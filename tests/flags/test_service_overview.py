"""The list's few words on who gets a flag."""

from __future__ import annotations

import pytest

from nous.flags import service
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"


@pytest.mark.parametrize(("fields", "summary"), [
    ({}, "off"),
    ({"enabled": True}, "everyone"),
    ({"enabled": True, "strategies": [rollout(25, constraint("plan", "IN", ["pro"]))]}, "25 % if 1 condition(s)"),
    ({"enabled": True, "strategies": [{"name": "userWithId", "parameters": {"userIds": "a, b"}}, rollout(5)]},
     "2 user(s) or 5 %"),
    ({"enabled": True, "strategies": [rollout(100)], "variants": [{"name": "a", "weight": 1},
                                                                  {"name": "b", "weight": 1}]}, "100 % · 2 variants"),
    ({"enabled": True, "dependencies": [{"feature": "parent"}]}, "everyone · needs parent"),
])
def test_the_list_says_in_a_few_words_who_gets_a_flag(ctx, make_flag, fields, summary) -> None:
    make_flag("parent", enabled=True)
    assert service.rollout_summary(make_flag("child", **fields)) == summary
