"""Console pages for jobs: guarded, fragments and pages, actions audited, CSRF enforced, no 500s."""

from __future__ import annotations

import json
import logging

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db, get_redis
from nous.jobs import service
from nous.jobs.models import JobRun
from tests.jobs import tasks as test_tasks  # noqa: F401
from tests.jobs.helpers import bulk_runs as _bulk
from tests.jobs.helpers import run_jobs_here, store_oversized_schedule
from tests.support.live import free_port

HX = {"HX-Request": "true"}


def _status(job_id: str) -> str:
    db.session.remove()
    return service.get_run(job_id).status


def _area_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in {"jobs", "email"}]


def test_every_jobs_and_email_view_is_for_the_admin_only(app):
    rules = _area_rules(app)
    assert len(rules) >= 15
    for rule in rules:
        assert getattr(app.view_functions[rule.endpoint], "admin_only", False), rule.endpoint


def test_anonymous_visitors_are_sent_to_sign_in(client, ctx):
    job_id = service.enqueue("tests.echo")
    for path in ("/admin/jobs", "/admin/jobs/", f"/admin/jobs/{job_id}", f"/admin/jobs/{job_id}/progress",
                 "/admin/jobs/panel/failures", "/admin/jobs/panel/queues", "/admin/jobs/chart.json",
                 "/admin/jobs/outbox"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], path
    resp = client.get("/admin/jobs/panel/failures", headers=HX)
    assert resp.status_code == 401 and "HX-Redirect" in resp.headers


def test_anonymous_actions_change_nothing_even_with_a_csrf_token(client, ctx):
    job_id = service.enqueue("tests.echo")
    with client.session_transaction() as s:
        s["_csrf"] = "tok"
    for path in (f"/admin/jobs/{job_id}/cancel", f"/admin/jobs/{job_id}/delete", "/admin/jobs/retry-failed",
                 "/admin/email/send-test"):
        resp = client.post(path, headers={"X-CSRF-Token": "tok"})
        assert resp.status_code == 302, path
    assert _status(job_id) == "queued"


def test_actions_need_the_csrf_token(admin_client, ctx):
    job_id = service.enqueue("tests.echo")
    del admin_client.environ_base["HTTP_X_CSRF_TOKEN"]
    resp = admin_client.post(f"/admin/jobs/{job_id}/cancel", headers=HX)
    assert resp.status_code == 400
    resp = admin_client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": "wrong"})
    assert resp.status_code == 400
    assert _status(job_id) == "queued"
    resp = admin_client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": "test-csrf-token"})
    assert resp.status_code == 303 and _status(job_id) == "canceled"


