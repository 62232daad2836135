"""The console's simple form and the strategies it stands for."""

from __future__ import annotations

from nous.flags import service
from tests.flags.conftest import rollout

ACTOR = "admin@nous.test"


def test_the_simple_form_round_trips_and_knows_its_limits(ctx, make_flag) -> None:
    conditions = [service.condition_from_form("environment", "IN", "prod, staging"),
                  service.condition_from_form("appVersion", "SEMVER_GTE", "2.1.0", inverted=True)]
    strategies = service.strategies_from_simple("simple", "35", ["t1", " t2 ", ""], conditions)
    flag = make_flag("simple", enabled=True, strategies=strategies)
    model = service.simple_model(flag)
    assert (model.rollout, model.user_ids) == (35, ["t1", "t2"])
    assert model.conditions == [{"contextName": "environment", "operator": "IN", "values": ["prod", "staging"]},
                                {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0",
                                 "inverted": True}]
    assert service.simple_model(make_flag("bare")).rollout == 100  # no strategies: everyone
    complex_flag = make_flag("complex", strategies=[rollout(5, stickiness="sessionId")])
    assert service.simple_model(complex_flag) is None
    assert service.simple_model(make_flag("two", strategies=[rollout(1), rollout(2)])) is None
