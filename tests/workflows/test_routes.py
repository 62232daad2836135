"""The workflows console: guarded, CSRF-checked, and every action works through its route."""

from __future__ import annotations

import html as html_lib
import io
import json

import pytest

from nous import humanize
from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.feedback.models import Feedback
from nous.workflows import service
from nous.workflows.models import Workflow, WorkflowRun
from tests.workflows.conftest import ADMIN, run_here

DOC = """\
name: Route test
trigger: manual
steps:
  - id: classify
    uses: feedback.classify
    with: {text: "${{ text }}"}
  - id: entities
    uses: text.extract_entities
    if: steps.classify.output.category == "bug"
    with: {text: "${{ text }}"}
"""
BAD = "name: Bad\nsteps:\n  - id: a\n    uses: feedback.clasify\n"
HX = {"HX-Request": "true"}


def make(enabled: bool = True) -> Workflow:
    return service.create(DOC, ADMIN, enabled=enabled)


def audit_actions() -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_every_workflows_view_is_for_the_admin_only(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("workflows.")]
    assert len(rules) >= 15
    for rule in rules:
        assert getattr(app.view_functions[rule.endpoint], "admin_only", False), rule.endpoint


@pytest.mark.parametrize("path", ["/admin/workflows/", "/admin/workflows/new", "/admin/workflows/1",
                                  "/admin/workflows/runs/1", "/admin/workflows/1/export", "/admin/workflows/runs"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]


def test_anonymous_posts_change_nothing(client, ctx):
    wf = make()
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    for action in ("disable", "run", "delete"):
        path = f"/admin/workflows/{wf.id}/{action}"
        resp = client.post(path, headers={**HX, "X-CSRF-Token": "t"})
        assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/admin/login")
    db.session.expire_all()
    assert db.session.get(Workflow, wf.id).enabled and not db.session.scalars(db.select(WorkflowRun)).all()


def test_posts_without_the_csrf_token_are_refused(admin_client, ctx):
    wf = make()
    del admin_client.environ_base["HTTP_X_CSRF_TOKEN"]
    for path, data in ((f"/admin/workflows/{wf.id}/disable", {}), ("/admin/workflows/", {"document": DOC}),
                       (f"/admin/workflows/{wf.id}/run", {"input": "{}"})):
        assert admin_client.post(path, data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(Workflow, wf.id).enabled and service.list_runs().rows == []


def test_pages_render(admin_client, ctx):
    wf = make()
    run_id = service.run_now(wf.id, {"text": "It crashes"}, ADMIN)
    for path in ("/admin/workflows/", "/admin/workflows/new", f"/admin/workflows/{wf.id}",
                 f"/admin/workflows/{wf.id}/edit", "/admin/workflows/import", f"/admin/workflows/runs/{run_id}",
                 "/admin/workflows/runs", f"/admin/workflows/{wf.id}/runs"):
        resp = admin_client.get(path)
        assert resp.status_code == 200, path
        assert "<html" in resp.get_data(as_text=True), path  # a fragment URL is also a full page


def test_a_cron_trigger_reads_in_words_as_on_the_jobs_pages(admin_client, ctx):
    """The list and the workflow's page say when it runs with the jobs' cron-in-words, the expression beside."""
    wf = service.create(DOC.replace("trigger: manual", 'trigger: {cron: "15 2 * * 1"}'), ADMIN, enabled=False)
    words = humanize.cron_words("15 2 * * 1")
    assert words.startswith("At 02:15")
    for path in ("/admin/workflows/", f"/admin/workflows/{wf.id}"):
        text = admin_client.get(path).get_data(as_text=True)
        assert f"on schedule: a{words[1:]} <code>15 2 * * 1</code>" in text, path
        assert "cron 15 2 * * 1" not in text, path


def test_validate_as_you_type_lists_problems_with_lines_or_the_steps(admin_client, ctx):
    bad = admin_client.post("/admin/workflows/validate", data={"document": BAD}, headers=HX)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'data-line="4"' in html and "steps[0].uses" in html
    assert "unknown handler" in html
    good = admin_client.post("/admin/workflows/validate", data={"document": DOC}, headers=HX).get_data(as_text=True)
    assert "Valid: Route test" in good and good.count('class="wf-step"') == 2
    assert "steps.classify.output.category" in good  # the condition is shown on the step


def test_create_refuses_an_invalid_document_and_keeps_the_text(admin_client, ctx):
    resp = admin_client.post("/admin/workflows/", data={"document": BAD})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "feedback.clasify" in html and "line 4" in html
    assert service.list_workflows() == []


def test_create_edit_enable_disable_delete(admin_client, ctx):
    resp = admin_client.post("/admin/workflows/", data={"document": DOC})
    assert resp.status_code == 303
    wf = service.by_name("Route test")
    assert resp.headers["Location"].endswith(f"/admin/workflows/{wf.id}") and wf.enabled

    taken = admin_client.post("/admin/workflows/", data={"document": DOC})
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)

    edited = DOC.replace("Route test", "Route test 2")
    assert admin_client.post(f"/admin/workflows/{wf.id}", data={"document": edited}).status_code == 303
    db.session.expire_all()
    wf = db.session.get(Workflow, wf.id)
    assert (wf.name, wf.version, wf.source) == ("Route test 2", 2, edited)

    off = admin_client.post(f"/admin/workflows/{wf.id}/disable", headers=HX)
    assert off.status_code == 200 and "Enable" in off.get_data(as_text=True)
    assert json.loads(off.headers["HX-Trigger"])["toast"]["message"] == "Route test 2 disabled"
    db.session.expire_all()
    assert db.session.get(Workflow, wf.id).enabled is False
    refused = admin_client.post(f"/admin/workflows/{wf.id}/run", data={"input": "{}"}, headers=HX)
    assert refused.status_code == 409 and "disabled" in refused.get_json()["message"]
    assert admin_client.post(f"/admin/workflows/{wf.id}/enable").status_code == 303

    gone = admin_client.post(f"/admin/workflows/{wf.id}/delete", headers=HX)
    assert gone.status_code == 200 and gone.headers["HX-Redirect"] == "/admin/workflows/"
    assert service.list_workflows() == []
    assert audit_actions() == ["workflows.create", "workflows.update", "workflows.disable", "workflows.enable",
                               "workflows.delete"]


def test_run_now_shows_live_history_that_stops_polling_when_done(admin_client, ctx):
    wid = make().id
    bad = admin_client.post(f"/admin/workflows/{wid}/run", data={"input": "{not json"}, headers=HX)
    assert bad.status_code == 400 and "not valid JSON" in bad.get_json()["message"]
    assert admin_client.post(f"/admin/workflows/{wid}/run", data={"input": "[1]"}, headers=HX).status_code == 400

    resp = admin_client.post(f"/admin/workflows/{wid}/run", data={"input": '{"text": "It crashes"}'}, headers=HX)
    html = resp.get_data(as_text=True)
    [run] = service.list_runs(wid).rows
    run_id = run.id
    assert resp.status_code == 200 and f"#{run_id}" in html and 'hx-trigger="every 2s"' in html
    assert f"Run {run_id} started" in resp.headers["HX-Trigger"]

    polling = admin_client.get(f"/admin/workflows/{wid}/runs", headers=HX)
    assert polling.status_code == 200 and "queued" in polling.get_data(as_text=True)
    detail = admin_client.get(f"/admin/workflows/runs/{run_id}", headers=HX)
    assert detail.status_code == 200 and 'hx-trigger="every 1s"' in detail.get_data(as_text=True)

    run_here()
    stopped = admin_client.get(f"/admin/workflows/{wid}/runs", headers=HX)
    assert stopped.status_code == 286 and 'hx-trigger="every 2s"' not in stopped.get_data(as_text=True)
    follows = f'hx-trigger="workflow-{wid}-changed from:body delay:200ms"'  # new runs appear without polling
    assert follows in stopped.get_data(as_text=True)
    final = admin_client.get(f"/admin/workflows/runs/{run_id}", headers=HX)
    text = final.get_data(as_text=True)
    assert final.status_code == 286 and "succeeded" in text and "hx-trigger" not in text
    assert '"category": "bug"' in html_lib.unescape(text)  # the timeline shows each step's output
    assert "workflows.run" in audit_actions()


def test_cancel_a_run_from_its_page(admin_client, ctx):
    wf = make()
    run_id = service.run_now(wf.id, {}, ADMIN)
    resp = admin_client.post(f"/admin/workflows/runs/{run_id}/cancel", headers=HX)
    assert resp.status_code == 200 and "canceled" in resp.get_data(as_text=True)
    assert service.get_run(run_id).status == "canceled"
    again = admin_client.post(f"/admin/workflows/runs/{run_id}/cancel", headers=HX)
    assert again.status_code == 409 and "already ended" in again.get_json()["message"]
    assert "workflows.run.cancel" in audit_actions()


def test_export_and_import_round_trip(admin_client, ctx):
    wf = make()
    yml = admin_client.get(f"/admin/workflows/{wf.id}/export?format=yaml")
    assert yml.status_code == 200 and yml.get_data(as_text=True) == DOC  # as written, comments and all
    assert 'filename="route-test.yaml"' in yml.headers["Content-Disposition"]
    js = admin_client.get(f"/admin/workflows/{wf.id}/export?format=json")
    doc = json.loads(js.get_data(as_text=True))
    assert doc["name"] == "Route test" and [s["id"] for s in doc["steps"]] == ["classify", "entities"]
    assert admin_client.get(f"/admin/workflows/{wf.id}/export?format=xml").status_code == 400

    doc["description"] = "imported from JSON"
    upload = admin_client.post("/admin/workflows/import", data={
        "file": (io.BytesIO(json.dumps(doc).encode()), "route.json")}, content_type="multipart/form-data")
    assert upload.status_code == 303
    db.session.expire_all()
    wf = db.session.get(Workflow, wf.id)
    assert (wf.version, wf.description, wf.source_format) == (2, "imported from JSON", "json")

    refused = admin_client.post("/admin/workflows/import", data={"document": BAD})
    assert refused.status_code == 422 and "line 4" in refused.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/workflows/999", "/admin/workflows/99999999999999999999",
                                  "/admin/workflows/runs/999", "/admin/workflows/runs/99999999999999999999999",
                                  "/admin/workflows/999/runs", "/admin/workflows/999/export"])
