"""/api/admin/v1/jobs: list with filters and cursors, statistics, one job with its traceback, starting a task
by name (idempotent), cancel, retry, retry all failed, schedules — each audited with the token's name."""

from __future__ import annotations

import re

import pytest
from rq import Queue

import tests.jobs.tasks  # noqa: F401  (registers tests.echo)
from nous.audit import service as audit
from nous.extensions import get_redis
from nous.jobs import service
from tests.adminapi.conftest import Api, assert_problem
from tests.adminapi.paging import every_item
from tests.jobs.helpers import bulk_runs, run_jobs_here, store_oversized_schedule


@pytest.fixture
def writer(client, make_token) -> Api:
    return Api(client, make_token("jobs:write", name="ops-bot"))


def test_reading_needs_jobs_read_and_acting_needs_jobs_write(client, make_token) -> None:
    job_id = service.enqueue("tests.echo")
    reader = Api(client, make_token("jobs:read"))
    other = Api(client, make_token("flags:write"))
    assert reader.get("jobs").status_code == 200
    assert reader.get(f"jobs/{job_id}").status_code == 200
    assert_problem(other.get("jobs"), 403)
    assert "jobs:read" in other.get("jobs").get_json()["detail"]
    doc = assert_problem(reader.post(f"jobs/{job_id}/cancel"), 403)
    assert "jobs:write" in doc["detail"]
    assert_problem(reader.post("jobs", json={"task": "tests.echo"}), 403)
    assert service.get_run(job_id).status == "queued"  # nothing was done
    assert_problem(reader.get("jobs", token=""), 401)


def test_list_filters_and_pages_to_the_end_without_duplicates(writer) -> None:
    bulk_runs(7, status="failed", task="tests.echo")
    bulk_runs(3, status="finished", task="jobs.noop")
    seen = every_item(writer, "jobs?status=failed&limit=3")
    assert len(seen) == len(set(seen)) == 7
    assert {service.get_run(job_id).status for job_id in seen} == {"failed"}
    assert len(writer.get("jobs?task=jobs.noop").get_json()["items"]) == 3
    assert_problem(writer.get("jobs?status=exploded"), 400, "status")
    assert_problem(writer.get("jobs?cursor=not-a-cursor"), 400, "cursor")


def test_paging_while_jobs_are_added_has_no_duplicates_or_gaps(writer) -> None:
    bulk_runs(9, status="failed", task="tests.echo")
    before = {r.job_id for r in service.list_runs(limit=100).rows}
    seen, url = [], "jobs?limit=2"
    while url:
        resp = writer.get(url)
        seen += [j["id"] for j in resp.get_json()["items"]]
        service.enqueue("tests.echo", "added meanwhile")  # newer than every page: never in a later one
        link = resp.headers.get("Link")
        url = re.search(r"<http://localhost([^>]+)>", link).group(1) if link else ""
    assert len(seen) == len(set(seen)) and set(seen) == before


def test_one_job_with_its_traceback_and_attempts(writer) -> None:
    job_id = service.enqueue("jobs.fail", "explain me")
    run_jobs_here()
    resp = writer.get(f"jobs/{job_id}")
    assert resp.status_code == 200
    job = resp.get_json()
    assert job["status"] == "failed" and "RuntimeError: explain me" in job["traceback"]
    assert job["attempts_detail"] and "Traceback (most recent call last)" in job["attempts_detail"][0]["traceback"]
    assert job["enqueued_at"].endswith("Z") and job["args"] == {"args": ["explain me"], "kwargs": {}}
    for unknown in ("nope", "0" * 32, "a" * 80):
        assert_problem(writer.get(f"jobs/{unknown}"), 404)


