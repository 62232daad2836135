"""The console's pages say things in words for people: what each rendered page shows as text."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from nous.audit import service as audit
from nous.extensions import db
from nous.feedback.models import Feedback
from nous.flags import service as flags
from nous.jobs.models import JobRun, JobSchedule
from nous.settings import service as settings
from nous.workflows import service as workflows
from nous.workflows.models import WorkflowRun, WorkflowStepRun
from tests.test_humanize import CHROME_MAC

HX = {"HX-Request": "true"}
FLAGS = "/admin/beta/flags"
WEEKLY = """\
name: Weekly digest
trigger: manual
steps:
  - id: classify
    uses: feedback.classify
    with:
      text: hello
"""


def text_of(html: str) -> str:
    """The visible words of a page (tags dropped, spaces folded)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_activity_reads_as_sentences_that_link_to_the_object(admin_client, ctx) -> None:
    wf = workflows.create(WEEKLY, actor="admin@nous.test")
    html = admin_client.get("/admin/beta/activity").get_data(as_text=True)
    assert f'Created <a href="/admin/workflows/{wf.id}">workflow Weekly digest</a>' in html
    assert "Created workflow Weekly digest" in text_of(html)
    assert "workflows.create" not in html and f"workflow:{wf.id}" not in html


def test_audit_log_uses_the_one_date_format_with_the_exact_time_on_hover(admin_client, ctx) -> None:
    event = audit.record("admin@nous.test", "testers.add", "ada@example.com")
    event.at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    db.session.commit()
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert ('<time datetime="2026-03-04T05:06:07+00:00" title="2026-03-04 05:06:07 UTC">4 Mar 2026, 05:06</time>'
            in html)
    assert 'Added <a href="/admin/beta/users?q=ada@example.com">tester ada@example.com</a>' in html


def test_flag_history_is_in_words(admin_client, ctx) -> None:
    flags.create_flag({"key": "checkout", "enabled": True}, actor="admin@nous.test")
    rollout = {"name": "flexibleRollout", "parameters": {"rollout": "30", "stickiness": "default",
                                                          "groupId": "checkout"}, "constraints": []}
    flags.update_flag("checkout", {"strategies": [rollout]}, actor="admin@nous.test")
    plan = {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}
    flags.update_flag("checkout", {"strategies": [{**rollout, "constraints": [plan]}]}, actor="admin@nous.test")
    flags.set_rollout("checkout", 50, actor="admin@nous.test")
    page = text_of(admin_client.get(f"{FLAGS}/checkout/history").get_data(as_text=True))
    assert "Rollout 30 % → 50 %" in page
    assert "Added condition: plan is one of pro, team" in page
    assert "Added rollout to 30 % of users" in page
    assert "strategies[0].parameters.rollout" not in page.split("As stored")[0]
    flag_page = text_of(admin_client.get(f"{FLAGS}/checkout").get_data(as_text=True))
    assert "Rollout 30 % → 50 %" in flag_page  # the recent changes on the flag's page


def test_settings_have_labels_help_and_typed_inputs(admin_client, ctx) -> None:
    settings.set_value("feedback.widget_origins", ["https://a.example.com", "https://b.example.com"], actor="t")
    html = admin_client.get("/admin/settings").get_data(as_text=True)
    assert '<label for="setting-db-slow_query_ms-input" class="setting-label">Slow query threshold</label>' in html
    assert re.search(r'id="setting-db-slow_query_ms-input" type="number" name="value" value="100"[^>]*min="1" '
                     r'max="600000" step="1"', html)
    assert re.search(r'id="setting-alerts-email-input" type="checkbox" role="switch" name="value" value="true"', html)
    rows = re.findall(r'<input[^>]*name="value" value="([^"]*)"[^>]*aria-label="Sites allowed to send feedback', html)
    assert rows == ["https://a.example.com", "https://b.example.com", ""]  # a row each, and one to add
    assert "Email alerts" in html and "Feature flags" in html  # group names for people
    groups = re.findall(r'<th scope="rowgroup" colspan="3">([^<]*)</th>', html)
    assert "Admin API" in groups and "Client API" in groups
    assert all(g != g.lower() for g in groups), groups  # each group has its name for people, none its key


def test_settings_rows_and_switches_save_typed_values(admin_client, ctx) -> None:
    key = "feedback.widget_origins"
    ok = admin_client.post(f"/admin/settings/{key}", data={"value": ["https://a.example.com", "", " https://c.io "]},
                           headers=HX)
    assert ok.status_code == 200 and settings.get(key) == ["https://a.example.com", "https://c.io"]
    off = admin_client.post("/admin/settings/alerts.email", data={"value": "false"}, headers=HX)  # switch off
    assert off.status_code == 200 and settings.get("alerts.email") is False
    on = admin_client.post("/admin/settings/alerts.email", data={"value": ["false", "true"]}, headers=HX)
    assert on.status_code == 200 and settings.get("alerts.email") is True
    probes = admin_client.post("/admin/settings/health.probes", headers=HX, data={
        "probe_name": ["api", ""], "probe_url": ["https://api.example.com/health", ""],
        "probe_expect_status": ["204", ""], "probe_timeout": ["", ""]})
    assert probes.status_code == 200
    assert settings.get("health.probes") == [{"name": "api", "url": "https://api.example.com/health",
                                               "expect_status": 204, "timeout": 3.0}]
    bad = admin_client.post(f"/admin/settings/{key}", data={"value": ["https://ok.example.com", "ftp://nope"]},
                            headers=HX)
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "is not an origin" in text
    assert 'value="ftp://nope"' in text and 'value="https://ok.example.com"' in text  # the rows come back as typed