def test_index_page_lists_jobs_with_counts_and_filters(admin_client, ctx):
    ok = service.enqueue("tests.echo", "hello")
    bad = service.enqueue("jobs.fail", "it broke")
    run_jobs_here()
    page = admin_client.get("/admin/jobs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert f'id="job-{ok}"' in html and f'id="job-{bad}"' in html
    assert "RuntimeError: it broke" in html and 'id="count-failed">1<' in html
    assert "Retry all failed (1)" in html and 'hx-confirm="Run all 1 failed jobs again?"' in html
    only_failed = admin_client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert f'id="job-{bad}"' in only_failed and f'id="job-{ok}"' not in only_failed
    rows = admin_client.get("/admin/jobs?q=hello", headers={**HX, "HX-Target": "job-rows"})
    text = rows.get_data(as_text=True)
    assert "<html" not in text and f'id="job-{ok}"' in text and f'id="job-{bad}"' not in text


@pytest.mark.parametrize("query", ["status=exploded", "before=abc", "after=-1", "before=99999999999999999999"])
def test_bad_filters_get_a_400_with_a_message(admin_client, ctx, query):
    resp = admin_client.get(f"/admin/jobs?{query}")
    assert resp.status_code == 400
    assert "must" in resp.get_data(as_text=True)


def test_pages_of_the_history_link_to_each_other(admin_client, ctx):
    _bulk(120)
    first = admin_client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert "Older →" in first and "Oldest" in first and "← Newer" not in first
    last_seq = db.session.scalar(select(JobRun.seq).order_by(JobRun.seq.asc()).offset(50).limit(1))
    older = admin_client.get(f"/admin/jobs?status=failed&before={last_seq + 1}").get_data(as_text=True)
    assert "← Newer" in older
    oldest = admin_client.get("/admin/jobs?status=failed&oldest=1").get_data(as_text=True)
    assert "Older →" not in oldest and "← Newer" in oldest


def test_detail_shows_traceback_and_history(admin_client, ctx):
    job_id = service.enqueue("jobs.fail", "detail me")
    run_jobs_here()
    resp = admin_client.get(f"/admin/jobs/{job_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "RuntimeError: detail me" in html and "Traceback (most recent call last)" in html
    assert "Attempt 1" in html and "Retry" in html
    fragment = admin_client.get(f"/admin/jobs/{job_id}", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and 'id="job-detail"' in fragment


@pytest.mark.parametrize("job_id", ["nope", "0" * 32, "a" * 80, "x%00y", "%E2%98%83"])
def test_unknown_jobs_are_404_not_500(admin_client, ctx, job_id):
    assert admin_client.get(f"/admin/jobs/{job_id}").status_code == 404
    assert admin_client.get(f"/admin/jobs/{job_id}/progress").status_code == 404
    for action in ("retry", "cancel", "delete"):
        resp = admin_client.post(f"/admin/jobs/{job_id}/{action}", headers=HX)
        assert resp.status_code == 404 and resp.get_json()["message"]


def test_progress_fragment_polls_while_running_and_stops_with_286(admin_client, ctx):
    job_id = service.enqueue("tests.echo")
    db.session.execute(JobRun.__table__.update().where(JobRun.job_id == job_id)
                       .values(status="started", progress=40, progress_message="halfway-ish"))
    db.session.commit()
    running = admin_client.get(f"/admin/jobs/{job_id}/progress", headers=HX)
    body = running.get_data(as_text=True)
    assert running.status_code == 200 and 'hx-trigger="every 1s"' in body and f'id="job-{job_id}-progress"' in body
    db.session.execute(JobRun.__table__.update().where(JobRun.job_id == job_id).values(status="finished", progress=100))
    db.session.commit()
    done = admin_client.get(f"/admin/jobs/{job_id}/progress", headers=HX)
    assert done.status_code == 286 and "hx-trigger" not in done.get_data(as_text=True)
    assert admin_client.get(f"/admin/jobs/{job_id}/progress").status_code == 200  # as a page


def test_cancel_retry_delete_from_the_list_are_audited(admin_client, ctx):
    job_id = service.enqueue("tests.echo")
    resp = admin_client.post(f"/admin/jobs/{job_id}/cancel", headers=HX)
    assert resp.status_code == 200 and f'id="job-{job_id}"' in resp.get_data(as_text=True)
    assert json.loads(resp.headers["HX-Trigger"])["toast"]["message"].startswith("Canceled")
    assert _status(job_id) == "canceled"
    resp = admin_client.post(f"/admin/jobs/{job_id}/retry", headers=HX)
    assert resp.status_code == 200 and _status(job_id) == "queued"
    assert job_id in Queue("low", connection=get_redis()).job_ids
    resp = admin_client.post(f"/admin/jobs/{job_id}/delete", headers=HX)
    assert resp.status_code == 200 and resp.get_data(as_text=True) == ""
    with pytest.raises(service.JobNotFound):
        service.get_run(job_id)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    actions = [(e.action, e.actor, e.target, e.ip) for e in events]
    expected = ("jobs.cancel", "jobs.retry", "jobs.delete")
    assert actions == [(a, "admin@nous.test", job_id, "127.0.0.1") for a in expected]


def test_actions_from_the_detail_page_swap_the_detail(admin_client, ctx):
    job_id = service.enqueue("jobs.fail")
    run_jobs_here()
    resp = admin_client.post(f"/admin/jobs/{job_id}/retry", data={"from": "detail"}, headers=HX)
    assert resp.status_code == 200 and 'id="job-detail"' in resp.get_data(as_text=True)
    resp = admin_client.post(f"/admin/jobs/{job_id}/delete", data={"from": "detail"}, headers=HX)
    assert resp.headers["HX-Redirect"] == "/admin/jobs"


def test_impossible_actions_are_409_with_the_reason(admin_client, ctx):
    job_id = service.enqueue("tests.echo")
    run_jobs_here()
    resp = admin_client.post(f"/admin/jobs/{job_id}/cancel", headers=HX)
    assert resp.status_code == 409 and "already ended" in resp.get_json()["message"]
    resp = admin_client.post(f"/admin/jobs/{job_id}/retry")
    assert resp.status_code == 409 and "only failed" in resp.get_data(as_text=True)


def test_retry_all_failed_from_the_console(admin_client, ctx):
    for i in range(3):
        service.enqueue("jobs.fail", f"n{i}")
    run_jobs_here()
    resp = admin_client.post("/admin/jobs/retry-failed", headers=HX)
    assert resp.status_code == 200
    trigger = json.loads(resp.headers["HX-Trigger"])
    assert trigger["toast"]["message"] == "Queued again: 3 failed job(s)" and trigger["jobs-changed"]
    assert service.counts_by_status()["queued"] == 3


def test_panels_and_chart_data(admin_client, ctx):
    service.enqueue("jobs.fail", "for the dashboard")
    run_jobs_here()
    failures = admin_client.get("/admin/jobs/panel/failures", headers=HX).get_data(as_text=True)
    assert "jobs.fail" in failures and "RuntimeError: for the dashboard" in failures and "<html" not in failures
    assert "<html" in admin_client.get("/admin/jobs/panel/failures").get_data(as_text=True)
    queues = admin_client.get("/admin/jobs/panel/queues", headers=HX).get_data(as_text=True)
    assert "No worker is running" in queues and ">high<" in queues
    stats = admin_client.get("/admin/jobs/panel/stats", headers=HX).get_data(as_text=True)
    assert "jobs.fail" in stats and "100.0 %" in stats
    assert admin_client.get("/admin/jobs/panel/stats?hours=0").status_code == 400
    data = admin_client.get("/admin/jobs/chart.json?range=48h").get_json()
    assert sum(data["processed"]) == 1 and sum(data["failed"]) == 1
    assert admin_client.get("/admin/jobs/chart.json?range=forever").status_code == 400


def test_run_a_schedule_now(admin_client, ctx):
    service.schedule_cron("echo-hourly", "0 * * * *", "tests.echo", "scheduled")
    resp = admin_client.post("/admin/jobs/schedules/echo-hourly/run", headers=HX)
    job_id = resp.headers["HX-Redirect"].rsplit("/", 1)[1]
    assert service.get_run(job_id).schedule == "echo-hourly"
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "jobs.run_schedule"))
    assert event.target == "echo-hourly" and event.after == {"job_id": job_id} and "@" in event.actor
    assert admin_client.post("/admin/jobs/schedules/nope/run", headers=HX).status_code == 404
    assert admin_client.post("/admin/jobs/schedules/" + "x" * 300 + "/run", headers=HX).status_code == 404
    assert "echo-hourly" in admin_client.get("/admin/jobs").get_data(as_text=True)
    plain = admin_client.post("/admin/jobs/schedules/echo-hourly/run")
    assert plain.status_code == 303 and "/admin/jobs/" in plain.headers["Location"]
    assert "Started tests.echo: job " in admin_client.get(plain.headers["Location"]).get_data(as_text=True)


def test_running_a_schedule_whose_stored_arguments_cannot_run_says_why_instead_of_failing(admin_client, ctx):
    store_oversized_schedule("big")
    resp = admin_client.post("/admin/jobs/schedules/big/run", headers=HX)
    assert resp.status_code == 409 and "schedule big cannot run" in resp.get_json()["message"]
    plain = admin_client.post("/admin/jobs/schedules/big/run")
    assert plain.status_code == 409 and "larger than 10000 characters" in plain.get_data(as_text=True)
    assert db.session.scalar(select(JobRun.seq)) is None


def test_with_redis_unreachable_a_job_page_says_so_without_the_address(app, admin_client, ctx, monkeypatch,
                                                                       caplog):
    job_id = service.enqueue("tests.echo", "x")
    port = free_port()
    dead = redis_lib.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5,
                           retry=Retry(NoBackoff(), 0))  # nothing listens there
    monkeypatch.setitem(app.extensions, "nous.redis", dead)
    jobs_log = logging.getLogger("nous.jobs")  # the nous loggers do not propagate to the root's capture
    monkeypatch.setattr(jobs_log, "handlers", [*jobs_log.handlers])  # the list as it was comes back after the test
    jobs_log.addHandler(caplog.handler)
    for headers in (HX, {}):
        resp = admin_client.get(f"/admin/jobs/{job_id}", headers=headers)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "Redis is unreachable" in text
        assert str(port) not in text and "127.0.0.1" not in text and "onnect" not in text
    logged = [r.error for r in caplog.records if getattr(r, "job_id", None) == job_id]
    assert logged and all(f"127.0.0.1:{port}" in error for error in logged)  # the address stays in the log


def test_with_redis_unreachable_the_queues_panel_says_so_instead_of_failing(app, admin_client, monkeypatch):
    dead = redis_lib.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                           retry=Retry(NoBackoff(), 0))  # nothing listens there
    monkeypatch.setitem(app.extensions, "nous.redis", dead)
    for headers in (HX, {}):
        resp = admin_client.get("/admin/jobs/panel/queues", headers=headers)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "Redis is not reachable" in text
        assert "No worker is running" not in text and "<table" not in text


def test_retries_left_are_told_only_while_the_job_may_still_use_them(admin_client, ctx):
    waiting = service.enqueue("tests.policy")  # 3 retries
    done = service.enqueue("jobs.sleep", seconds=0, steps=1)  # 1 retry, not needed
    assert "(3 retries left)" in admin_client.get(f"/admin/jobs/{waiting}").get_data(as_text=True)
    one = service.enqueue("jobs.sleep", seconds=0, steps=1)
    assert "(1 retry left)" in admin_client.get(f"/admin/jobs/{one}").get_data(as_text=True)
    run_jobs_here()
    html = admin_client.get(f"/admin/jobs/{done}").get_data(as_text=True)
    assert _status(done) == "finished" and "left)" not in html
