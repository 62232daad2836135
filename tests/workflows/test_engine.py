"""Running workflows on RQ's SimpleWorker in this process: conditions, retries, failures, cancel,
idempotent hand-over, timeouts. (Real worker subprocesses: test_workers.py.)"""

from __future__ import annotations

import time

from nous.extensions import db, get_redis
from nous.workflows import engine, expressions, service
from nous.workflows.models import WorkflowStepRun
from tests.workflows.conftest import ADMIN, run_here, run_status, steps
from tests.workflows.handlers import done, started


def test_conditions_skip_and_take_steps_and_outputs_flow_to_later_steps(make_workflow):
    wf = make_workflow("""\
        name: conditions
        steps:
          - id: classify
            uses: feedback.classify
            with: {text: "${{ message }}", rating: "${{ rating }}"}
          - id: only_bugs
            uses: test.record
            if: steps.classify.output.category == "bug" and rating <= 2
            with: {key: bugs, value: "${{ steps.classify.output.sentiment }}"}
          - id: only_praise
            uses: test.record
            if: steps.classify.output.category == "praise"
            with: {key: praise}
          - id: settings
            uses: test.record
            if: settings["jobs.history_retention_days"] == 30 and settings["health.probes"] == null
            with: {key: settings, value: "${{ len(settings) > 5 }}"}
        """)
    run_id = service.run_now(wf.id, {"message": "It crashes every time I open the calendar", "rating": 1}, ADMIN)
    run_here()
    assert run_status(run_id) == "succeeded"
    s = steps(run_id)
    assert s["classify"].output["category"] == "bug"
    assert s["only_bugs"].status == "succeeded" and s["only_bugs"].input == {"key": "bugs", "value": "negative"}
    assert s["only_praise"].status == "skipped"
    assert "condition is false" in s["only_praise"].note
    assert [d["value"] for d in done("bugs")] == ["negative"]
    assert done("praise") == []
    assert [d["value"] for d in done("settings")] == [True]  # settings are readable, probes are not


