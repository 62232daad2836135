"""What a refused import answers with is bounded however bad the document: the first problems, each named,
then how many more; and the segments Unleash's full export links to a strategy are each strategy's, in the
document's order."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from nous.flags import service
from nous.flags.service.transfer import ERRORS_MAX

ACTOR = "admin@nous.test"
ENVS = ("development", "staging", "production")


def _bad(n: int) -> dict[str, Any]:
    return {"version": 2, "features": [{"name": f"f{i:04d}", "enabled": "yes"} for i in range(n)]}


def _refused(doc: dict[str, Any], **kwargs: Any) -> service.FlagError:
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR, **kwargs)
    assert err.value.status == 422 and service.list_flags() == []
    return err.value


def test_a_refusal_names_the_first_problems_then_how_many_more(ctx) -> None:
    err = _refused(_bad(ERRORS_MAX + 150))
    assert len(err.errors) == ERRORS_MAX + 1
    assert list(err.errors)[:ERRORS_MAX] == [f'features[{i}] "f{i:04d}".enabled' for i in range(ERRORS_MAX)]
    assert list(err.errors.items())[-1] == ("…", "and 150 more problem(s)")
    assert err.message == f'Nothing imported: {ERRORS_MAX + 150} problem(s), the first in features[0] "f0000".enabled.'
    # replace's own refusal comes first, then the document's problems, bounded as well
    err = _refused(_bad(ERRORS_MAX + 5), mode="replace")
    assert next(iter(err.errors)) == "mode" and len(err.errors) == ERRORS_MAX + 1
    assert err.errors["…"] == "and 6 more problem(s)" and f"{ERRORS_MAX + 5} other problem(s)" in err.message
    # up to the limit, every problem and nothing more
    assert len(_refused(_bad(ERRORS_MAX)).errors) == ERRORS_MAX
    assert "…" not in _refused(_bad(ERRORS_MAX)).errors


def test_the_console_shows_the_first_problems_then_how_many_more(admin_client) -> None:
    resp = admin_client.post("/admin/beta/flags/-/import", data={"mode": "merge", "document": json.dumps(_bad(500))})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Nothing imported: 500 problem(s)" in text
    assert text.count("must be true or false") == ERRORS_MAX and "and 400 more problem(s)" in text


def test_the_segments_linked_to_a_strategy_are_its_own_then_the_links_in_order(ctx) -> None:
    segments = [{"id": sid, "name": f"s{sid}", "constraints": []} for sid in (1, 2, 3, 4)]
    doc = {"version": 4, "environments": [{"name": e} for e in ENVS], "segments": segments,
           "features": [{"name": "a"}, {"name": "b"}],
           "featureEnvironments": [{"featureName": k, "environment": e, "enabled": True} for k in "ab" for e in ENVS],
           "featureStrategies": [
               {"id": "sa", "featureName": "a", "environment": "production", "name": "default", "segments": [4]},
               {"id": 7, "featureName": "b", "environment": "staging", "name": "default"}],
           "featureStrategySegments": [{"featureStrategyId": "sa", "segmentId": 2},
                                       {"featureStrategyId": 7, "segmentId": 3},
                                       {"featureStrategyId": "sa", "segmentId": 1},
                                       {"featureStrategyId": 7, "segmentId": 1}]}
    sent = copy.deepcopy(doc)
    service.import_document(doc, actor=ACTOR)
    assert doc == sent  # the caller's document is read, not changed
    assert [s["segments"] for s in service.get_flag("a").strategies] == [[4, 2, 1]]
    assert [s["segments"] for s in service.get_flag("b", environment="staging").strategies] == [[3, 1]]
    bad = {**copy.deepcopy(doc), "featureStrategySegments": [{"featureStrategyId": "sa", "segmentId": 2},
                                                             {"featureStrategyId": "7", "segmentId": 3},
                                                             {"featureStrategyId": True, "segmentId": 3}]}
    err = pytest.raises(service.FlagError, service.import_document, bad, actor=ACTOR).value
    assert err.errors == {f"featureStrategySegments[{i}].featureStrategyId": "no strategy of the document has "
                          "this id" for i in (1, 2)}
