"""The seeds' paths answer as the v1 handlers do (same scope, same body), and /openapi.json documents each
as an alias."""

from __future__ import annotations

import re

import pytest

import tests.jobs.tasks  # noqa: F401  (registers tests.echo)
from nous.adminapi.aliases import SEEDS
from nous.jobs import service as jobs
from nous.workflows import service as workflows
from tests.adminapi.conftest import Api, assert_problem

DOC = "name: Seeded\ntrigger: manual\nsteps:\n  - id: c\n    uses: feedback.classify\n    with: {text: x}\n"


def _path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_seed_path_is_documented_as_an_alias(client) -> None:
    doc = client.get("/openapi.json").get_json()
    for method, rule, _view in SEEDS:
        op = doc["paths"][_path(rule)][method.lower()]
        assert "Alias of" in op["description"] and "/api/admin/v1/" in op["description"]
        assert op["x-scopes"] and op["security"]


@pytest.mark.parametrize(("seed", "v1"), [
    ("/api/admin/system/jobs", "jobs"),
    ("/api/admin/system/jobs/statistics", "jobs/statistics"),
    ("/api/admin/system/config", "settings"),
    ("/api/admin/system/config/history", "settings/history"),
    ("/api/admin/system/workflows", "workflows"),
    ("/api/admin/system/workflows/executions", "workflows/runs"),
    ("/api/admin/system/email/status", "email/status"),
    ("/api/admin/system/email/configure", "email/configuration"),
    ("/api/health/models", "system/probes"),
])
def test_reading_seed_paths_answers_as_v1(api, seed, v1) -> None:
    jobs.enqueue("tests.echo")
    workflows.create(DOC, "test")
    old, new = api.get(seed), api.get(v1)
    assert old.status_code == new.status_code == 200, (seed, old.get_data(as_text=True)[:300])
    strip = {"workers"}  # worker heartbeats may move between the two reads
    assert {k: v for k, v in old.get_json().items() if k not in strip} == \
        {k: v for k, v in new.get_json().items() if k not in strip}


def test_seed_paths_need_the_same_scope(client, make_token) -> None:
    nobody = Api(client, make_token("audit:read"))
    for method, rule, _view in SEEDS:
        path = rule.replace("<job_id>", "0" * 32).replace("<int:workflow_id>", "1").replace("<name>", "x")
        resp = nobody.open(method, path, json={})
        assert_problem(resp, 403)
        assert_problem(nobody.open(method, path, json={}, token=""), 401)


def test_jobs_through_the_seed_paths(make_token, client) -> None:
    ops = Api(client, make_token("jobs:write", name="seed-bot"))
    made = ops.post("/api/admin/system/jobs/create", json={"task": "tests.echo", "args": [1]})
    assert made.status_code == 201
    job_id = made.get_json()["id"]
    assert ops.post(f"/api/admin/system/jobs/{job_id}/cancel").get_json()["status"] == "canceled"
    assert ops.post(f"/api/admin/system/jobs/{job_id}/retry").get_json()["status"] == "queued"
    assert jobs.get_run(job_id).actor == "token:seed-bot"
    assert_problem(ops.post("/api/admin/system/jobs/nope/cancel"), 404)


def test_workflows_and_config_through_the_seed_paths(api) -> None:
    made = api.post("/api/admin/system/workflows", data=DOC, headers={"Content-Type": "application/yaml"})
    assert made.status_code == 201
    wf_id = made.get_json()["id"]
    assert api.get(f"/api/admin/system/workflows/{wf_id}").get_json()["name"] == "Seeded"
    run = api.post(f"/api/admin/system/workflows/{wf_id}/execute", json={"input": {"text": "hello"}})
    assert run.status_code == 201 and run.get_json()["workflow_id"] == wf_id
    assert_problem(api.get("/api/admin/system/workflows/999999"), 404)
    checked = api.post("/api/admin/system/config/validate", json={"values": {"nope.setting": 1}})
    assert checked.status_code == 200 and checked.get_json()["valid"] is False
    assert "nope.setting" in checked.get_json()["errors"]
    assert_problem(api.post("/api/admin/system/email/configure", json={}), 405)
    assert_problem(api.get("/api/health/models/nope"), 404)


def test_seed_paths_read_ids_as_v1_does(api) -> None:
    """Ids past what the column holds (32 or 64 bits) answer on a seed path exactly as on its v1 path."""
    for wf_id in (2**31, 2**64):
        for seed, v1 in ((f"/api/admin/system/workflows/{wf_id}", f"workflows/{wf_id}"),
                         (f"/api/admin/system/workflows/{wf_id}/execute", f"workflows/{wf_id}/runs")):
            method = api.get if seed.endswith(str(wf_id)) else api.post
            seeded, direct = method(seed), method(v1)
            assert_problem(seeded, 404)
            assert seeded.get_json()["detail"] == direct.get_json()["detail"]
