"""`flask nous seed-demo` (nous/demo.py): every area's demo data, safe to run again."""

from __future__ import annotations

from sqlalchemy import func, select

from nous import flags
from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback, FeedbackTag
from nous.flags import service as flag_service
from nous.flags.demo import demo_flags
from nous.testers.models import BetaUser
from nous.workflows import service as workflows
from nous.workflows.examples import example_files
from nous.workflows.models import Workflow
from tests.conftest import run_cli


def test_seed_demo_makes_realistic_data_and_can_run_twice(app, runner) -> None:
    result = runner.invoke(args=["nous", "seed-demo", "--testers", "12", "--feedback", "150", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "added 12 testers" in result.output and "150 feedback" in result.output
    with app.app_context():
        users = list(db.session.scalars(select(BetaUser)))
        assert len(users) == 12 and all(u.email.split("@")[1].endswith(("example.com", "example.org", "example.net"))
                                        for u in users)
        assert {u.invite_state for u in users} >= {"joined", "invited"}
        rows = list(db.session.scalars(select(Feedback)))
        assert {r.category for r in rows} == {"bug", "idea", "praise", "other"}
        assert len({r.rating for r in rows}) == 5 and len({r.feature for r in rows}) >= 5
        bugs = [r.rating for r in rows if r.category == "bug"]
        praise = [r.rating for r in rows if r.category == "praise"]
        assert sum(bugs) / len(bugs) < sum(praise) / len(praise)  # ratings follow the category
        assert db.session.scalar(select(func.count()).select_from(FeedbackTag)) > 0
        assert any(r.tester_id for r in rows)
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "demo.seed"))
        assert event.actor.startswith("cli:") and event.after["feedback_added"] == 150
    again = runner.invoke(args=["nous", "seed-demo", "--testers", "12", "--feedback", "10", "--seed", "7"])
    assert "added 0 testers (12 already there)" in again.output and "now 12 testers, 160 feedback" in again.output


def test_seed_demo_installs_the_example_workflows_once(app, runner) -> None:
    first = runner.invoke(args=["nous", "seed-demo", "--testers", "2", "--feedback", "3"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        installed = list(db.session.scalars(select(Workflow).order_by(Workflow.name)))
        assert len(installed) == len(example_files()) == 2
        assert [w.name for w in installed] == ["Triage crash reports", "Weekly low-rating export"]
        assert all(w.enabled for w in installed)
        assert all(f"example workflow {w.name!r}: added" in first.output for w in installed)
        # The admin turns one off; seeding again neither duplicates nor overrides it.
        workflows.set_enabled(installed[0].id, False, "admin@example.com")
        name = installed[0].name
    again = runner.invoke(args=["nous", "seed-demo", "--testers", "0", "--feedback", "0", "--no-flags"])
    assert again.exit_code == 0, again.output
    assert again.output.count("already there") == 1 + 2  # the testers line and both workflows
    with app.app_context():
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(Workflow)) == 2
        assert workflows.by_name(name).enabled is False
    without = runner.invoke(args=["nous", "seed-demo", "--testers", "0", "--feedback", "0", "--no-workflows"])
    assert without.exit_code == 0 and "workflow" not in without.output


def test_seed_demo_creates_the_demo_flags_once_and_they_evaluate(app, runner) -> None:
    app.extensions["nous.flags"].reset()
    keys = [f["key"] for f in demo_flags()]
    first = runner.invoke(args=["nous", "seed-demo", "--testers", "0", "--feedback", "0", "--no-workflows"])
    assert first.exit_code == 0, first.output
    assert all(f"demo flag {key}: added" in first.output for key in keys)
    with app.app_context():
        assert sorted(f.key for f in flag_service.list_flags()) == sorted(keys)
        types = {f.key: f.type for f in flag_service.list_flags()}
        assert {"release", "experiment", "kill-switch", "permission"} <= set(types.values())
        pro = {"userId": "t1", "properties": {"plan": "pro"}}
        assert flags.is_enabled("email-summary.weekly-digest", pro)
        assert not flags.is_enabled("email-summary.weekly-digest", {"userId": "t1", "properties": {"plan": "free"}})
        assert flags.is_enabled("travel.offline-maps", {"remoteAddress": "10.20.3.4"})
        assert not flags.is_enabled("travel.offline-maps", {"remoteAddress": "203.0.113.9"})
        assert not flags.is_enabled("reminders.natural-language", pro)  # scheduled for next week
        assert flag_service.get_flag("reminders.natural-language").enable_at is not None
        variants = {flags.get_variant("calendar.smart-suggestions", {"userId": f"u{i}"})["name"] for i in range(50)}
        assert variants == {"control", "ranked-v2"}
        # The admin switches one off; seeding again neither duplicates nor overrides it.
        flag_service.set_enabled("voice.wake-word", False, actor="admin@example.com")
    again = runner.invoke(args=["nous", "seed-demo", "--testers", "0", "--feedback", "0", "--no-workflows"])
    assert again.exit_code == 0, again.output
    assert all(f"demo flag {key}: already there" in again.output for key in keys)
    with app.app_context():
        assert len(flag_service.list_flags()) == len(keys)
        assert flag_service.get_flag("voice.wake-word").enabled is False
    without = runner.invoke(args=["nous", "seed-demo", "--testers", "0", "--feedback", "0", "--no-flags"])
    assert without.exit_code == 0 and "demo flag" not in without.output


def test_seed_demo_has_help_in_a_real_process() -> None:
    proc = run_cli("nous", "seed-demo", "--help")
    assert proc.returncode == 0 and "--feedback" in proc.stdout


def test_seed_demo_shows_in_the_figures_at_once(app, runner) -> None:
    with app.app_context():
        before = (feedback.stats()["total"], sum(feedback.counts_by_status().values()),
                  sum(feedback.charts(90)["count"]))  # all three cached now
    result = runner.invoke(args=["nous", "seed-demo", "--testers", "3", "--feedback", "40", "--seed", "2",
                                 "--no-workflows", "--no-flags"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        spam = db.session.scalar(select(func.count()).select_from(Feedback).where(Feedback.status == "spam"))
        assert feedback.stats()["total"] == before[0] + 40 - spam
        assert sum(feedback.counts_by_status().values()) == before[1] + 40
        assert sum(feedback.charts(90)["count"]) > before[2]