def test_unknown_ids_are_404_never_500(admin_client, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["?status=nope", "?before=abc", "?before=-1", "?before=" + "9" * 30, "?limit=0",
                                   "?limit=101", "?limit=x"])
def test_bad_run_list_arguments_are_400(admin_client, query):
    assert admin_client.get("/admin/workflows/runs" + query).status_code == 400


def test_bad_uploads_are_refused_cleanly(admin_client, ctx):
    binary = admin_client.post("/admin/workflows/import", data={"file": (io.BytesIO(b"\xff\xfe\x00"), "x.yaml")},
                               content_type="multipart/form-data")
    assert binary.status_code == 400
    empty = admin_client.post("/admin/workflows/validate", data={}, headers=HX)
    assert empty.status_code == 200 and "the document is empty" in empty.get_data(as_text=True)


def test_the_editor_lists_each_handler_with_the_gist_of_what_it_does(admin_client):
    html = admin_client.get("/admin/workflows/new").get_data(as_text=True)
    gist = '<span class="muted small wf-gist">Waits seconds (up to 7 days) before the next step starts</span>'
    assert f"<code>delay</code> {gist}" in html
    assert "…</span>" in html  # long descriptions are cut, the whole one is inside


def test_a_polled_run_list_asks_for_the_same_page_it_shows(admin_client, ctx):
    wf = make()
    ids = [service.run_now(wf.id, {"text": "x"}, ADMIN) for _ in range(4)]  # all still queued
    index = admin_client.get("/admin/workflows/").get_data(as_text=True)
    assert 'hx-get="/admin/workflows/runs?limit=15"' in index  # the dashboard's 15, not a page of 25

    older = admin_client.get(f"/admin/workflows/{wf.id}/runs?before={ids[2]}&limit=1", headers=HX)
    html = older.get_data(as_text=True)
    assert older.status_code == 200 and f"#{ids[1]}" in html and f"#{ids[3]}" not in html
    assert f'hx-get="/admin/workflows/{wf.id}/runs?before={ids[2]}&amp;limit=1"' in html
    again = admin_client.get(f"/admin/workflows/{wf.id}/runs?before={ids[2]}&limit=1", headers=HX)
    assert again.get_data(as_text=True) == html  # polling keeps showing the older page

    filtered = admin_client.get("/admin/workflows/runs?status=queued", headers=HX).get_data(as_text=True)
    assert 'hx-get="/admin/workflows/runs?status=queued"' in filtered
    run_here()
    done = admin_client.get("/admin/workflows/runs?status=queued", headers=HX)
    assert done.status_code == 286 and "No queued runs." in done.get_data(as_text=True)


