"""/api/admin/v1/feedback against the real service, database, outbox and audit log."""

from __future__ import annotations

import hashlib
import json

from tests.adminapi.conftest import Api, assert_problem
from tests.support.sql import statements


def _submit(app, n: int = 1, **fields) -> list[int]:
    from nous.feedback import service as feedback

    ids = []
    with app.app_context():
        for i in range(n):
            data = {"rating": 4, "message": f"feedback message number {i}", "category": "bug", **fields}
            ids.append(feedback.submit(data).id)
    return ids


def test_list_with_console_filters(app, api: Api) -> None:
    _submit(app, 2, rating=5, feature="export", email="ada@example.com")
    _submit(app, 1, rating=1, category="idea", message="charts are slow to draw")
    (spam,) = _submit(app, 1, rating=2)
    api.patch(f"feedback/{spam}", json={"status": "spam"})

    def ids(query: str) -> int:
        resp = api.get(f"feedback?{query}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return len(resp.get_json()["items"])

    assert ids("") == 3  # spam left out
    assert ids("status=all") == 4 and ids("status=spam") == 1
    assert ids("rating=5") == 2 and ids("feature=export") == 2 and ids("category=idea") == 1
    assert ids("q=slow") == 1 and ids("email=ada@example.com") == 2
    assert ids("since=2000-01-01&until=2999-12-31") == 3 and ids("until=2001-01-01") == 0
    item = api.get("feedback?rating=1").get_json()["items"][0]
    assert item["created_at"].endswith("Z") and item["tags"] == []
    for bad in ("rating=6", "category=rant", "status=open", "since=yesterday", "tester=nobody"):
        assert_problem(api.get(f"feedback?{bad}"), 400, bad.split("=")[0])


def test_pages_to_the_end_without_duplicates_or_gaps_while_feedback_arrives(app, api: Api) -> None:
    existing = set(_submit(app, 23))
    seen: list[int] = []
    cursor = None
    while True:
        body = api.get("feedback?limit=5" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [f["id"] for f in body["items"]]
        _submit(app, 2)  # newer feedback arrives between pages
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)), "a feedback was listed twice"
    assert existing == set(seen), f"missed: {existing - set(seen)}"
    assert seen == sorted(seen, reverse=True)


def test_status_and_tags_with_if_match(app, api: Api) -> None:
    (fid,) = _submit(app)
    first = api.get(f"feedback/{fid}")
    etag = first.headers["ETag"]
    both = api.patch(f"feedback/{fid}", json={"status": "planned", "tags": ["Export", "safari", "export"]},
                     headers={"If-Match": etag})
    assert both.status_code == 200, both.get_data(as_text=True)
    assert both.get_json()["status"] == "planned" and both.get_json()["tags"] == ["export", "safari"]
    stale = api.patch(f"feedback/{fid}", json={"status": "resolved"}, headers={"If-Match": etag})
    assert_problem(stale, 412, "If-Match")
    assert stale.headers["ETag"] == both.headers["ETag"]
    assert api.get(f"feedback/{fid}").get_json()["status"] == "planned"
    assert_problem(api.patch(f"feedback/{fid}", json={"status": "done"}), 422, "status")
    assert_problem(api.patch(f"feedback/{fid}", json={"tags": "a,b"}), 400, "tags")
    assert_problem(api.patch(f"feedback/{fid}", json={"tags": [f"t{i}" for i in range(50)]}), 422)
    assert api.get(f"feedback/{fid}").get_json()["tags"] == ["export", "safari"]  # nothing half-done
    assert_problem(api.get("feedback/999999"), 404)


def test_bulk_status_is_all_or_nothing(app, api: Api) -> None:
    a, b, c = _submit(app, 3)
    versions = {str(i): api.get(f"feedback/{i}").headers["ETag"] for i in (a, b, c)}
    api.patch(f"feedback/{b}", json={"status": "triaged"})  # b changes after the list was read
    refused = api.post("feedback/bulk", json={"ids": [a, b, c], "status": "resolved", "versions": versions})
    assert_problem(refused, 412, "versions")
    assert {api.get(f"feedback/{i}").get_json()["status"] for i in (a, c)} == {"new"}
    done = api.post("feedback/bulk", json={"ids": [a, b, c], "status": "resolved"})
    assert done.get_json() == {"changed": 3}
    assert_problem(api.post("feedback/bulk", json={"ids": [], "status": "new"}), 400, "ids")
    assert_problem(api.post("feedback/bulk", json={"ids": ["1"], "status": "new"}), 400, "ids")
    assert_problem(api.post("feedback/bulk", json={"ids": [a], "status": "gone"}), 422)
    assert_problem(api.post("feedback/bulk", json={"ids": [a]}), 422, "status")
    assert_problem(api.post("feedback/bulk", json={"ids": [a], "status": "new", "add_tags": ["x"]}), 422, "status")