def test_segments_use_the_condition_builder(admin_client, ctx) -> None:
    page = admin_client.get(f"{FLAGS}/-/segments").get_data(as_text=True)
    assert "JSON" not in page and 'name="cond_n0_context"' in page and ">is one of</option>" in page
    resp = admin_client.post(f"{FLAGS}/-/segments", data={
        "name": "pros", "cond": ["n0", "n1"], "cond_n0_context": "plan", "cond_n0_operator": "IN",
        "cond_n0_values": "pro, team", "cond_n1_context": ""})
    assert resp.status_code == 303
    [segment] = flags.list_segments()
    assert segment.constraints == [{"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}]
    page = admin_client.get(f"{FLAGS}/-/segments").get_data(as_text=True)
    assert f'name="cond_s{segment.id}c0_values" value="pro, team"' in page
    bad = admin_client.post(f"{FLAGS}/-/segments", data={
        "name": "olds", "cond": ["n0"], "cond_n0_context": "appVersion", "cond_n0_operator": "SEMVER_GT",
        "cond_n0_values": "banana"})
    assert bad.status_code == 422 and 'value="banana"' in bad.get_data(as_text=True)  # kept for correcting
    assert "<li>Condition 1, value: " in bad.get_data(as_text=True)


def test_preview_form_has_human_fields_and_property_rows(admin_client, ctx) -> None:
    plan = {"contextName": "plan", "operator": "IN", "values": ["pro"]}
    flags.create_flag({"key": "pv", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default", "groupId": "pv"},
         "constraints": [plan]}]}, actor="t")
    page = admin_client.get(f"{FLAGS}/pv").get_data(as_text=True)
    assert ">User id or email <" in page and ">IP address <" in page and 'name="prop_name"' in page
    assert 'name="properties"' not in page
    yes = admin_client.post(f"{FLAGS}/pv/preview", headers=HX,
                            data={"userId": "u1", "prop_name": ["plan", ""], "prop_value": ["pro", ""]})
    assert yes.status_code == 200 and "Yes" in yes.get_data(as_text=True)
    assert "plan is pro" in text_of(yes.get_data(as_text=True))
    no = admin_client.post(f"{FLAGS}/pv/preview", headers=HX, data={"prop_name": ["plan"], "prop_value": ["free"]})
    assert "No</strong>" in no.get_data(as_text=True)
    nameless = admin_client.post(f"{FLAGS}/pv/preview", headers=HX, data={"prop_name": [""], "prop_value": ["pro"]})
    assert nameless.status_code == 422 and "give the property a name" in nameless.get_data(as_text=True)
    when = admin_client.post(f"{FLAGS}/pv/preview", data={"currentTime": "2026-12-01T09:00"})
    assert when.status_code == 200 and "Time (UTC) 2026-12-01T09:00:00Z" in text_of(when.get_data(as_text=True))


def test_feedback_detail_summarises_the_browser_and_uses_the_one_date_format(admin_client, ctx) -> None:
    row = Feedback(rating=4, message="hi", category="idea", status="new", user_agent=CHROME_MAC,
                   created_at=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC), updated_at=datetime(2026, 5, 6, tzinfo=UTC))
    db.session.add(row)
    db.session.commit()
    html = admin_client.get(f"/admin/beta/feedback/{row.id}").get_data(as_text=True)
    assert f'<span title="{CHROME_MAC}">Chrome 131 on macOS</span>' in html
    assert 'title="2026-05-06 07:08:09 UTC">6 May 2026, 07:08</time>' in html
    assert "feedback_reply" not in html and "2026-05-06T07:08:09" not in text_of(html)


def test_jobs_show_cron_in_words_and_truthful_attempts(admin_client, ctx) -> None:
    db.session.add(JobSchedule(name="digest", task="digest", cron="0 8 * * 1", args={},
                               next_run_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC)))
    job_id = uuid.uuid4().hex
    db.session.add(JobRun(job_id=job_id, task="digest", queue="default", args={}, status="failed", attempts=2,
                          max_attempts=1))
    db.session.commit()
    audit.record("admin@nous.test", "jobs.retry", job_id, before={"status": "failed"}, after={"status": "queued"})
    index = text_of(admin_client.get("/admin/jobs/").get_data(as_text=True))
    assert "At 08:00, only on Monday (UTC) 0 8 * * 1" in index
    assert "2 (1 of 1 automatic, 1 retried by hand)" in index and "2/1" not in index
    detail = text_of(admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True))
    assert "2 (1 of 1 automatic, 1 retried by hand)" in detail and "2 of 1" not in detail
    assert f"Retried job {job_id[:8]}" in detail


