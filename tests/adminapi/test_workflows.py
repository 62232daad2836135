"""/api/admin/v1/workflows: create (YAML or JSON, idempotent), read with ETag, replace with If-Match, validate
with line-numbered problems, enable/disable, delete, run now, runs with cursors, one run with its steps,
cancel — audited with the token's name."""

from __future__ import annotations

import pytest

from nous.audit import service as audit
from nous.workflows import service
from tests.adminapi.conftest import Api, assert_problem
from tests.adminapi.paging import every_item
from tests.workflows.conftest import ADMIN, run_here

DOC = """\
name: Triage
# a comment the stored source keeps
trigger: manual
steps:
  - id: classify
    uses: feedback.classify
    with: {text: "${{ text }}"}
"""
BAD = "name: Bad\ntrigger: manual\nsteps:\n  - id: a\n    uses: feedback.clasify\n"
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("workflows:write", name="flow-bot"))


def test_reading_needs_workflows_read_and_changing_needs_workflows_write(client, make_token) -> None:
    wf = service.create(DOC, ADMIN)
    reader = Api(client, make_token("workflows:read"))
    assert reader.get(f"workflows/{wf.id}").status_code == 200
    assert_problem(reader.post(f"workflows/{wf.id}/disable"), 403)
    assert_problem(reader.post(f"workflows/{wf.id}/runs", json={}), 403)
    assert_problem(Api(client, make_token("jobs:read")).get("workflows"), 403)
    assert service.get(wf.id).enabled is True


def test_create_from_yaml_keeps_the_text_and_is_idempotent(ops) -> None:
    headers = {**YAML, "Idempotency-Key": "triage-1"}
    first = ops.post("workflows", data=DOC, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = ops.post("workflows", data=DOC, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    wf = first.get_json()
    assert wf["name"] == "Triage" and wf["version"] == 1 and first.headers["ETag"] == '"1"'
    assert "# a comment" in wf["source"] and wf["format"] == "yaml" and wf["definition"]["steps"][0]["id"] == "classify"
    assert len(service.list_workflows()) == 1
    assert audit.query(action="workflows.create")[0].actor == "token:flow-bot"
    assert_problem(ops.post("workflows", data=DOC, headers=YAML), 422, "name")  # the name is taken


def test_create_from_json_the_definition_or_its_text(ops) -> None:
    definition = {"name": "From JSON", "trigger": "manual",
                  "steps": [{"id": "c", "uses": "feedback.classify", "with": {"text": "x"}}]}
    assert ops.post("workflows", json=definition).get_json()["format"] == "json"
    wrapped = ops.post("workflows", json={"source": DOC.replace("Triage", "Wrapped"), "format": "yaml",
                                          "enabled": False}).get_json()
    assert wrapped["enabled"] is False and wrapped["format"] == "yaml"


def test_an_invalid_document_names_the_line_and_stores_nothing(ops) -> None:
    doc = assert_problem(ops.post("workflows", data=BAD, headers=YAML), 422)
    assert any("line 5" in message for message in doc["errors"].values()), doc
    assert service.list_workflows() == []
    checked = ops.post("workflows/validate", data=BAD, headers=YAML).get_json()
    assert checked["valid"] is False and checked["problems"][0]["line"] == 5
    assert "feedback.clasify" in checked["problems"][0]["message"]
    assert ops.post("workflows/validate", data=DOC, headers=YAML).get_json() == {"valid": True, "name": "Triage",
                                                                                "problems": []}
    assert service.list_workflows() == []  # validating saves nothing
    assert_problem(ops.post("workflows", json={"source": 5}), 400, "source")


def test_replace_follows_the_version_seen(ops) -> None:
    wf = ops.post("workflows", data=DOC, headers=YAML).get_json()
    second = DOC.replace("Triage", "Triage v2")
    changed = ops.put(f"workflows/{wf['id']}", data=second, headers={**YAML, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = ops.put(f"workflows/{wf['id']}", data=DOC.replace("Triage", "Lost"), headers={**YAML, "If-Match": '"1"'})
    assert_problem(stale, 412, "If-Match")
    assert stale.headers["ETag"] == '"2"' and service.get(wf["id"]).name == "Triage v2"
    assert_problem(ops.put(f"workflows/{wf['id']}", data=BAD, headers=YAML), 422)
    assert_problem(ops.put("workflows/999999", data=DOC, headers=YAML), 404)


def test_an_if_match_that_names_no_version_is_stale(ops) -> None:
    wf = ops.post("workflows", data=DOC, headers=YAML).get_json()
    for sent in ('"x"', '"¹"', '"-1"', '"' + "9" * 40 + '"'):
        assert_problem(ops.put(f"workflows/{wf['id']}", data=DOC.replace("Triage", "Lost"),
                               headers={**YAML, "If-Match": sent}), 412, "If-Match")
    assert service.get(wf["id"]).name == "Triage"


def test_enable_disable_run_and_cancel(ops) -> None:
    wf = ops.post("workflows", data=DOC, headers=YAML).get_json()
    assert ops.post(f"workflows/{wf['id']}/disable").get_json()["enabled"] is False
    assert_problem(ops.post(f"workflows/{wf['id']}/runs", json={"input": {"text": "x"}}), 409)
    assert ops.post(f"workflows/{wf['id']}/enable").get_json()["enabled"] is True
    started = ops.post(f"workflows/{wf['id']}/runs", json={"input": {"text": "The app crashes on start"}})
    assert started.status_code == 201, started.get_json()
    run = started.get_json()
    assert run["status"] == "queued" and run["actor"] == "token:flow-bot" and run["input"]["text"]
    cancelled = ops.post(f"workflows/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "canceled"
    assert_problem(ops.post(f"workflows/runs/{run['id']}/cancel"), 409)
    actions = {e.action: e.actor for e in audit.query(target=f"workflow:{wf['id']}")}
    assert actions["workflows.run"] == actions["workflows.disable"] == "token:flow-bot"
    assert_problem(ops.post(f"workflows/{wf['id']}/runs", json={"input": [1]}), 422, "input")


def test_runs_and_a_run_with_its_steps(ops) -> None:
    wf = ops.post("workflows", data=DOC, headers=YAML).get_json()
    ids = [ops.post(f"workflows/{wf['id']}/runs", json={"input": {"text": f"bug {i}: it crashes"}}).get_json()["id"]
           for i in range(3)]
    run_here()
    seen = every_item(ops, f"workflows/{wf['id']}/runs?limit=2")
    assert seen == sorted(ids, reverse=True)
    assert [r["id"] for r in ops.get("workflows/runs?status=succeeded").get_json()["items"]] == seen
    detail = ops.get(f"workflows/runs/{ids[0]}").get_json()
    assert detail["status"] == "succeeded" and detail["steps"][0]["id"] == "classify"
    assert detail["steps"][0]["output"] and detail["ended_at"].endswith("Z")
    assert_problem(ops.get("workflows/runs/999999"), 404)
    assert_problem(ops.get("workflows/runs?status=exploded"), 400, "status")


def test_list_handlers_and_delete(ops) -> None:
    for name in ("B", "A", "C"):
        ops.post("workflows", data=DOC.replace("Triage", name), headers=YAML)
    assert [w["name"] for w in ops.get("workflows?limit=2").get_json()["items"]] == ["A", "B"]
    handlers = {h["name"] for h in ops.get("workflows/handlers").get_json()["items"]}
    assert "feedback.classify" in handlers
    wf_id = service.by_name("A").id
    assert ops.delete(f"workflows/{wf_id}").status_code == 204
    assert_problem(ops.get(f"workflows/{wf_id}"), 404)