def test_start_a_task_by_name_with_its_arguments_once(writer) -> None:
    headers = {"Idempotency-Key": "start-echo-1"}
    payload = {"task": "tests.echo", "args": [1, "two"], "kwargs": {"three": 3}, "priority": 2}
    first = writer.post("jobs", json=payload, headers=headers)
    assert first.status_code == 201, first.get_json()
    job = first.get_json()
    assert job["task"] == "tests.echo" and job["status"] == "queued" and job["queue"] == "high"
    assert first.headers["Location"].endswith(f"/api/admin/v1/jobs/{job['id']}")
    again = writer.post("jobs", json=payload, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == job["id"]
    assert service.counts_by_status()["queued"] == 1
    assert job["id"] in Queue("high", connection=get_redis()).job_ids
    run = service.get_run(job["id"])
    assert run.args == {"args": [1, "two"], "kwargs": {"three": 3}} and run.actor == "token:ops-bot"
    event = audit.query(action="jobs.enqueue")[0]
    assert event.actor == "token:ops-bot" and event.target == job["id"]


def test_a_task_can_start_later(writer) -> None:
    later = writer.post("jobs", json={"task": "tests.echo", "delay_seconds": 600})
    assert later.status_code == 201 and later.get_json()["status"] == "scheduled"
    at = writer.post("jobs", json={"task": "tests.echo", "at": "2099-01-01T09:00:00Z"})
    assert at.status_code == 201 and at.get_json()["scheduled_for"].startswith("2099-01-01T09:00:00")


@pytest.mark.parametrize(("payload", "field", "status"), [
    ({}, "task", 422),
    ({"task": "no.such_task"}, "task", 422),
    ({"task": "tests.echo", "args": "x"}, "args", 422),
    ({"task": "tests.echo", "args": [{"deep": "object"}], "kwargs": []}, "kwargs", 422),
    ({"task": "tests.echo", "priority": 11}, "priority", 422),
    ({"task": "tests.echo", "priority": True}, "priority", 422),
    ({"task": "tests.echo", "delay_seconds": -1}, "delay_seconds", 422),
    ({"task": "tests.echo", "at": "yesterday-ish"}, "at", 400),
    ({"task": "tests.echo", "at": 1700000000}, "at", 422),
    ({"task": "tests.echo", "at": "2099-01-01T09:00:00Z", "delay_seconds": 5}, "at", 422),
])
def test_bad_starts_are_refused_naming_the_field_and_start_nothing(writer, payload, field, status) -> None:
    assert_problem(writer.post("jobs", json=payload), status, field)
    assert sum(service.counts_by_status().values()) == 0


def test_cancel_and_retry_are_audited_with_the_token(writer) -> None:
    job_id = service.enqueue("tests.echo")
    resp = writer.post(f"jobs/{job_id}/cancel")
    assert resp.status_code == 200 and resp.get_json() == {"id": job_id, "status": "canceled"}
    resp = writer.post(f"jobs/{job_id}/retry")
    assert resp.status_code == 200 and resp.get_json()["status"] == "queued"
    assert [(e.action, e.actor) for e in audit.query(target=job_id)] == [
        ("jobs.retry", "token:ops-bot"), ("jobs.cancel", "token:ops-bot")]
    run_jobs_here()
    doc = assert_problem(writer.post(f"jobs/{job_id}/cancel"), 409)
    assert "already ended" in doc["detail"]
    assert_problem(writer.post(f"jobs/{job_id}/retry"), 409)
    assert_problem(writer.post("jobs/nope/retry"), 404)


def test_retry_every_failed_job(writer) -> None:
    for i in range(3):
        service.enqueue("jobs.fail", f"n{i}")
    run_jobs_here()
    resp = writer.post("jobs/retry-failed")
    assert resp.status_code == 200 and resp.get_json() == {"retried": 3, "skipped": 0}
    assert service.counts_by_status()["queued"] == 3
    assert writer.post("jobs/retry-failed", json={"task": "tests.echo"}).get_json()["retried"] == 0
    nul = writer.post("jobs/retry-failed", json={"task": "jobs.fail\u0000"})  # PostgreSQL refuses a NUL
    assert nul.status_code == 200 and nul.get_json() == {"retried": 0, "skipped": 0}


def test_statistics_series_and_tasks(writer) -> None:
    service.enqueue("jobs.fail", "count me")
    run_jobs_here()
    stats = writer.get("jobs/statistics?hours=48").get_json()
    assert stats["counts"]["failed"] == 1 and stats["hours"] == 48
    assert [t["task"] for t in stats["tasks"]] == ["jobs.fail"] and stats["tasks"][0]["failure_rate"] == 1.0
    assert {q["name"] for q in stats["queues"]} == {"high", "default", "low"}
    assert_problem(writer.get("jobs/statistics?hours=0"), 400, "hours")
    series = writer.get("jobs/series?range=48h").get_json()
    assert sum(series["failed"]) == 1
    assert_problem(writer.get("jobs/series?range=forever"), 400, "range")
    tasks = {t["name"] for t in writer.get("jobs/tasks").get_json()["items"]}
    assert {"jobs.fail", "jobs.noop", "tests.echo"} <= tasks


def test_schedules_list_and_run_now(writer) -> None:
    service.schedule_cron("echo-hourly", "0 * * * *", "tests.echo", "scheduled")
    items = writer.get("jobs/schedules").get_json()["items"]
    assert [(s["name"], s["cron"]) for s in items] == [("echo-hourly", "0 * * * *")]
    assert items[0]["next_run_at"].endswith("Z")
    resp = writer.post("jobs/schedules/echo-hourly/run")
    assert resp.status_code == 201
    job = resp.get_json()
    assert job["schedule"] == "echo-hourly" and job["task"] == "tests.echo"
    assert audit.query(action="jobs.run_schedule")[0].actor == "token:ops-bot"
    assert_problem(writer.post("jobs/schedules/nope/run"), 404)


def test_a_fault_inside_the_jobs_service_is_not_answered_as_the_clients_error(writer, monkeypatch) -> None:
    """Only the service's own refusals are 422: a TypeError from a bug of ours must reach the error handler
    (a logged 500), not be told to the client as "your args are wrong"."""
    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")

    monkeypatch.setattr(service, "start_task", broken)
    doc = assert_problem(writer.post("jobs", json={"task": "tests.echo", "args": [1]}), 500)
    assert "unsupported operand" not in doc["detail"] and doc["errors"] == {}


def test_bad_arguments_name_their_field(writer) -> None:
    doc = assert_problem(writer.post("jobs", json={"task": "tests.echo", "args": ["x" * 20_000]}), 422, "args")
    assert "larger than" in doc["detail"]
    assert_problem(writer.post("jobs", json={"task": "tests.echo", "kwargs": {"big": "x" * 20_000}}), 422, "args")


def test_running_a_schedule_whose_stored_arguments_cannot_run_is_a_conflict(writer) -> None:
    """The client sent nothing wrong: the stored schedule cannot run, so 409 (not 422 naming `args`, not 500)."""
    store_oversized_schedule("big")
    doc = assert_problem(writer.post("jobs/schedules/big/run"), 409)
    assert "schedule big cannot run" in doc["detail"] and "larger than" in doc["detail"]
    assert writer.get("jobs").get_json()["items"] == []