def test_a_flaky_step_succeeds_on_retry_and_records_each_attempt(make_workflow):
    wf = make_workflow("""\
        name: flaky
        steps:
          - id: flaky
            uses: test.record
            with: {key: flaky, fail_times: 2}
            retry: {max: 3, backoff: 0}
          - id: after
            uses: test.record
            with: {key: after}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    assert run_status(run_id) == "succeeded"
    s = steps(run_id)["flaky"]
    assert s.attempts == 3 and s.status == "succeeded" and s.error == ""
    assert [a["outcome"] for a in s.attempt_log] == ["failed", "failed", "succeeded"]
    assert "planned failure on attempt 1" in s.attempt_log[0]["error"]
    assert [x["attempt"] for x in started("flaky")] == [1, 2, 3]
    assert len(done("after")) == 1


def test_a_permanent_failure_fails_the_run_with_the_steps_error_and_later_steps_never_run(make_workflow):
    wf = make_workflow("""\
        name: permanent
        steps:
          - id: broken
            uses: test.record
            with: {key: broken, fail_times: 99, error: "the upstream said no"}
            retry: {max: 1, backoff: 0}
          - id: never
            uses: test.record
            with: {key: never}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    run = service.get_run(run_id)
    assert run.status == "failed"
    assert run.error == "step broken failed: the upstream said no"
    s = steps(run_id)
    assert s["broken"].status == "failed" and s["broken"].attempts == 2
    assert s["never"].status == "pending"
    assert started("never") == []


def test_non_retryable_errors_and_unexpected_exceptions(make_workflow):
    wf = make_workflow("""\
        name: errors
        steps:
          - id: refused
            uses: test.record
            with: {key: refused, fail_times: 5, retryable: false}
            retry: {max: 3, backoff: 0}
            continue_on_error: true
          - id: boom
            uses: test.boom
            with: {message: "bad maths"}
            retry: {max: 1, backoff: 0}
            continue_on_error: true
          - id: last
            uses: test.record
            if: steps.refused.status == "failed" and steps.boom.error != null
            with: {key: last}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    assert run_status(run_id) == "succeeded"  # continue_on_error carried it through
    s = steps(run_id)
    assert s["refused"].attempts == 1  # not retried: the handler said another attempt cannot help
    assert s["boom"].attempts == 2 and s["boom"].error == "ZeroDivisionError: bad maths"
    assert s["last"].status == "succeeded"


def test_templated_parameters_are_checked_when_the_step_runs(make_workflow):
    wf = make_workflow("""\
        name: bad params
        steps:
          - id: wait
            uses: delay
            with: {seconds: "${{ input.seconds }}"}
            retry: {max: 3, backoff: 0}
        """)
    run_id = service.run_now(wf.id, {"seconds": "soon"}, ADMIN)
    run_here()
    s = steps(run_id)["wait"]
    assert s.status == "failed" and s.attempts == 1
    assert s.error == "with.seconds: must be a number, not text"  # in the editor's words
    run_id = service.run_now(wf.id, {}, ADMIN)  # input.seconds missing: null
    run_here()
    assert steps(run_id)["wait"].error == "with.seconds: must be a number, not null"


def test_a_step_over_its_timeout_fails_with_a_timeout(make_workflow):
    wf = make_workflow("""\
        name: slow
        steps:
          - id: slow
            uses: test.sleep
            with: {seconds: 5}
            timeout: 0.5
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    s = steps(run_id)["slow"]
    assert s.status == "failed" and s.error == "timed out after 0.5 s"
    assert s.duration_ms < 3000


def _spin() -> bool:
    """An expression function that keeps the CPU busy for 10 s (registered only in the test below)."""
    ends = time.monotonic() + 10
    while time.monotonic() < ends:
        pass
    return True


def test_the_step_timeout_covers_its_if_and_its_with(make_workflow, monkeypatch):
    monkeypatch.setitem(expressions.FUNCTIONS, "spin", _spin)
    monkeypatch.setitem(expressions.FUNCTION_ARITY, "spin", (0, 0))
    monkeypatch.setattr(expressions, "TIME_BUDGET", 60.0)  # the step's timeout is what must stop them
    wf = make_workflow("""\
        name: slow expressions
        steps:
          - id: condition
            uses: test.record
            if: spin()
            with: {key: condition}
            timeout: 0.5
            continue_on_error: true
          - id: params
            uses: test.record
            with: {key: params, value: "${{ spin() }}"}
            timeout: 0.5
            continue_on_error: true
          - id: after
            uses: test.record
            with: {key: after}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    s = steps(run_id)
    assert s["condition"].status == "failed"
    assert s["condition"].error == "timed out after 0.5 s while evaluating its if:"
    assert s["params"].status == "failed" and s["params"].error == "timed out after 0.5 s while filling in its with:"
    assert started("condition") == [] and started("params") == []  # their handlers never ran
    assert s["after"].status == "succeeded"


def test_an_expression_too_large_to_build_fails_its_step_at_once(make_workflow):
    wf = make_workflow("""\
        name: large expressions
        steps:
          - id: condition
            uses: test.record
            if: len(json([[1] * 10000] * 10000)) > 0
            with: {key: condition}
            retry: {max: 3, backoff: 0}
            continue_on_error: true
          - id: params
            uses: test.record
            with: {key: params, value: "${{ 'x' * 60000 + 'y' * 60000 }}"}
            retry: {max: 3, backoff: 0}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    s = steps(run_id)
    assert s["condition"].attempts == 1  # not worth another attempt
    assert s["condition"].error == "if: the list would be larger than 1000000 characters"
    assert s["params"].attempts == 1
    assert s["params"].error == "with: the text would be larger than 100000 characters"


def test_a_completed_step_is_never_run_again_when_its_job_runs_twice(make_workflow):
    """The crash between 'outcome stored' and 'next step queued': the retried job only hands over."""
    wf = make_workflow("""\
        name: idempotent
        steps:
          - id: a
            uses: test.record
            with: {key: a}
          - id: b
            uses: test.record
            with: {key: b}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    first = steps(run_id)["a"]
    # as if a worker finished step a, committed it, and died before queueing step b
    db.session.execute(WorkflowStepRun.__table__.update().where(WorkflowStepRun.id == first.id)
                       .values(status="succeeded", attempts=1, output={"key": "a"}))
    db.session.commit()
    get_redis().delete(*get_redis().keys("rq:queue:*"))  # the original job is gone with its worker
    result = engine.run_step(run_id, 0)  # the job layer retries the abandoned job
    assert "already succeeded" in result["ignored"]
    assert steps(run_id)["b"].status == "queued"
    engine.run_step(run_id, 0)  # and again: still nothing runs twice, nothing is queued twice
    job_b = steps(run_id)["b"].job_id
    run_here()
    assert run_status(run_id) == "succeeded"
    assert started("a") == [] and len(done("b")) == 1
    assert steps(run_id)["b"].job_id == job_b


def test_a_job_that_no_longer_owns_its_step_does_nothing(make_workflow):
    wf = make_workflow("""\
        name: owner
        steps:
          - id: a
            uses: test.record
            with: {key: owner}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    from rq import Queue

    from nous.jobs.worker import make_worker

    stale = Queue("default", connection=get_redis()).enqueue("nous.workflows.tasks.step", run_id, 0)
    make_worker(["default"], simple=True).execute_job(stale, Queue("default", connection=get_redis()))
    assert started("owner") == []  # the stale job saw another job id on the step
    run_here()
    assert len(done("owner")) == 1 and run_status(run_id) == "succeeded"


def test_cancel_stops_the_run_before_its_next_step(make_workflow):
    wf = make_workflow("""\
        name: cancel me
        steps:
          - id: a
            uses: test.record
            with: {key: c1}
          - id: b
            uses: test.record
            with: {key: c2}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run = service.cancel_run(run_id, ADMIN)
    assert run.status == "canceled"
    run_here()
    assert started("c1") == [] and started("c2") == []
    assert steps(run_id)["a"].status == "canceled"
    try:
        service.cancel_run(run_id, ADMIN)
        raise AssertionError("cancelling twice should be refused")
    except service.WorkflowError as exc:
        assert "already ended" in str(exc)


def test_delay_schedules_the_next_step_later_without_holding_a_worker(make_workflow):
    wf = make_workflow("""\
        name: delayed
        steps:
          - id: wait
            uses: delay
            with: {seconds: 3600}
          - id: later
            uses: test.record
            with: {key: later}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    s = steps(run_id)
    assert s["wait"].status == "succeeded"
    assert s["later"].status == "queued" and s["later"].not_before is not None
    assert started("later") == []  # scheduled an hour ahead; the burst worker did not run it
    assert run_status(run_id) == "running"


def test_a_failed_run_emails_the_admin_by_default(make_workflow):
    from nous.email.models import OutboxMessage

    wf = make_workflow("""\
        name: tells the admin
        steps:
          - id: broken
            uses: test.record
            with: {key: n, fail_times: 9}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    [msg] = db.session.scalars(db.select(OutboxMessage)).all()
    assert msg.to_addr == ADMIN and msg.template == "workflow_finished"
    assert "Workflow tells the admin: failed" == msg.subject
    assert f"/admin/workflows/runs/{run_id}" in msg.text_body


def test_a_run_started_while_redis_is_unreachable_is_kept_and_sent_later_by_the_reconciler(make_workflow,
                                                                                            monkeypatch):
    import redis

    from nous.jobs import service as jobs

    make_workflow("""\
        name: redis down
        trigger: {event: feedback.created}
        steps:
          - id: a
            uses: test.record
            with: {key: later, value: "${{ feedback.id }}"}
        """)
    real_submit = jobs.submit

    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(jobs, "submit", unreachable)
    [run_id] = service.trigger_event("feedback.created", {"feedback": {"id": 42}})  # never raises
    assert run_status(run_id) == "queued" and steps(run_id)["a"].status == "queued"
    monkeypatch.setattr(jobs, "submit", real_submit)

    from datetime import timedelta

    assert service.reconcile(lost_after=timedelta(0)) == {"requeued": 1, "failed": 0, "handed_over": 0}
    assert service.reconcile(lost_after=timedelta(0))["requeued"] == 0  # its job is on record now
    run_here()
    assert run_status(run_id) == "succeeded" and [d["value"] for d in done("later")] == [42]


def test_the_reconciler_ends_a_step_whose_job_died_for_good_and_resumes_a_stalled_run(make_workflow):
    from datetime import timedelta

    from nous.jobs.models import JobRun

    wf = make_workflow("""\
        name: repairs
        steps:
          - id: a
            uses: test.record
            with: {key: r-a}
          - id: b
            uses: test.record
            with: {key: r-b}
        """)
    lost = service.run_now(wf.id, {}, ADMIN)
    a = steps(lost)["a"]
    # its worker died and the job layer gave up on the job: the step row still says running
    db.session.execute(WorkflowStepRun.__table__.update().where(WorkflowStepRun.id == a.id)
                       .values(status="running", attempts=1))
    db.session.execute(JobRun.__table__.update().where(JobRun.job_id == a.job_id)
                       .values(status="failed", error="AbandonedJobError: the worker running this job died"))
    db.session.commit()
    get_redis().delete(*get_redis().keys("rq:queue:*"))

    stalled = service.run_now(wf.id, {}, ADMIN)
    first = steps(stalled)["a"]
    db.session.execute(WorkflowStepRun.__table__.update().where(WorkflowStepRun.id == first.id)
                       .values(status="succeeded", attempts=1))  # done, but the next step was never queued
    db.session.execute(db.text("UPDATE job_runs SET status = 'finished' WHERE job_id = :j"), {"j": first.job_id})
    db.session.commit()
    get_redis().delete(*get_redis().keys("rq:queue:*"))

    # only what this test set up is there to repair, and no job is waiting in Redis
    assert {r.id: r.status for r in service.list_runs().rows} == {stalled: "queued", lost: "queued"}
    assert get_redis().keys("rq:queue:*") == []

    assert service.reconcile(lost_after=timedelta(0)) == {"requeued": 0, "failed": 1, "handed_over": 1}
    run = service.get_run(lost)
    assert run.status == "failed" and "ended without finishing it (failed: AbandonedJobError" in run.error
    assert [s.status for s in steps(lost).values()] == ["failed", "pending"]
    assert steps(stalled)["b"].status == "queued"
    # nothing is left to repair: a second pass (another worker's, a minute later) changes nothing
    assert service.reconcile(lost_after=timedelta(0)) == {"requeued": 0, "failed": 0, "handed_over": 0}
    run_here()
    assert run_status(stalled) == "succeeded" and started("r-a") == [] and len(done("r-b")) == 1


def test_prune_deletes_old_ended_runs_with_their_files_and_keeps_the_rest(make_workflow, tmp_path):
    from datetime import UTC, datetime, timedelta

    from nous.workflows.models import WorkflowRun

    wf = make_workflow("""\
        name: prune
        steps:
          - id: a
            uses: csv.export
            with: {rows: [{x: 1}]}
        """)
    old, recent, active = (service.run_now(wf.id, {}, ADMIN) for _ in range(3))
    run_here()
    folder = tmp_path / "exports" / "workflows"
    folder.mkdir(parents=True)
    (folder / f"run{old}-a.csv").write_text("x\n1\n")
    long_ago = datetime.now(UTC) - timedelta(days=40)
    db.session.execute(WorkflowRun.__table__.update().where(WorkflowRun.id == old).values(ended_at=long_ago))
    db.session.execute(WorkflowRun.__table__.update().where(WorkflowRun.id == active)
                       .values(status="running", ended_at=long_ago))
    db.session.commit()
    assert service.prune_runs(30, str(tmp_path)) == 1
    assert {r.id for r in service.list_runs().rows} == {recent, active}
    assert not (folder / f"run{old}-a.csv").exists()
    assert steps(old) == {}


def test_a_cron_workflow_keeps_a_recurring_job_while_enabled_and_its_job_starts_a_run(make_workflow):
    from nous.jobs.models import JobSchedule
    from nous.workflows import tasks

    wf = make_workflow("""\
        name: nightly
        trigger: {cron: "15 2 * * *", input: {kind: nightly}}
        steps:
          - id: a
            uses: test.record
            with: {key: nightly, value: "${{ kind }}"}
        """)
    wid = wf.id
    row = db.session.get(JobSchedule, f"workflow-{wid}")
    assert (row.cron, row.task, row.args["args"]) == ("15 2 * * *", "workflows.cron", [wid])
    result = tasks.cron(wid)  # what the schedule's job runs
    run_here()
    assert run_status(result["run_id"]) == "succeeded" and [d["value"] for d in done("nightly")] == ["nightly"]
    assert service.get_run(result["run_id"]).trigger == "cron"

    service.set_enabled(wid, False, ADMIN)
    db.session.expire_all()
    assert db.session.get(JobSchedule, f"workflow-{wid}") is None
    assert tasks.cron(wid) == {"run_id": None}  # a job already queued finds it disabled
    service.set_enabled(wid, True, ADMIN)
    service.delete_workflow(wid, ADMIN)
    db.session.expire_all()
    assert db.session.get(JobSchedule, f"workflow-{wid}") is None
    assert service.get_run(result["run_id"]).workflow_id is None  # the run stays in the history


def test_the_housekeeping_tasks_run(ctx):
    from nous.workflows import tasks

    assert tasks.reconcile() == {"requeued": 0, "failed": 0, "handed_over": 0}
    assert tasks.prune() == {"deleted": 0, "days": 30}
