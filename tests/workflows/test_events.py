"""Events start the workflows that listen to them, and an event nobody listens to costs nothing:
the set of listened events is cached per process and follows changes made in other processes."""

from __future__ import annotations

import subprocess
import sys

from nous.extensions import db, get_redis
from nous.workflows import service
from nous.workflows.models import Workflow, WorkflowRun
from nous.workflows.service import listeners
from tests.conftest import ROOT, run_cli
from tests.jobs.helpers import wait_for
from tests.support.sql import statements
from tests.workflows.conftest import ADMIN, HANDLER_ENV

ON_JOIN = """\
name: Welcome testers
trigger: {event: tester.joined}
steps:
  - id: hello
    uses: test.record
    with: {key: welcome, value: "${{ tester.email }}"}
"""
ON_FEEDBACK = ON_JOIN.replace("Welcome testers", "On feedback").replace("tester.joined", "feedback.created")
MANUAL = "name: By hand\nsteps:\n  - id: a\n    uses: test.record\n    with: {key: manual}\n"


def runs_of(name: str) -> list[WorkflowRun]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(WorkflowRun).where(WorkflowRun.workflow_name == name)))


def test_feedback_nobody_listens_to_costs_no_workflow_query_and_a_new_listener_is_heard_at_once(ctx, client):
    service.create(MANUAL, ADMIN)  # a workflow, but not one that listens to feedback
    service.listened_events()
    with statements() as sent:
        for i in range(5):
            sent_feedback = {"rating": 3, "category": "other", "message": f"fine {i}"}
            assert client.post("/api/feedback", json=sent_feedback).status_code == 201
        assert service.trigger_event("tester.joined", {"tester": {"email": "t@example.com"}}) == []
    assert sent, "the feedback was stored"
    assert [s for s in sent if "workflow" in s.lower()] == []
    assert service.list_runs().rows == []

    service.create(ON_FEEDBACK, ADMIN)  # this process sees its own change without waiting
    assert client.post("/api/feedback", json={"rating": 2, "category": "bug", "message": "heard"}).status_code == 201
    [run] = runs_of("On feedback")
    assert run.trigger == "event" and run.event == "feedback.created" and run.input["feedback"]["message"] == "heard"


def test_a_listener_added_or_disabled_in_another_process_is_followed_within_a_second(ctx, tmp_path):
    assert service.trigger_event("tester.joined", {"tester": {"email": "a@example.com"}}) == []
    loads = listeners.listeners().loads
    for _ in range(50):
        service.listened_events()
    assert listeners.listeners().loads == loads  # nothing changed: no reload

    doc = tmp_path / "welcome.yaml"
    doc.write_text(ON_JOIN)
    added = run_cli("nous", "workflows", "import", str(doc), env=HANDLER_ENV)
    assert added.returncode == 0, added.stderr
    wait_for(lambda: "tester.joined" in service.listened_events(), timeout=2, every=0.05,
             what="the new listener to be seen")
    [run_id] = service.trigger_event("tester.joined", {"tester": {"email": "b@example.com"}})
    assert service.get_run(run_id).input == {"tester": {"email": "b@example.com"}}

    disabled = run_cli("nous", "workflows", "import", str(doc), "--disable", env=HANDLER_ENV)
    assert disabled.returncode == 0, disabled.stderr
    wait_for(lambda: "tester.joined" not in service.listened_events(), timeout=2, every=0.05,
             what="the disabled listener to be dropped")
    assert service.trigger_event("tester.joined", {"tester": {"email": "c@example.com"}}) == []
    assert len(runs_of("Welcome testers")) == 1


def test_edits_deletes_and_a_flushed_redis_all_refresh_the_listened_events(ctx):
    wf = service.create(ON_JOIN, ADMIN)
    assert "tester.joined" in service.listened_events()
    service.update_workflow(wf.id, ON_JOIN.replace("tester.joined", "flag.changed"), ADMIN)
    assert service.listened_events() == frozenset({"flag.changed"})
    service.set_enabled(wf.id, False, ADMIN)
    assert service.listened_events() == frozenset()
    service.set_enabled(wf.id, True, ADMIN)
    assert service.listened_events() == frozenset({"flag.changed"})
    service.delete_workflow(wf.id, ADMIN)
    assert service.listened_events() == frozenset()

    # Redis loses the version (flushed, or a new server): the cache reloads rather than trusting itself
    other = service.create(ON_JOIN, ADMIN)
    assert "tester.joined" in service.listened_events()
    db.session.execute(db.delete(Workflow).where(Workflow.id == other.id))  # behind the service's back
    db.session.commit()
    get_redis().flushdb()
    wait_for(lambda: service.listened_events() == frozenset(), timeout=2, every=0.05,
             what="the listened events to follow the database")


def test_trigger_event_never_raises_into_the_caller(ctx):
    service.create(ON_JOIN, ADMIN)
    assert service.trigger_event("tester.joined", "not a dict") == []  # type: ignore[arg-type]
    [run_id] = service.trigger_event("tester.joined", {"when": object()})  # stored as text, as JSON allows
    assert service.get_run(run_id).input["when"].startswith("<object object")
    assert service.trigger_event("no.such.event", {}) == []
    assert service.trigger_event(None, None) == []  # type: ignore[arg-type]
    # outside any app (a script, a thread without a context): logged, nothing raised
    script = "from nous.workflows.service import trigger_event\nprint(trigger_event('tester.joined', {}))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-2000:]


def test_with_redis_unreachable_the_listened_events_come_from_the_database_every_second(app, tmp_path):
    from nous import create_app
    from tests.support.live import ThrowawayRedis

    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})  # a process whose Redis goes away
        with own.app_context():
            assert service.listened_events() == frozenset()
        server.stop()
        with app.app_context():
            service.create(ON_JOIN, ADMIN)  # announced on the test run's Redis, which `own` does not see
        with own.app_context():
            wait_for(lambda: "tester.joined" in service.listened_events(), timeout=3, every=0.1,
                     what="the offline reload to find the new listener")
            [run_id] = service.trigger_event("tester.joined", {"tester": {"email": "t@example.com"}})
            run = service.get_run(run_id)
            # the run is on record and its first step waits for the reconciler to send its job
            assert run.status == "queued" and service.run_detail(run_id)["steps"][0].status == "queued"
            db.session.remove()
    finally:
        server.stop()
