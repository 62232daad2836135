"""Real workflows on real worker processes (`python -m flask nous worker`), against the real Redis
and database of the test run."""

from __future__ import annotations

import time

from nous.extensions import db
from nous.workflows import service
from tests.conftest import run_cli
from tests.jobs.helpers import FAST_ABANDON
from tests.workflows.conftest import ADMIN, run_status, steps, wait_for
from tests.workflows.handlers import done, started


def _ended(run_id: int) -> str | None:
    status = run_status(run_id)
    return status if status in ("succeeded", "failed", "canceled") else None


def test_a_real_worker_takes_and_skips_steps_retries_a_flaky_step_and_fails_a_broken_run(make_workflow, wf_worker):
    ok = make_workflow("""\
        name: real ok
        steps:
          - id: classify
            uses: feedback.classify
            with: {text: "${{ message }}"}
          - id: bugs
            uses: test.record
            if: steps.classify.output.category == "bug"
            with: {key: real-bugs}
          - id: ideas
            uses: test.record
            if: steps.classify.output.category == "idea"
            with: {key: real-ideas}
          - id: flaky
            uses: test.record
            with: {key: real-flaky, fail_times: 1}
            retry: {max: 2, backoff: 1}
        """)
    broken = make_workflow("""\
        name: real broken
        steps:
          - id: broken
            uses: test.record
            with: {key: real-broken, fail_times: 99, error: "service answered 503"}
            retry: {max: 1, backoff: 0}
          - id: never
            uses: test.record
            with: {key: real-never}
        """)
    worker = wf_worker()
    good_run = service.run_now(ok.id, {"message": "Please add an option to export my notes, would be nice"}, ADMIN)
    bad_run = service.run_now(broken.id, {}, ADMIN)
    assert wait_for(lambda: _ended(good_run), timeout=45, what="the good run") == "succeeded", worker.output()
    assert wait_for(lambda: _ended(bad_run), timeout=30, what="the broken run") == "failed", worker.output()

    s = steps(good_run)
    assert s["classify"].output["category"] == "idea"
    assert (s["bugs"].status, s["ideas"].status) == ("skipped", "succeeded")
    assert s["flaky"].attempts == 2 and [a["outcome"] for a in s["flaky"].attempt_log] == ["failed", "succeeded"]
    first, second = started("real-flaky")
    assert second["at"] - first["at"] >= 0.9  # the step's backoff of 1 s, kept by a scheduled job
    assert started("real-bugs") == [] and len(done("real-ideas")) == 1

    run = service.get_run(bad_run)
    assert run.error == "step broken failed: service answered 503"
    assert steps(bad_run)["broken"].attempts == 2 and started("real-never") == []


def test_sigkill_mid_run_then_a_new_worker_completes_every_step_exactly_once(make_workflow, wf_worker):
    wf = make_workflow("""\
        name: survives a crash
        steps:
          - id: a
            uses: test.record
            with: {key: k-a}
          - id: b
            uses: test.record
            with: {key: k-b, sleep: 2.5}
          - id: c
            uses: test.record
            with: {key: k-c}
        """)
    first = wf_worker(*FAST_ABANDON)
    run_id = service.run_now(wf.id, {}, ADMIN)
    wait_for(lambda: started("k-b"), timeout=30, what="step b to start")
    time.sleep(0.5)
    assert steps(run_id)["b"].status == "running" and done("k-b") == []
    horse = started("k-b")[0]["pid"]

    first.kill_hard(horse)  # SIGKILL the worker and its scheduler; the work-horse dies with them
    assert done("k-b") == []  # the step in flight did not complete behind our back

    second = wf_worker(*FAST_ABANDON)
    assert wait_for(lambda: _ended(run_id), timeout=60, what="the resumed run") == "succeeded", second.output()

    assert (len(started("k-a")), len(done("k-a"))) == (1, 1)  # completed before the crash: not run again
    assert (len(started("k-b")), len(done("k-b"))) == (2, 1)  # in flight at the crash: run again, once
    assert (len(started("k-c")), len(done("k-c"))) == (1, 1)
    s = steps(run_id)
    assert [s[k].status for k in "abc"] == ["succeeded"] * 3
    assert (s["a"].attempts, s["b"].attempts, s["c"].attempts) == (1, 2, 1)
    assert [e["outcome"] for e in s["b"].attempt_log] == ["abandoned", "succeeded"]


def test_new_feedback_fires_the_event_and_the_triage_example_runs_on_a_burst_worker(client, ctx):
    from nous.feedback.models import Feedback
    from nous.workflows.examples import seed_examples

    assert ("Triage crash reports", "created") in seed_examples()
    crash = client.post("/api/feedback", json={
        "rating": 1, "category": "bug", "email": "tess@example.com", "feature": "calendar",
        "message": "The app crashes when I open the calendar on 2.4.1, error E1234. Logs: https://example.com/l"})
    praise = client.post("/api/feedback", json={"rating": 5, "category": "praise", "message": "Love it, no crash"})
    assert crash.status_code == praise.status_code == 201

    wf = service.by_name("Triage crash reports")
    runs = service.list_runs(wf.id).rows
    assert len(runs) == 2 and {r.trigger for r in runs} == {"event"} and {r.event for r in runs} == {"feedback.created"}
    assert run_status(runs[0].id) == "queued"  # enqueued by the request, not run inline

    done_ = run_cli("nous", "worker", "--burst", timeout=120)
    assert done_.returncode == 0, done_.stderr[-2000:]

    by_feedback = {r.input["feedback"]["id"]: r.id for r in service.list_runs(wf.id).rows}
    crash_run = steps(by_feedback[crash.get_json()["id"]])
    praise_run = steps(by_feedback[praise.get_json()["id"]])
    assert [s.status for s in crash_run.values()] == ["succeeded"] * 4
    assert [s.status for s in praise_run.values()] == ["skipped"] * 4  # rating 5: the condition is false
    assert crash_run["entities"].output["versions"] == ["2.4.1"]
    assert crash_run["entities"].output["error_codes"] == ["E1234"]
    db.session.expire_all()
    row = db.session.get(Feedback, crash.get_json()["id"])
    assert row.status == "triaged"
    from nous.feedback.service import tags_for

    assert tags_for([row.id])[row.id] == ["crash", "negative"]
    from nous.email.models import OutboxMessage

    [mail] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == "system_alert")).all()
    assert mail.to_addr == ADMIN and "Crash reported (rating 1 of 5)" in mail.subject
    assert "Versions: 2.4.1" in mail.text_body and "Error codes: E1234" in mail.text_body
