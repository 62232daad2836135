"""Export and import in Unleash's format; an invalid part refuses the whole document."""

from __future__ import annotations

import json

import pytest

from nous.audit import service as audit
from nous.flags import service
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"


def test_export_import_round_trip_in_the_unleash_format(ctx, make_flag) -> None:
    seg = service.save_segment(None, "beta-users", [constraint("plan", "IN", ["beta"])], actor=ACTOR)
    make_flag("exp", type="experiment", enabled=True, strategies=[{**rollout(50), "segments": [seg.id]}],
              variants=[{"name": "blue", "weight": 500, "payload": {"type": "string", "value": "b"}},
                        {"name": "red", "weight": 500}])
    make_flag("gone")
    service.archive_flag("gone", actor=ACTOR)
    doc = service.export_document()
    assert doc["version"] == 2 and [f["name"] for f in doc["features"]] == ["exp"]
    assert doc["segments"] == [{"id": seg.id, "name": "beta-users", "description": "",
                                "constraints": [constraint("plan", "IN", ["beta"])]}]
    feature = doc["features"][0]
    assert feature["type"] == "experiment" and feature["variants"][0]["payload"]["value"] == "b"
    assert json.loads(json.dumps(doc)) == doc
    # change it, then merge the export back: the old definition returns as a new version
    service.set_rollout("exp", 10, actor=ACTOR)
    report = service.import_document(doc, mode="merge", actor=ACTOR)
    assert (report.created, report.updated) == ([], ["exp"])
    assert service.get_flag("exp").strategies[0]["parameters"]["rollout"] == "50"
    assert service.history("exp")[0].action == "import"
    assert service.import_document(doc, mode="merge", actor=ACTOR).unchanged == ["exp"]


def test_replace_archives_the_flags_missing_from_the_document(ctx, make_flag) -> None:
    make_flag("keep", enabled=True)
    make_flag("drop", enabled=True)
    doc = service.export_document(environment=None)  # replace needs a document of every environment
    doc["features"] = [f for f in doc["features"] if f["name"] == "keep"]
    doc["features"].append({"name": "new.one", "type": "kill-switch"})
    doc["featureEnvironments"] = [s for s in doc["featureEnvironments"] if s["featureName"] == "keep"]
    doc["featureStrategies"] = [s for s in doc["featureStrategies"] if s["featureName"] == "keep"]
    report = service.import_document(doc, mode="replace", actor=ACTOR)
    assert (report.created, report.unchanged, report.archived) == (["new.one"], ["keep"], ["drop"])
    assert sorted(f.key for f in service.list_flags()) == ["keep", "new.one"]
    assert service.get_flag("new.one").type == "kill-switch"
    assert audit.query(action="flags.import")[0].after["archived"] == ["drop"]


def test_an_invalid_part_refuses_the_whole_import_naming_feature_and_field(ctx, make_flag) -> None:
    make_flag("existing", enabled=True)
    doc = {"version": 2, "features": [
        {"name": "fine", "enabled": True},
        {"name": "broken", "enabled": True, "strategies": [rollout(120)]},
        {"name": "orphan", "enabled": True, "dependencies": [{"feature": "missing"}]},
    ]}
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, mode="merge", actor=ACTOR)
    errors = err.value.errors
    assert errors['features[1] "broken".strategies[0].parameters.rollout'] == "must be a number from 0 to 100"
    assert errors['features[2] "orphan".dependencies[0].feature'] == 'unknown flag "missing"'
    assert 'features[1] "broken"' in err.value.message
    assert [f.key for f in service.list_flags()] == ["existing"]  # nothing imported
    with pytest.raises(service.FlagError, match="not valid JSON"):
        service.parse_document("{nope")
    with pytest.raises(service.FlagError) as err:
        service.import_document({"features": [{"name": "x", "enabled": True}, {"name": "x", "enabled": True}]},
                                actor=ACTOR)
    assert "appears twice" in str(err.value)
