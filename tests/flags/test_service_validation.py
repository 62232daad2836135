"""What a flag may be: refusals per field, keys in any script, one level of dependencies."""

from __future__ import annotations

import pytest

from nous.flags import service
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"key": "bad key"}, "key", "no spaces"),
    ({"key": "a/b"}, "key", "no spaces, control characters or /"),
    ({"key": "x" * 201}, "key", "at most 200"),
    ({"key": "."}, "key", "not . or .. alone"),  # /admin/beta/flags/. would be the list, not the flag
    ({"key": ".."}, "key", "not . or .. alone"),
    ({"key": "ok", "type": "toggle"}, "type", "one of release"),
    ({"key": "ok", "enabled": "yes"}, "enabled", "true or false"),
    ({"key": "ok", "strategies": {"name": "default"}}, "strategies", "must be a list"),
    ({"key": "ok", "strategies": [rollout(150)]}, "strategies[0].parameters.rollout", "from 0 to 100"),
    ({"key": "ok", "strategies": [{"name": "magic"}]}, "strategies[0].name", 'unknown strategy "magic"'),
    ({"key": "ok", "strategies": [{"name": ["x"]}]}, "strategies[0].name", "unknown strategy"),  # not a 500
    ({"key": "ok", "strategies": [{"name": {"x": 1}}]}, "strategies[0].name", "unknown strategy"),
    ({"key": "ok", "strategies": [rollout(5, constraint("v", "SEMVER_GT", "two"))]},
     "strategies[0].constraints[0].value", "not a semantic version"),
    ({"key": "ok", "strategies": [rollout(5, constraint("e", "REGEX", "(unclosed"))]},
     "strategies[0].constraints[0].value", "not a valid RE2"),
    ({"key": "ok", "strategies": [rollout(5, constraint("e", "LIKE", ["x"]))]},
     "strategies[0].constraints[0].operator", 'unknown operator "LIKE"'),
    ({"key": "ok", "strategies": [{"name": "default", "segments": [7]}]}, "strategies[0].segments[0]",
     'unknown segment "7"'),
    ({"key": "ok", "variants": [{"name": "a", "weight": 0}]}, "variants", "total weight"),
    ({"key": "ok", "variants": [{"name": "a", "weight": 1, "payload": {"type": "json", "value": "{"}}]},
     "variants[0].payload.value", "not valid JSON"),
    ({"key": "ok", "dependencies": [{"feature": "nowhere"}]}, "dependencies[0].feature", 'unknown flag "nowhere"'),
    ({"key": "ok", "enable_at": "next tuesday"}, "enable_at", "date and time"),
    ({"key": "ok", "colour": "red"}, "colour", "unknown field"),
])
def test_invalid_definitions_are_refused_per_field(ctx, fields, where, message) -> None:
    with pytest.raises(service.FlagError) as err:
        service.create_flag(fields, actor=ACTOR)
    assert message in err.value.errors[where], err.value.errors
    assert err.value.status in (400, 422)
    assert service.list_flags() == []


def test_unicode_keys_are_welcome(ctx, make_flag) -> None:
    make_flag("café.menü-ñ", enabled=True)
    assert service.get_flag("café.menü-ñ").enabled is True
    with pytest.raises(service.FlagError) as err:
        make_flag("café.menü-ñ")
    assert err.value.status == 409


def test_dependencies_are_one_level_only(ctx, make_flag) -> None:
    make_flag("a", enabled=True)
    make_flag("b", enabled=True, dependencies=[{"feature": "a"}])
    with pytest.raises(service.FlagError) as err:
        make_flag("c", dependencies=[{"feature": "b"}])
    assert "one level only" in err.value.errors["dependencies[0].feature"]
    with pytest.raises(service.FlagError) as err:
        service.update_flag("a", {"dependencies": [{"feature": "b"}]}, actor=ACTOR)
    assert "one level only" in str(err.value)