def test_bulk_tags_are_all_or_nothing(app, api: Api) -> None:
    a, b = _submit(app, 2)
    api.patch(f"feedback/{a}", json={"tags": ["keep", "old"]})
    versions = {str(i): api.get(f"feedback/{i}").headers["ETag"] for i in (a, b)}
    done = api.post("feedback/bulk", json={"ids": [a, b], "add_tags": ["iOS"], "remove_tags": ["old"],
                                           "versions": versions})
    assert done.get_json() == {"changed": 2}
    assert api.get(f"feedback/{a}").get_json()["tags"] == ["ios", "keep"]
    assert api.get(f"feedback/{b}").get_json()["tags"] == ["ios"]
    stale = api.post("feedback/bulk", json={"ids": [a, b], "add_tags": ["late"], "versions": versions})
    assert_problem(stale, 412, "versions")
    crowded = api.post("feedback/bulk", json={"ids": [a, b], "add_tags": [f"t{i}" for i in range(19)]})
    assert_problem(crowded, 422)
    assert api.get(f"feedback/{b}").get_json()["tags"] == ["ios"]  # nothing half-done
    assert_problem(api.post("feedback/bulk", json={"ids": [a], "add_tags": "x"}), 400, "add_tags")


def test_reply_by_email_goes_to_the_outbox(app, api: Api) -> None:
    from nous.email.models import OutboxMessage

    (fid,) = _submit(app, email="ada@example.com")
    (anonymous,) = _submit(app)
    resp = api.post(f"feedback/{fid}/replies", json={"body": "Thanks, fixed in 2.4.2."},
                    headers={"Idempotency-Key": "reply-1"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["to"] == "ada@example.com"
    again = api.post(f"feedback/{fid}/replies", json={"body": "Thanks, fixed in 2.4.2."},
                     headers={"Idempotency-Key": "reply-1"})
    assert again.get_json() == resp.get_json()
    assert [r["body"] for r in api.get(f"feedback/{fid}").get_json()["replies"]] == ["Thanks, fixed in 2.4.2."]
    with app.app_context():
        from nous.extensions import db

        (sent,) = db.session.query(OutboxMessage).filter_by(to_addr="ada@example.com").all()
        assert "fixed in 2.4.2" in sent.text_body and sent.actor.startswith("token:")
    assert_problem(api.post(f"feedback/{anonymous}/replies", json={"body": "hello"}), 409)
    assert_problem(api.post(f"feedback/{fid}/replies", json={"body": "   "}), 422)
    assert_problem(api.post(f"feedback/{fid}/replies", json={}), 400, "body")


def test_export_statistics_and_charts(app, api: Api) -> None:
    _submit(app, 2, rating=5, feature="export", message="=1+1 great export")
    _submit(app, 1, rating=1)
    text = api.get("feedback/export?format=csv").get_data(as_text=True)
    assert text.splitlines()[0].startswith("id,created_at,rating") and "'=1+1 great export" in text
    lines = api.get("feedback/export?format=jsonl&rating=5").get_data(as_text=True).splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["feature"] == "export"
    stats = api.get("feedback/statistics").get_json()
    assert stats["total"] == 3 and stats["distribution"]["5"] == 2 and stats["by_status"]["new"] == 3
    charts = api.get("feedback/charts?days=7").get_json()
    assert len(charts["days"]) == 7 and sum(charts["count"]) == 3
    assert_problem(api.get("feedback/charts?days=3"), 400, "days")


# --- files sent with feedback -------------------------------------------------------------------

def _with_files(app, client) -> tuple[int, int, int]:
    """A feedback sent through the public API with a screenshot and a log (multipart, as the widget sends
    it): (feedback id, image id, log id)."""
    from nous.feedback import service as feedback
    from tests.feedback.test_attachments_console import LOG, png, submit_with

    fid = submit_with(client, [("screen shot.png", png()), ("sync.log", LOG)])
    with app.app_context():
        image_id, log_id = [a.id for a in feedback.attachments.for_feedback(fid)]
    return fid, image_id, log_id


def _stored(app, attachment_id: int) -> bytes:
    from nous.feedback import service as feedback

    with app.app_context():
        return b"".join(feedback.attachments.chunks(attachment_id, 1024))


def test_feedback_lists_its_files(app, client, api: Api) -> None:
    from tests.feedback.test_attachments_console import LOG

    fid, image_id, log_id = _with_files(app, client)
    (plain,) = _submit(app)
    one = api.get(f"feedback/{fid}")
    assert one.status_code == 200, one.get_data(as_text=True)
    image, log = one.get_json()["attachments"]
    assert image["id"] == image_id and image["kind"] == "image" and image["content_type"] == "image/png"
    assert image["filename"] == "screen shot.png" and (image["width"], image["height"]) == (640, 360)
    assert image["size"] == len(_stored(app, image_id)) and image["created_at"].endswith("Z")
    assert image["text_status"] in ("pending", "done", "unavailable", "failed")
    assert ("text_note" in image) == (image["text_status"] != "done")
    assert log["id"] == log_id and log["kind"] == "text" and log["content_type"].startswith("text/plain")
    assert log["text"] == LOG.decode() and log["text_status"] == "done" and "text_note" not in log
    assert log["sha256"] == hashlib.sha256(LOG).hexdigest() and log["width"] is None
    assert api.get(f"feedback/{plain}").get_json()["attachments"] == []
    items = {f["id"]: f for f in api.get("feedback").get_json()["items"]}
    assert items[fid]["attachments"] == [
        {"id": image_id, "filename": "screen shot.png", "kind": "image", "width": 640, "height": 360},
        {"id": log_id, "filename": "sync.txt", "kind": "text", "width": None, "height": None}]
    assert items[plain]["attachments"] == []


def test_the_file_list_of_a_page_is_one_query(app, client, api: Api) -> None:
    for _ in range(3):
        _with_files(app, client)
    with statements(app) as sent:
        assert api.get("feedback").status_code == 200
    on_files = [s for s in sent if "feedback_attachments" in s]
    assert len(on_files) == 1, on_files


def test_download_is_the_stored_file_with_the_consoles_headers(app, client, api: Api, make_token) -> None:
    fid, image_id, log_id = _with_files(app, client)
    resp = api.get(f"feedback/{fid}/attachments/{image_id}")
    assert resp.status_code == 200 and resp.is_streamed  # from chunks(), never held whole
    data = resp.get_data()
    assert data == _stored(app, image_id) and data.startswith(b"\x89PNG") and resp.mimetype == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"screen_shot.png\"; filename*=UTF-8''screen%20shot.png")
    assert resp.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    again = api.get(f"feedback/{fid}/attachments/{image_id}", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()
    log = api.get(f"feedback/{fid}/attachments/{log_id}")
    assert log.mimetype == "text/plain" and log.get_data() == _stored(app, log_id)
    assert log.headers["Content-Disposition"].startswith('attachment; filename="sync.txt"')
    reader = Api(client, make_token("feedback:read"))
    assert reader.get(f"feedback/{fid}/attachments/{log_id}").get_data() == _stored(app, log_id)


def test_a_file_is_found_only_under_its_own_feedback(app, client, api: Api) -> None:
    fid, image_id, _ = _with_files(app, client)
    (other,) = _submit(app)
    for path in (f"feedback/{other}/attachments/{image_id}", f"feedback/{fid}/attachments/999999",
                 f"feedback/999999/attachments/{image_id}"):
        assert_problem(api.get(path), 404)
        assert_problem(api.delete(path), 404)
    assert_problem(api.get(f"feedback/{fid}/attachments/0"), 404)
    assert len(api.get(f"feedback/{fid}").get_json()["attachments"]) == 2  # nothing deleted


def test_scopes_guard_the_files(app, client, api: Api, make_token) -> None:
    fid, image_id, _ = _with_files(app, client)
    path = f"feedback/{fid}/attachments/{image_id}"
    reader, other = Api(client, make_token("feedback:read")), Api(client, make_token("testers:read"))
    assert_problem(other.get(path), 403)
    assert_problem(Api(client, None).get(path), 401)
    assert_problem(reader.delete(path), 403)
    assert_problem(other.delete(path), 403)
    assert api.get(path).status_code == 200  # still there


def test_delete_is_audited_with_the_token_as_actor(app, client, make_token) -> None:
    from sqlalchemy import select

    from nous.audit.models import AuditEvent
    from nous.extensions import db

    fid, image_id, log_id = _with_files(app, client)
    writer = Api(client, make_token("feedback:write", "feedback:read", name="triage-bot"))
    resp = writer.delete(f"feedback/{fid}/attachments/{image_id}")
    assert resp.status_code == 204 and not resp.get_data()
    assert [a["id"] for a in writer.get(f"feedback/{fid}").get_json()["attachments"]] == [log_id]
    assert_problem(writer.get(f"feedback/{fid}/attachments/{image_id}"), 404)
    assert_problem(writer.delete(f"feedback/{fid}/attachments/{image_id}"), 404)
    with app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.attachment.delete"))
        assert event.actor == "token:triage-bot" and event.target == f"feedback:{fid}"


def test_an_image_whose_reading_failed_is_read_again(app, client, make_token) -> None:
    from sqlalchemy import select, update

    from nous.audit.models import AuditEvent
    from nous.extensions import db
    from nous.feedback.models import FeedbackAttachment

    fid, image_id, log_id = _with_files(app, client)
    writer = Api(client, make_token("feedback:write", "feedback:read", name="ocr-bot"))
    path = f"feedback/{fid}/attachments/{image_id}/read-again"
    with app.app_context():
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == image_id)
                           .values(text_status="failed"))
        db.session.commit()
    reader = Api(client, make_token("feedback:read"))
    assert_problem(reader.post(path), 403)
    resp = writer.post(path)
    assert resp.status_code == 202 and resp.get_json()["id"] == image_id
    assert resp.get_json()["text_status"] == "pending"
    assert_problem(writer.post(path), 409, "text_status")  # being read now
    assert_problem(writer.post(f"feedback/{fid}/attachments/{log_id}/read-again"), 409)  # a log is not read
    assert_problem(writer.post(f"feedback/999999/attachments/{image_id}/read-again"), 404)
    with app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.attachment.read_again"))
        assert event.actor == "token:ocr-bot" and event.before["text_status"] == "failed"