def test_a_run_with_failed_steps_does_not_read_as_a_plain_success(admin_client, ctx) -> None:
    wf = workflows.create(WEEKLY, actor="t")
    run = WorkflowRun(workflow_id=wf.id, workflow_name=wf.name, definition=wf.definition, status="succeeded",
                      input={}, step_count=3, started_at=datetime(2026, 1, 1, tzinfo=UTC),
                      ended_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    db.session.add(run)
    db.session.flush()
    for position, status in enumerate(["failed", "failed", "succeeded"]):
        db.session.add(WorkflowStepRun(run_id=run.id, position=position, step_id=f"s{position}",
                                       uses="feedback.classify", status=status))
    db.session.commit()
    detail = text_of(admin_client.get(f"/admin/workflows/runs/{run.id}").get_data(as_text=True))
    assert "succeeded with 2 failed steps" in detail
    for url in ("/admin/workflows/runs", f"/admin/workflows/{wf.id}/runs", "/admin/workflows/"):
        page = text_of(admin_client.get(url).get_data(as_text=True))
        assert "succeeded with 2 failed steps" in page, url


def test_client_tokens_use_the_one_date_format(admin_client, ctx) -> None:
    row, _ = flags.create_token("mobile app", actor="admin@nous.test")
    html = admin_client.get(f"{FLAGS}/-/tokens").get_data(as_text=True)
    created = row.created_at.replace(tzinfo=UTC) if row.created_at.tzinfo is None else row.created_at
    assert f'title="{created.strftime("%Y-%m-%d %H:%M:%S")} UTC">{created.strftime("%-d %b %Y, %H:%M")}</time>' in html
    assert ">never</td>" in html


def test_audit_log_filters_by_area_in_words(admin_client, ctx) -> None:
    audit.record("admin@nous.test", "testers.add", "ada@example.com")
    audit.record("admin@nous.test", "flags.create", "checkout")
    page = admin_client.get("/admin/audit?action=flags.").get_data(as_text=True)
    assert '<option value="flags." selected>Feature flags</option>' in page
    assert "Created <a" in page and "tester ada@example.com" not in page


def test_the_command_line_says_the_same_words(runner, ctx) -> None:
    wf = workflows.create(WEEKLY, actor="t")
    run = WorkflowRun(workflow_id=wf.id, workflow_name=wf.name, definition=wf.definition, status="succeeded",
                      input={}, step_count=1)
    db.session.add(run)
    db.session.flush()
    db.session.add(WorkflowStepRun(run_id=run.id, position=0, step_id="s0", uses="feedback.classify",
                                   status="failed"))
    db.session.add(JobRun(job_id=uuid.uuid4().hex, task="digest", queue="default", args={}, status="failed",
                          attempts=2, max_attempts=1))
    db.session.commit()
    runs = runner.invoke(args=["nous", "workflows", "runs"], catch_exceptions=False)
    assert "succeeded with 1 failed step" in runs.output
    jobs = runner.invoke(args=["nous", "jobs", "list"], catch_exceptions=False)
    assert "2 (1 of 1 automatic, 1 retried by hand)" in jobs.output and "2/1" not in jobs.output


def test_canceled_is_spelled_one_way_in_the_console_the_api_and_the_cli(admin_client, client, runner, ctx) -> None:
    """US "canceled", the project's spelling (job and run states are "canceled"): toasts, pages, the activity,
    the sign-in refusal and the command line's help alike."""
    from nous.jobs import service as jobs
    from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)

    job_id = jobs.enqueue("tests.echo", "to cancel")
    toast = admin_client.post(f"/admin/jobs/{job_id}/cancel", headers=HX).headers["HX-Trigger"]
    wf = workflows.create(WEEKLY, actor="admin@nous.test")
    run_id = workflows.run_now(wf.id, {}, "admin@nous.test")
    run_page = admin_client.post(f"/admin/workflows/runs/{run_id}/cancel", headers=HX)
    seen = [toast, run_page.headers["HX-Trigger"], run_page.get_data(as_text=True),
            admin_client.get("/admin/beta/activity").get_data(as_text=True),
            client.get("/admin/auth/callback?error=access_denied").get_data(as_text=True),
            runner.invoke(args=["nous", "jobs", "retry", "--help"]).output]
    for text in seen:
        assert not re.search(r"cancell", text, re.IGNORECASE), text[:300]
    assert "Canceled" in toast and f"Run {run_id} canceled" in seen[1]
    assert "canceled by admin@nous.test" in seen[2] and "Canceled" in seen[3]
    assert "canceled or refused by the provider" in seen[4] and "canceled" in seen[5]
