"""What an import accepts, exactly: ids a database column can hold, booleans that are booleans, whole
numbers that are whole — each refusal naming the field — and a large document checked in linear time."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from nous.flags import service

ACTOR = "admin@nous.test"
ID_MAX = 2**31 - 1


def _refused(doc: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(service.FlagError) as err:
        service.import_document(copy.deepcopy(doc), actor=ACTOR, **kwargs)
    assert err.value.status == 422
    return err.value.errors


def _full(**feature: Any) -> dict[str, Any]:
    return {"version": 4, "environments": [{"name": "development"}, {"name": "staging"}, {"name": "production"}],
            "features": [{"name": "a", "type": "release", **feature}],
            "featureEnvironments": [{"featureName": "a", "environment": e, "enabled": e == "production"}
                                    for e in ("development", "staging", "production")],
            "featureStrategies": [{"featureName": "a", "environment": "production", "name": "default", "id": "s1",
                                   "sortOrder": 0}]}


def test_a_large_document_is_checked_in_linear_time(ctx) -> None:
    """Thousands of flags that each depend on a parent: each flag's check looks up its children rather than
    scanning (or copying) every flag of the document."""
    n = 3000
    features = [{"name": "root", "enabled": True}]
    features += [{"name": f"f{i:05d}", "enabled": False, "dependencies": [{"feature": "root"}]} for i in range(n)]
    features.append({"name": "bad", "enabled": "x"})  # refuses the document: nothing is stored
    started = time.perf_counter()
    errors = _refused({"version": 2, "features": features})
    elapsed = time.perf_counter() - started
    assert errors == {'features[3001] "bad".enabled': "must be true or false"}
    assert elapsed < 2, f"{n} flags checked in {elapsed:.1f} s"
    # the one-level rule still holds across the document
    features[1]["dependencies"] = [{"feature": "f00001"}]
    errors = _refused({"version": 2, "features": features[:-1]})
    assert errors['features[1] "f00000".dependencies[0].feature'] == '"f00001" depends on other flags itself ' \
                                                                     "(one level only)"
    few = [{"name": "root", "enabled": True, "dependencies": [{"feature": "x"}]},
           {"name": "f00000", "enabled": True, "dependencies": [{"feature": "root"}]}, {"name": "x", "enabled": True}]
    errors = _refused({"version": 2, "features": few})
    assert errors['features[0] "root".dependencies'] == "other flags depend on this one (f00000); one level only"


@pytest.mark.parametrize("sid", [0, 2**31, 2**40, 2**63])
def test_segment_ids_a_database_integer_cannot_hold_are_refused(ctx, sid: int) -> None:
    errors = _refused({"version": 2, "features": [], "segments": [{"id": sid, "name": "s", "constraints": []}]})
    assert errors == {"segments[0].id": f"required whole number from 1 to {ID_MAX}"}
    doc = {"version": 2, "features": [{"name": "z", "enabled": True,
                                       "strategies": [{"name": "default", "segments": [sid]}]}]}
    assert 'features[0] "z".strategies[0].segments[0]' in _refused(doc)
    assert service.list_segments() == [] and service.list_flags() == []


def test_the_largest_segment_id_is_stored(ctx) -> None:
    doc = {"version": 2, "segments": [{"id": ID_MAX, "name": "top", "constraints": []}],
           "features": [{"name": "z", "enabled": True, "strategies": [{"name": "default", "segments": [ID_MAX]}]}]}
    service.import_document(doc, actor=ACTOR)
    assert [s.id for s in service.list_segments()] == [ID_MAX]
    assert service.get_flag("z").strategies[0]["segments"] == [ID_MAX]


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["features"][0].__setitem__("archived", "true"), 'features[0] "a".archived'),
    (lambda d: d["features"][0].__setitem__("archived", 1), 'features[0] "a".archived'),
    (lambda d: d.__setitem__("segments", [{"id": 3, "name": "n", "description": {"a": 1}, "constraints": []}]),
     "segments[0].description"),
    (lambda d: d["featureStrategies"][0].__setitem__("id", True), "featureStrategies[0].id"),
    (lambda d: d["featureStrategies"][0].__setitem__("sortOrder", float("nan")), "featureStrategies[0].sortOrder"),
    (lambda d: d["featureStrategies"][0].__setitem__("sortOrder", float("inf")), "featureStrategies[0].sortOrder"),
    (lambda d: d["featureStrategies"][0].__setitem__("sortOrder", 1e30), "featureStrategies[0].sortOrder"),
    (lambda d: d["featureStrategies"][0].__setitem__("sortOrder", 10**30), "featureStrategies[0].sortOrder"),
    (lambda d: d["featureStrategies"][0].__setitem__("sortOrder", 1.5), "featureStrategies[0].sortOrder"),
    (lambda d: d.__setitem__("version", 4.0), "version"),
    (lambda d: d.__setitem__("version", True), "version"),
])
def test_what_is_not_quite_the_type_is_refused_naming_the_field(ctx, change, field: str) -> None:
    doc = _full()
    change(doc)
    assert field in _refused(doc)
    assert service.list_flags() == [] and service.list_segments() == []


def test_the_one_environment_document_s_archived_and_version_are_exact(ctx) -> None:
    errors = _refused({"version": 2, "features": [{"name": "a", "enabled": True, "archived": "true"}]})
    assert errors == {'features[0] "a".archived': "must be true or false"}
    assert "version" in _refused({"version": 2.0, "features": []})
    # what is exact is taken: booleans, whole-number sort orders, a text description, a strategy id of 1
    doc = _full(archived=False)
    doc["featureStrategies"][0].update(sortOrder=2.0, id=1)
    doc["featureStrategySegments"] = [{"featureStrategyId": 1, "segmentId": 3}]
    doc["segments"] = [{"id": 3, "name": "n", "description": "staff", "constraints": []}]
    service.import_document(doc, actor=ACTOR)
    assert service.get_flag("a").strategies[0]["segments"] == [3]
    assert service.list_segments()[0].description == "staff"
    service.import_document({"version": 2, "features": [{"name": "a", "enabled": True, "archived": True}]},
                            actor=ACTOR)
    assert service.get_flag("a").archived is True