def test_run_now_of_a_feedback_workflow_is_filled_in_with_the_newest_feedback(admin_client, client, ctx):
    wf = service.create(DOC.replace("trigger: manual", "trigger: {event: feedback.created}")
                        .replace("Route test", "On feedback"), ADMIN)
    page = html_lib.unescape(admin_client.get(f"/admin/workflows/{wf.id}").get_data(as_text=True))
    assert "filled in with an example" in page and '"message": "The app crashes on start' in page
    for message in ("older one", "Crash on login since 3.0.2"):
        assert client.post("/api/feedback", json={"rating": 2, "category": "bug", "message": message}
                           ).status_code == 201
    newest = max(r.id for r in db.session.scalars(db.select(Feedback)))
    page = html_lib.unescape(admin_client.get(f"/admin/workflows/{wf.id}").get_data(as_text=True))
    assert f"filled in with the newest feedback (#{newest})" in page
    assert f'"id": {newest},' in page and '"message": "Crash on login since 3.0.2"' in page
    manual = html_lib.unescape(admin_client.get(f"/admin/workflows/{make().id}").get_data(as_text=True))
    assert "filled in with" not in manual and ">{}</textarea>" in manual


def test_a_run_that_has_not_started_says_so(admin_client, ctx):
    wf = make()
    waiting = service.run_now(wf.id, {}, ADMIN)
    page = admin_client.get(f"/admin/workflows/runs/{waiting}").get_data(as_text=True)
    assert "mono\">not yet</span>" in page and "queued " in page
    service.cancel_run(waiting, ADMIN)
    assert "mono\">never</span>" in admin_client.get(f"/admin/workflows/runs/{waiting}").get_data(as_text=True)
    run_here()
    ran = service.run_now(wf.id, {"text": "hello"}, ADMIN)
    run_here()
    page = admin_client.get(f"/admin/workflows/runs/{ran}").get_data(as_text=True)
    assert "not yet" not in page and "never</span>" not in page


def test_step_parameters_that_are_numbers_or_switches_are_shown_as_written(admin_client, ctx):
    doc = ("name: Plain values\ntrigger: manual\nsteps:\n  - id: wait\n    uses: delay\n    with: {seconds: 3}\n"
           "  - id: fetch\n    uses: http.request\n    continue_on_error: true\n"
           "    with: {url: \"https://example.com/\", follow_redirects: false, headers: {x-n: \"1...\"}}\n")
    preview = admin_client.post("/admin/workflows/validate", data={"document": doc}, headers=HX)
    wf = service.create(doc, ADMIN)
    page = admin_client.get(f"/admin/workflows/{wf.id}")
    for html in (preview.get_data(as_text=True), page.get_data(as_text=True)):
        assert '<dd class="mono">3</dd>' in html and '<dd class="mono">false</dd>' in html, html
        assert "x-n: 1..." in html
