"""`flask nous jobs …` and `flask nous worker`: output, audit, clear errors and exit codes."""

from __future__ import annotations

import json

from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.jobs import service
from tests.conftest import run_cli
from tests.jobs import tasks as test_tasks  # noqa: F401
from tests.jobs.helpers import run_jobs_here


def test_list_shows_the_history_and_filters(runner, ctx):
    ok = service.enqueue("tests.echo", "listed")
    bad = service.enqueue("jobs.fail", "cli failure")
    run_jobs_here()
    out = runner.invoke(args=["nous", "jobs", "list"]).output
    assert ok in out and bad in out and "RuntimeError: cli failure" in out
    failed = runner.invoke(args=["nous", "jobs", "list", "--status", "failed", "--json"])
    rows = [json.loads(line) for line in failed.output.splitlines()]
    assert [r["id"] for r in rows] == [bad] and rows[0]["error"] == "RuntimeError: cli failure"
    assert "no jobs match" in runner.invoke(args=["nous", "jobs", "list", "--task", "nope.nope"]).output


def test_list_refuses_an_unknown_status(runner, ctx):
    result = runner.invoke(args=["nous", "jobs", "list", "--status", "exploded"])
    assert result.exit_code == 2 and "Invalid value for '--status'" in result.output


def test_stats_prints_each_task(runner, ctx):
    service.enqueue("tests.echo")
    service.enqueue("jobs.fail")
    run_jobs_here()
    out = runner.invoke(args=["nous", "jobs", "stats"]).output
    line = next(x for x in out.splitlines() if x.startswith("jobs.fail"))
    assert line.split()[1:4] == ["0", "1", "0"] and "100.0" in line
    data = json.loads(runner.invoke(args=["nous", "jobs", "stats", "--json", "--hours", "2"]).output)
    assert data["hours"] == 2 and {t["task"] for t in data["tasks"]} == {"tests.echo", "jobs.fail"}
    assert [q["name"] for q in data["queues"]] == ["high", "default", "low"]


def test_retry_one_or_all_failed_and_the_audit_names_the_cli(runner, ctx):
    ids = [service.enqueue("jobs.fail", f"x{i}") for i in range(2)]
    run_jobs_here()
    result = runner.invoke(args=["nous", "jobs", "retry", ids[0]])
    assert result.exit_code == 0 and f"{ids[0]}: queued again" in result.output
    result = runner.invoke(args=["nous", "jobs", "retry", "--all-failed"])
    assert result.exit_code == 0 and "1 failed job(s) queued again" in result.output
    actors = {e.actor for e in db.session.scalars(select(AuditEvent))}
    assert len(actors) == 1 and actors.pop().startswith("cli:")


def test_retry_and_cancel_errors_are_one_line_and_exit_non_zero(runner, ctx):
    result = runner.invoke(args=["nous", "jobs", "retry"])
    assert result.exit_code == 2 and "give a JOB_ID or --all-failed" in result.output
    result = runner.invoke(args=["nous", "jobs", "retry", "abc", "--all-failed"])
    assert result.exit_code == 2
    result = runner.invoke(args=["nous", "jobs", "retry", "nope"])
    assert result.exit_code == 1 and "Error: no job nope" in result.output
    result = runner.invoke(args=["nous", "jobs", "cancel", "../bad id"])
    assert result.exit_code == 1 and "is not a job id" in result.output
    done = service.enqueue("tests.echo")
    run_jobs_here()
    result = runner.invoke(args=["nous", "jobs", "cancel", done])
    assert result.exit_code == 1 and "already ended" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cancel_delete_enqueue_and_schedules(runner, ctx):
    result = runner.invoke(args=["nous", "jobs", "enqueue", "tests.echo", "7", '{"a": 1}', "text"])
    job_id = result.output.strip()
    db.session.remove()
    assert service.get_run(job_id).args == {"args": [7, {"a": 1}, "text"], "kwargs": {}}
    assert runner.invoke(args=["nous", "jobs", "cancel", job_id]).output.strip() == f"{job_id}: canceled"
    assert runner.invoke(args=["nous", "jobs", "delete", job_id]).output.strip() == f"{job_id}: deleted"
    bad = runner.invoke(args=["nous", "jobs", "enqueue", "no.such"])
    assert bad.exit_code == 1 and "no task named 'no.such'" in bad.output
    assert "no recurring jobs" in runner.invoke(args=["nous", "jobs", "schedules"]).output
    service.sync_declared_schedules()
    assert "jobs.prune_history" in runner.invoke(args=["nous", "jobs", "schedules"]).output


def test_enqueue_refuses_what_the_service_refuses_and_lets_a_fault_through(runner, ctx, monkeypatch):
    big = runner.invoke(args=["nous", "jobs", "enqueue", "tests.echo", "x" * 20_000])
    assert big.exit_code == 1 and "larger than 10000 characters" in big.output

    def broken(*args, **kwargs):
        raise TypeError("a fault of ours, not the command line's")

    monkeypatch.setattr(service, "start_task", broken)
    fault = runner.invoke(args=["nous", "jobs", "enqueue", "tests.echo"])
    assert isinstance(fault.exception, TypeError)  # not turned into a one-line "bad input" message


def test_enqueue_from_the_cli_is_audited_as_the_cli(runner, ctx):
    result = runner.invoke(args=["nous", "jobs", "enqueue", "tests.echo", "audited", "--in", "60"])
    assert result.exit_code == 0
    job_id = result.output.strip()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "jobs.enqueue"))
    assert event.target == job_id and event.actor.startswith("cli:")
    assert event.after["task"] == "tests.echo" and event.after["at"] is not None


def test_worker_refuses_unknown_queues(runner):
    result = runner.invoke(args=["nous", "worker", "--queues", "high,urgent", "--burst"])
    assert result.exit_code == 2 and "unknown queue urgent" in result.output


def test_real_cli_process_gives_a_clear_error_not_a_traceback(ctx):
    result = run_cli("nous", "jobs", "cancel", "0123456789abcdef")
    assert result.returncode == 1
    assert "Error: no job 0123456789abcdef" in result.stderr and "Traceback" not in result.stderr


def test_with_redis_down_job_commands_say_so_in_one_line_and_exit_1(ctx):
    from tests.conftest import free_port

    job_id = service.enqueue("tests.echo")
    down = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens there
    for args in (["cancel", job_id], ["stats"]):
        result = run_cli("nous", "jobs", *args, env=down)
        assert result.returncode == 1, result.stderr
        assert "Error: Redis (REDIS_URL) is unreachable" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("nous", "jobs", "list", env=down).stdout.startswith(job_id)  # the history needs no Redis
