"""The example workflows that `seed-demo` installs, run for real."""

from __future__ import annotations

from nous.extensions import db
from nous.workflows import service
from nous.workflows.examples import seed_examples
from tests.workflows.conftest import ADMIN, run_here, run_status, steps


def test_seed_examples_creates_them_once_and_leaves_edits_alone(ctx):
    assert seed_examples() == [("Triage crash reports", "created"), ("Weekly low-rating export", "created")]
    wf = service.by_name("Weekly low-rating export")
    service.set_enabled(wf.id, False, ADMIN)
    assert seed_examples() == [("Triage crash reports", "exists"), ("Weekly low-rating export", "exists")]
    db.session.expire_all()
    assert service.by_name("Weekly low-rating export").enabled is False


def test_two_processes_seeding_at_once_create_each_example_once(ctx):
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = ("from nous import create_app\nfrom nous.workflows.examples import seed_examples\n"
              "import json\nwith create_app().app_context():\n    print(json.dumps(dict(seed_examples())))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in results]
    outcomes = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    for name in ("Triage crash reports", "Weekly low-rating export"):
        assert sorted(o[name] for o in outcomes) == ["created", "exists"]
    assert sorted(w.name for w in service.list_workflows()) == ["Triage crash reports", "Weekly low-rating export"]


def test_the_weekly_export_writes_the_low_ratings_and_tells_the_admin(ctx, client):
    from nous.email.models import OutboxMessage

    seed_examples()
    for rating, message in ((1, "Lost my notes"), (2, "Sync is slow"), (4, "Nice")):
        assert client.post("/api/feedback", json={"rating": rating, "category": "bug", "message": message}
                           ).status_code == 201
    run_here()  # the triage runs the new feedback started (none of them mentions a crash)
    run_id = service.fire_cron(service.by_name("Weekly low-rating export").id)
    run_here()
    assert run_status(run_id) == "succeeded"
    s = steps(run_id)
    assert s["export"].output["rows"] == 2 and s["export"].output["file"] == f"run{run_id}-export.csv"
    [mail] = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == "system_alert")).all()
    assert "2 low-rated feedback this week" in mail.subject and f"run {run_id}" in mail.text_body
