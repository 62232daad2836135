"""Attachments in the triage console: thumbnails in the list and the dashboard panel, the files on the detail
page with their text, and the admin-only routes that serve them so that an uploaded file never runs as a page
(its type decided by the server, nosniff, a sandbox, a safe name), download and delete (audited)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select, update

from nous.audit.models import AuditEvent
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import FeedbackAttachment
from nous.feedback.routes import content_disposition, served_name
from tests.feedback.helpers import make
from tests.support.sql import statements

BASE = "/admin/beta/feedback"
HX = {"HX-Request": "true"}
LOG = b"2026-12-06 10:00:01 ERROR sync failed: E1234\n2026-12-06 10:00:02 retrying\n"


def png(width: int = 640, height: int = 360, text: str = "") -> bytes:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, width - 10, height - 10), outline="navy", width=4)
    if text:
        draw.text((30, height // 2), text, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def submit_with(client: Any, files: list[tuple[str, bytes]], **fields: Any) -> int:
    """Feedback sent with files through the public API, as the widget sends it (multipart)."""
    data: dict[str, Any] = {"rating": "2", "message": "The export button crashes", "category": "bug", **fields}
    data["attachments"] = [(io.BytesIO(body), name) for name, body in files]
    resp = client.post("/api/feedback", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def attachment_ids(app: Any, feedback_id: int) -> list[int]:
    with app.app_context():
        return [a.id for a in feedback.attachments.for_feedback(feedback_id)]


def stored_bytes(app: Any, attachment_id: int) -> bytes:
    with app.app_context():
        return b"".join(feedback.attachments.chunks(attachment_id, 1024))


@pytest.fixture
def with_files(app: Any, client: Any) -> tuple[int, int, int]:
    """A feedback with an image and a log file: (feedback id, image id, log id)."""
    fid = submit_with(client, [("screen shot.png", png()), ("sync.log", LOG)])
    image_id, log_id = attachment_ids(app, fid)
    return fid, image_id, log_id


def file_urls(attachment_id: int) -> list[str]:
    a = f"{BASE}/attachments/{attachment_id}"
    return [a, f"{a}/download", f"{a}/thumbnail"]


def test_the_files_are_only_for_the_admin(app, client, with_files) -> None:
    _, image_id, _ = with_files
    for url in file_urls(image_id):
        resp = client.get(url)
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], url
        assert client.get(url, headers=HX).status_code == 401
    refused = client.post(f"{BASE}/attachments/{image_id}/delete", headers=HX)
    assert refused.status_code in (400, 401)
    assert attachment_ids(app, with_files[0]) == [image_id, with_files[2]]


def test_download_serves_the_stored_bytes_as_an_inert_file(app, admin_client, with_files) -> None:
    _, image_id, log_id = with_files
    with app.app_context():
        image = feedback.attachments.get(image_id)
        sha, size = image.sha256, image.size
    resp = admin_client.get(f"{BASE}/attachments/{image_id}/download")
    assert resp.status_code == 200 and resp.is_streamed
    body = resp.get_data()
    assert body == stored_bytes(app, image_id) and hashlib.sha256(body).hexdigest() == sha and len(body) == size
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"screen_shot.png\"; filename*=UTF-8''screen%20shot.png")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    assert resp.headers["Content-Length"] == str(size)
    assert resp.headers["ETag"] == f'"{sha}"'
    assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"

    log = admin_client.get(f"{BASE}/attachments/{log_id}/download")
    assert log.get_data() == LOG and log.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert log.headers["Content-Disposition"] == "attachment; filename=\"sync.txt\"; filename*=UTF-8''sync.txt"
    assert log.headers["Content-Security-Policy"] == "sandbox"


def test_view_and_thumbnail_are_inline_and_sandboxed(app, admin_client, with_files) -> None:
    _, image_id, log_id = with_files
    view = admin_client.get(f"{BASE}/attachments/{image_id}")
    assert view.status_code == 200 and view.get_data() == stored_bytes(app, image_id)
    assert view.headers["Content-Disposition"] == (
        "inline; filename=\"screen_shot.png\"; filename*=UTF-8''screen%20shot.png")
    assert (view.headers["Content-Type"], view.headers["Content-Security-Policy"],
            view.headers["X-Content-Type-Options"]) == ("image/png", "sandbox", "nosniff")

    thumb = admin_client.get(f"{BASE}/attachments/{image_id}/thumbnail")
    body = thumb.get_data()
    assert thumb.status_code == 200 and body[:3] == b"\xff\xd8\xff"  # an opaque picture's thumbnail: a JPEG
    with app.app_context():
        assert body == feedback.attachments.thumbnail_bytes(image_id)
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.headers["Content-Disposition"] == (
        "inline; filename=\"screen_shot-thumbnail.jpg\"; filename*=UTF-8''screen%20shot-thumbnail.jpg")
    assert (thumb.headers["Content-Security-Policy"], thumb.headers["X-Content-Type-Options"]) == ("sandbox", "nosniff")
    assert Image.open(io.BytesIO(body)).size[0] <= 320
    # a text file has no thumbnail: a 404, not an error
    assert admin_client.get(f"{BASE}/attachments/{log_id}/thumbnail").status_code == 404


def test_a_thumbnail_is_served_as_the_type_its_bytes_are(app, admin_client, client) -> None:
    """A picture with transparency has a WebP thumbnail (as every thumbnail stored before JPEG ones were):
    served as image/webp under a .webp name, however the file itself is named."""
    clear = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    clear.paste((200, 30, 30, 255), (100, 100, 300, 200))
    out = io.BytesIO()
    clear.save(out, "PNG")
    [image_id] = attachment_ids(app, submit_with(client, [("logo.png", out.getvalue())]))
    thumb = admin_client.get(f"{BASE}/attachments/{image_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.get_data()[8:12] == b"WEBP"
    assert thumb.headers["Content-Type"] == "image/webp"
    assert thumb.headers["Content-Disposition"] == (
        "inline; filename=\"logo-thumbnail.webp\"; filename*=UTF-8''logo-thumbnail.webp")


def test_a_browser_that_holds_the_file_gets_304_without_the_bytes(app, admin_client, with_files) -> None:
    _, image_id, _ = with_files
    for url in file_urls(image_id):
        first = admin_client.get(url)
        assert first.get_data()
        again = admin_client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b"", url
        assert again.headers["ETag"] == first.headers["ETag"]
        assert admin_client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("attachment_id", ["999999", str(2**63 - 1), str(2**63), str(2**64), "1" + "0" * 30, "-1",
                                           "abc", "²"])
def test_unknown_or_impossible_ids_are_404(app, admin_client, with_files, attachment_id: str) -> None:
    for url in file_urls(attachment_id):  # type: ignore[arg-type]
        assert admin_client.get(url).status_code == 404, url
    assert admin_client.post(f"{BASE}/attachments/{attachment_id}/delete").status_code == 404


def test_delete_is_audited_and_removes_the_file(app, admin_client, with_files) -> None:
    fid, image_id, log_id = with_files
    with app.app_context():
        sha = feedback.attachments.get(image_id).sha256
    resp = admin_client.post(f"{BASE}/attachments/{image_id}/delete")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{BASE}/{fid}#attachments")
    assert attachment_ids(app, fid) == [log_id]
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.attachment.delete"))
        assert (event.actor, event.target) == ("admin@nous.test", f"feedback:{fid}")
        assert event.before["sha256"] == sha and event.before["filename"] == "screen shot.png"
    for url in file_urls(image_id):
        assert admin_client.get(url).status_code == 404
    page = admin_client.get(f"{BASE}/{fid}")
    assert b"Deleted screen shot.png." in page.data and f"attachment-{image_id}".encode() not in page.data
    assert f"Deleted a file of feedback #{fid} (screen shot.png)" in page.get_data(as_text=True)  # its history
    assert admin_client.post(f"{BASE}/attachments/{image_id}/delete").status_code == 404


def test_a_file_deleted_meanwhile_is_said_on_its_feedbacks_page(app, admin_client, with_files) -> None:
    """Two tabs show the feedback; the file is deleted in one, then Delete is pressed in the other: the
    admin is back on the feedback, told the file was already gone, not on a bare 404 page."""
    fid, image_id, log_id = with_files
    page = admin_client.get(f"{BASE}/{fid}").get_data(as_text=True)
    assert f'name="feedback_id" value="{fid}"' in page  # the delete forms say where they were sent from
    assert admin_client.post(f"{BASE}/attachments/{image_id}/delete", data={"feedback_id": fid}).status_code == 303
    resp = admin_client.post(f"{BASE}/attachments/{image_id}/delete", data={"feedback_id": fid})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{BASE}/{fid}#attachments")
    assert "That file had already been deleted." in admin_client.get(f"{BASE}/{fid}").get_data(as_text=True)
    assert attachment_ids(app, fid) == [log_id]
    for hostile in ["", "x", "-1", "99999999999999999999999", "٣", str(fid + 999)]:
        resp = admin_client.post(f"{BASE}/attachments/{image_id}/delete", data={"feedback_id": hostile})
        assert resp.status_code == 404, hostile


def test_delete_needs_the_csrf_token(app, admin_client, with_files) -> None:
    fid, image_id, _ = with_files
    del admin_client.environ_base["HTTP_X_CSRF_TOKEN"]
    assert admin_client.post(f"{BASE}/attachments/{image_id}/delete").status_code == 400
    assert image_id in attachment_ids(app, fid)


def _thumb_ids(html: bytes) -> list[int]:
    return [int(x) for x in re.findall(rb'/attachments/(\d+)/thumbnail"', html)]


def test_list_and_panel_show_thumbnails_lazily(app, admin_client, with_files) -> None:
    fid, image_id, _ = with_files
    [plain] = make(app, 1, message="no files here")
    page = admin_client.get(BASE)
    row = re.search(rb'<tr id="feedback-%d".*?</tr>' % fid, page.data, re.S).group(0)
    assert _thumb_ids(row) == [image_id] and b'loading="lazy"' in row
    assert b'width="56" height="32"' in row  # 640 x 360 fitted into the box, so the row does not jump
    assert b"sync.log" in row or b"sync.txt" in row  # the log as a named chip
    other = re.search(rb'<tr id="feedback-%d".*?</tr>' % plain, page.data, re.S).group(0)
    assert b"thumb" not in other
    assert _thumb_ids(admin_client.get(BASE, headers=HX).data) == [image_id]
    panel = admin_client.get(f"{BASE}/panel/latest", headers=HX).data
    assert _thumb_ids(panel) == [image_id] and b"css/feedback-thumbs.css" in panel
    # a status change from the list redraws the row with its thumbnail
    redrawn = admin_client.post(f"{BASE}/{fid}/status", data={"status": "triaged", "view": "row"}, headers=HX)
    assert _thumb_ids(redrawn.data) == [image_id]


def test_a_wide_screenshot_s_thumbnail_in_the_list_is_not_a_sliver(app, admin_client, client) -> None:
    """A 900 × 200 picture fitted into the 56-pixel box was 56 × 12: it keeps half the box in height and
    takes up to one and a half boxes in width, cropped (object-fit); a tall one likewise."""
    wide = submit_with(client, [("wide.png", png(900, 200))], message="a wide one")
    tall = submit_with(client, [("tall.png", png(200, 1600))], message="a tall one")
    page = admin_client.get(BASE).data
    for fid, size in ((wide, b'width="84" height="28"'), (tall, b'width="28" height="84"')):
        row = re.search(rb'<tr id="feedback-%d".*?</tr>' % fid, page, re.S).group(0)
        assert size in row, row


def test_the_list_reads_thumbnails_in_one_query_without_blobs(app, admin_client, client) -> None:
    for i in range(3):
        submit_with(client, [(f"s{i}.png", png(200, 100))], message=f"with a file {i}")
    with statements(app) as sent:
        assert len(_thumb_ids(admin_client.get(BASE, headers=HX).data)) == 3
    on_files = [s for s in sent if "feedback_attachments" in s]
    assert len(on_files) == 1 and "thumbnail" not in on_files[0] and ".data" not in on_files[0]


@pytest.mark.parametrize(("status", "text", "shown"), [
    ("done", "Error E1234: sync failed", "Error E1234: sync failed"),
    ("done", "", "No text was found in this image."),
    ("pending", "", "Reading the text…"),
    ("unavailable", "", "Text recognition not available"),
    ("failed", "", "The text in this image could not be read."),
])
def test_detail_page_shows_the_text_or_why_there_is_none(app, admin_client, with_files, status, text, shown) -> None:
    fid, image_id, _ = with_files
    with app.app_context():
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == image_id)
                           .values(text_status=status, text=text))
        db.session.commit()
    page = admin_client.get(f"{BASE}/{fid}").get_data(as_text=True)
    card = re.search(rf'<li class="attachment attachment-image" id="attachment-{image_id}".*?</li>', page,
                     re.S).group(0)
    assert shown in card
    assert f"{BASE}/attachments/{image_id}/download" in card and f"{BASE}/attachments/{image_id}/delete" in card
    assert 'id="attachment-viewer"' in page and 'aria-labelledby="viewer-title"' in page
    assert "sync failed: E1234" in page  # the log's own text
    polls = re.search(r'<div id="feedback-attachments"[^>]*>', page, re.S).group(0)
    assert ("every 3s" in polls) == (status == "pending")


def test_a_text_unread_for_long_waits_for_a_worker_and_the_page_stops_asking(app, admin_client, with_files) -> None:
    fid, image_id, _ = with_files
    with app.app_context():
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == image_id)
                           .values(created_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    page = admin_client.get(f"{BASE}/{fid}").get_data(as_text=True)
    assert "its job waits for a worker" in page and "Reading the text…" not in page
    assert "every 3s" not in re.search(r'<div id="feedback-attachments"[^>]*>', page, re.S).group(0)


def test_detail_page_without_files(app, admin_client) -> None:
    [fid] = make(app, 1)
    page = admin_client.get(f"{BASE}/{fid}")
    assert b"No files with this feedback: none were sent, or they have been deleted since." in page.data
    assert b'id="attachment-viewer"' not in page.data
    panel = admin_client.get(f"{BASE}/panel/latest", headers=HX).data
    assert b"message 0" in panel and b"thumb" not in panel  # nor the thumbnails' stylesheet


@pytest.mark.parametrize(("stored", "content_type", "suffix", "served"), [
    ("screen shot.png", "image/png", "", "screen shot.png"),
    ("../../etc/passwd.png", "image/png", "", "passwd.png"),
    ('a"b\r\nc;.png', "image/png", "", "a_b_c.png"),
    ("page.html", "text/plain; charset=utf-8", "", "page.html.txt"),
    ("frame.gif", "image/png", "", "frame.png"),
    ("shot.png", "image/webp", "-thumbnail", "shot-thumbnail.webp"),
    ("", "image/jpeg", "", "attachment.jpg"),
])
def test_served_names_end_in_the_type_served(ctx, stored, content_type, suffix, served) -> None:
    assert served_name(stored, content_type, suffix) == served


@pytest.mark.parametrize(("name", "header"), [
    ("shot.png", "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png"),
    ("скриншот.png", "inline; filename=\"attachment.png\"; filename*=UTF-8''"
                     "%D1%81%D0%BA%D1%80%D0%B8%D0%BD%D1%88%D0%BE%D1%82.png"),
    ("café (1).png", "inline; filename=\"cafe_1.png\"; filename*=UTF-8''caf%C3%A9%20%281%29.png"),
])
def test_content_disposition_has_an_ascii_name_and_the_utf8_one(name, header) -> None:
    assert content_disposition("inline", name) == header
