"""Files sent with feedback: what is accepted and how it is stored (re-encoded), what is refused (whole
submission, nothing left behind), reading them back in chunks, deleting them, and the retention sweep."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zlib
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import delete, func, select, update

from nous import events
from nous.audit import service as audit
from nous.audit.models import AuditEvent
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback, FeedbackAttachment
from nous.testers import service as testers
from tests.feedback.helpers import GOOD, set_setting
from tests.feedback.helpers import count as _count

API = "/api/feedback"


# --- files made in the test ---------------------------------------------------------------------

def png(size: tuple[int, int] = (64, 48), colour: tuple[int, ...] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF holds a GPS position (and a camera make) next to the pixels."""
    image = Image.new("RGB", (80, 60), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_bomb(side: int = 30_000) -> bytes:
    """A valid PNG header and compressed data of a side×side 1-bit image: a few kB that would decode to
    hundreds of megapixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    idat = zlib.compress(row * 2000, 9)  # the start of the rows is enough to be a believable file
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def multipart(files: list[tuple[bytes, str]], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {k: str(v) for k, v in {**GOOD, **fields}.items()}
    body["attachments"] = [(io.BytesIO(data), name) for data, name in files]
    return {"data": body, "content_type": "multipart/form-data"}


def stored(app) -> list[tuple[FeedbackAttachment, bytes]]:
    with app.app_context():
        found = list(db.session.scalars(select(FeedbackAttachment).order_by(FeedbackAttachment.id)))
        out = [(a, bytes(feedback.attachments.data_of(a.id) or b"")) for a in found]
        db.session.expunge_all()
        return out


@pytest.fixture(autouse=True)
def _limits(app, unlimited) -> None:
    """Uploads out of the byte rate limit's way (a test of it sets its own)."""
    set_setting(app, "feedback.upload_rate_limit", "1000000000/hour")


# --- accepted, and stored re-encoded ------------------------------------------------------------

def test_multipart_and_json_both_store_their_files(app, client) -> None:
    first = client.post(API, **multipart([(png(), "shot.png"), (b"2026-12-06 ERROR boom\n", "app.log")]))
    assert first.status_code == 201, first.get_json()
    second = client.post(API, json={**GOOD, "attachments": [{"filename": "b.png", "data": data_url(png((30, 20)))}]})
    assert second.status_code == 201, second.get_json()
    files = stored(app)
    assert [(a.feedback_id, a.filename, a.kind, a.content_type) for a, _ in files] == [
        (first.get_json()["id"], "shot.png", "image", "image/png"),
        (first.get_json()["id"], "app.txt", "text", "text/plain; charset=utf-8"),
        (second.get_json()["id"], "b.png", "image", "image/png")]
    shot, log, small = files
    assert (shot[0].width, shot[0].height, small[0].width, small[0].height) == (64, 48, 30, 20)
    assert shot[0].sha256 == hashlib.sha256(shot[1]).hexdigest() and shot[0].size == len(shot[1])
    assert log[1] == b"2026-12-06 ERROR boom\n" and log[0].text_status == "done" and "ERROR boom" in log[0].text
    with app.app_context():
        thumb = feedback.attachments.thumbnail_bytes(shot[0].id)
    assert Image.open(io.BytesIO(thumb)).format == "JPEG"  # an opaque picture's


def test_a_jpeg_is_stored_without_its_exif_and_gps(app, client) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test file does carry GPS
    resp = client.post(API, **multipart([(original, "holiday.jpg")]))
    assert resp.status_code == 201, resp.get_json()
    [(row, data)] = stored(app)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and row.content_type == "image/jpeg"
    assert not image.getexif() and b"SpyCam" not in data and b"Exif" not in data
    assert image.size == (80, 60)


def test_a_png_with_html_appended_is_stored_re_encoded_without_it(app, client) -> None:
    hostile = png() + b"<html><script>alert(document.cookie)</script></html>"
    resp = client.post(API, **multipart([(hostile, "shot.png")]))
    assert resp.status_code == 201
    [(_row, data)] = stored(app)
    assert b"<script" not in data and data.endswith(b"IEND\xaeB`\x82")
    assert Image.open(io.BytesIO(data)).getpixel((5, 5)) == (200, 30, 30)


def test_a_gif_keeps_its_first_frame_as_png(app, client) -> None:
    frames = [Image.new("P", (20, 20), i) for i in (1, 2)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    resp = client.post(API, **multipart([(out.getvalue(), "anim.gif")]))
    assert resp.status_code == 201
    [(row, data)] = stored(app)
    assert (row.filename, row.content_type, Image.open(io.BytesIO(data)).format) == ("anim.png", "image/png", "PNG")


def test_file_names_are_sanitised(app, client) -> None:
    resp = client.post(API, **multipart([(png(), "../../etc/pass wd\x00<b>.exe")]))
    assert resp.status_code == 201
    [(row, _)] = stored(app)
    assert row.filename == "pass wd_b.png"


# --- refused, whole, with the reason ------------------------------------------------------------

REFUSED = [
    ("bomb.png", png_bomb(), "pixels"),
    ("page.png", b"<!doctype html><html><body><script>alert(1)</script></body></html>", "named .png"),
    ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "named .png"),
    ("notes.txt", b"<svg onload=alert(1)>", "markup"),
    ("broken.png", png()[:40], "not a valid PNG"),
    ("data.bin", bytes(range(256)) * 4, "not an accepted type"),
    ("empty.png", b"", "empty"),
]


@pytest.mark.parametrize(("name", "content", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_files_refuse_the_whole_submission(app, client, name: str, content: bytes, reason: str) -> None:
    resp = client.post(API, **multipart([(png(), "fine.png"), (content, name)]))
    assert resp.status_code == 400
    errors = resp.get_json()["errors"]
    assert list(errors) == ["attachments[1]"] and errors["attachments[1]"].startswith(f"{name}: ")
    assert reason in errors["attachments[1]"]
    assert _count(app) == 0 and _count(app, FeedbackAttachment) == 0


def test_too_many_too_large_and_too_much_are_refused_with_the_limit(app, client) -> None:
    set_setting(app, "feedback.attachments_max", 2)
    resp = client.post(API, **multipart([(png(), f"{i}.png") for i in range(3)]))
    assert resp.status_code == 400 and "at most 2 files" in resp.get_json()["errors"]["attachments"]
    set_setting(app, "feedback.attachment_max_bytes", 10_000)
    big = png((400, 400), (1, 2, 3))[:1] + b"x" * 20_000
    resp = client.post(API, json={**GOOD, "attachments": [{"filename": "big.png", "data": data_url(big)}]})
    assert resp.status_code == 400 and "larger than 10 kB" in resp.get_json()["errors"]["attachments[0]"]
    set_setting(app, "feedback.attachments_max_total_bytes", 10_000)
    noisy = Image.effect_noise((60, 60), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    resp = client.post(API, **multipart([(out.getvalue(), "a.png"), (out.getvalue(), "b.png")]))
    assert resp.status_code == 400 and "per feedback" in resp.get_json()["errors"]["attachments"]
    assert _count(app) == 0 and _count(app, FeedbackAttachment) == 0


@pytest.mark.parametrize(("allowed", "said"), [(1, "at most 1 file per feedback (got 2)"),
                                               (0, "files are not accepted with feedback (got 2)")])
def test_too_many_files_is_said_in_words(app, client, allowed: int, said: str) -> None:
    set_setting(app, "feedback.attachments_max", allowed)
    resp = client.post(API, **multipart([(png(), "a.png"), (png(), "b.png")]))
    assert resp.status_code == 400 and resp.get_json()["errors"]["attachments"] == said
    resp = client.post(API, json={**GOOD, "attachments": [{"data": data_url(png())}] * 2})
    assert resp.status_code == 400 and resp.get_json()["errors"]["attachments"] == said
    assert _count(app) == 0


@pytest.mark.parametrize(("attachments", "message"), [
    ("shot.png", "must be a list"),
    ([{"filename": "a.png", "data": "iVBORw0KGgo="}], "data: URL"),
    ([{"filename": "a.png", "data": "data:image/png;base64,@@@"}], "not valid base64"),
    ([{"filename": 7, "data": "data:image/png;base64,AAAA"}], "filename must be text"),
    (["data:image/png;base64,AAAA"], "must be an object"),
])
def test_json_attachments_that_are_not_files_are_400(app, client, attachments: Any, message: str) -> None:
    resp = client.post(API, json={**GOOD, "attachments": attachments})
    assert resp.status_code == 400
    assert any(message in m for m in resp.get_json()["errors"].values())
    assert _count(app) == 0


def test_a_bad_field_and_a_bad_file_are_both_named(app, client) -> None:
    resp = client.post(API, **multipart([(b"<html>", "x.png")], rating="9"))
    assert resp.status_code == 400 and set(resp.get_json()["errors"]) == {"rating", "attachments[0]"}


def _raw_multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> bytes:
    """A multipart body of (Content-Disposition and other header lines, content) parts, fields of GOOD first."""
    fields = [(f'Content-Disposition: form-data; name="{k}"', str(v).encode()) for k, v in GOOD.items()]
    out = b"".join(f"--{boundary}\r\n{head}\r\n\r\n".encode() + body + b"\r\n" for head, body in fields + parts)
    return out + f"--{boundary}--\r\n".encode()


def test_an_html_forms_file_input_left_empty_attaches_nothing(app, client) -> None:
    """A browser sends a part with an empty name and no bytes for a file input nobody used (and `attachments=`
    in a form without files): the feedback is stored, with no file."""
    empty = ('Content-Disposition: form-data; name="attachments"; filename=""\r\n'
             "Content-Type: application/octet-stream", b"")
    resp = client.post(API, data=_raw_multipart([empty]), content_type="multipart/form-data; boundary=b0undary")
    assert resp.status_code == 201, resp.get_json()
    assert client.post(API, data={**GOOD, "attachments": ""}).status_code == 201
    assert _count(app) == 2 and _count(app, FeedbackAttachment) == 0


def test_a_file_sent_as_a_text_field_is_refused_not_dropped(app, client) -> None:
    """A part named `attachments` without a filename is a value, not a file: refused, naming the field."""
    text_part = ('Content-Disposition: form-data; name="attachments"', png())
    file_part = ('Content-Disposition: form-data; name="attachments"; filename="a.png"', png())
    for parts, key in (([text_part], "attachments[0]"), ([text_part, file_part], "attachments[1]")):
        resp = client.post(API, data=_raw_multipart(parts), content_type="multipart/form-data; boundary=b0undary")
        assert resp.status_code == 400 and list(resp.get_json()["errors"]) == [key]
        assert "file part" in resp.get_json()["errors"][key]
    assert client.post(API, data={**GOOD, "attachments": "shot.png"}).status_code == 400
    assert _count(app) == 0 and _count(app, FeedbackAttachment) == 0


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=b0undary"])
def test_a_multipart_body_that_cannot_be_read_says_so(app, client, content_type: str) -> None:
    """No boundary, or a body cut short: the parser reads nothing; the answer names the body, not the fields."""
    body = _raw_multipart([('Content-Disposition: form-data; name="attachments"; filename="a.png"', png())])
    resp = client.post(API, data=body[:-40], content_type=content_type)
    assert resp.status_code == 400 and list(resp.get_json()["errors"]) == ["body"]
    assert "multipart" in resp.get_json()["errors"]["body"]
    assert _count(app) == 0


def test_a_form_past_the_parsers_limits_is_told_which(app, client) -> None:
    """The form parser's own 413 names no limit; the answer does, and nothing is stored."""
    many = [(f'Content-Disposition: form-data; name="x{i}"', b"1") for i in range(1001)]
    resp = client.post(API, data=_raw_multipart(many), content_type="multipart/form-data; boundary=b0undary")
    assert resp.status_code == 413 and "more than 1000 parts" in resp.get_json()["message"]
    resp = client.post(API, data={**GOOD, "message": "x" * 70_000})
    assert resp.status_code == 413 and "larger than 65536 bytes" in resp.get_json()["message"]
    set_setting(app, "feedback.attachments_max_total_bytes", 50_000)
    big = _raw_multipart([('Content-Disposition: form-data; name="attachments"; filename="a.png"', b"x" * 200_000)])
    resp = client.post(API, data=big, content_type="multipart/form-data; boundary=b0undary")
    assert resp.status_code == 413 and "bytes (the fields, and the files" in resp.get_json()["message"]
    assert _count(app) == 0


def test_fields_larger_than_64_kib_are_still_413_in_json(app, client) -> None:
    resp = client.post(API, json={**GOOD, "app_version": "x" * 70_000,
                                  "attachments": [{"filename": "a.png", "data": data_url(png())}]})
    assert resp.status_code == 413 and _count(app) == 0


def test_the_upload_rate_limit_counts_bytes(app, client) -> None:
    set_setting(app, "feedback.upload_rate_limit", "60000/hour")
    noisy = Image.effect_noise((120, 120), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert 30_000 < len(out.getvalue()) < 55_000
    assert client.post(API, **multipart([(out.getvalue(), "a.png")])).status_code == 201
    second = client.post(API, **multipart([(out.getvalue(), "b.png")]))
    assert second.status_code == 429 and int(second.headers["Retry-After"]) > 60
    assert client.post(API, json=GOOD).status_code == 429  # the address has used its bytes for the hour
    assert _count(app, FeedbackAttachment) == 1 and _count(app) == 1


def test_a_resend_of_a_stored_submission_does_not_count_its_bytes_again(app, client) -> None:
    """A widget resends a screenshot when the answer is lost; the resends are answered from the stored
    submission and stored nothing, so they do not use up the address's bytes (they still count as requests)."""
    set_setting(app, "feedback.upload_rate_limit", "100000/hour")
    noisy = Image.effect_noise((120, 120), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert 30_000 < len(out.getvalue()) < 48_000
    headers = {"Idempotency-Key": "k-resent-screenshot"}
    first = client.post(API, headers=headers, **multipart([(out.getvalue(), "a.png")]))
    assert first.status_code == 201
    for _ in range(3):
        again = client.post(API, headers=headers, **multipart([(out.getvalue(), "a.png")]))
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json["id"] == first.json["id"]
    other = client.post(API, **multipart([(out.getvalue(), "b.png")]))  # 2 × 40 kB of the 100 kB
    assert other.status_code == 201, other.json
    assert client.post(API, **multipart([(out.getvalue(), "c.png")])).status_code == 429  # and now it is used up


# --- reading back, deleting, retention ----------------------------------------------------------

def _submit_with(ctx_app, files: list[tuple[bytes, str]], **fields: Any) -> int:
    uploads = [feedback.attachments.Upload(filename=name, data=data) for data, name in files]
    return feedback.submit({**GOOD, **fields}, uploads=uploads).id


def test_chunks_reassemble_the_stored_bytes(ctx) -> None:
    noisy = Image.effect_noise((300, 300), 120).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    fid = _submit_with(ctx, [(out.getvalue(), "noise.png")])
    [row] = feedback.attachments.for_feedback(fid)
    whole = feedback.attachments.data_of(row.id)
    pieces = list(feedback.attachments.chunks(row.id, size=4096))
    assert len(whole) > 3 * 4096 and all(len(p) == 4096 for p in pieces[:-1])
    assert b"".join(pieces) == whole and hashlib.sha256(whole).hexdigest() == row.sha256
    assert list(feedback.attachments.chunks(row.id + 1000)) == []


def test_lists_read_no_blob(ctx) -> None:
    fid = _submit_with(ctx, [(png(), "a.png"), (b"log line\n", "b.log")])
    other = _submit_with(ctx, [])
    shown = feedback.attachments.thumbnails_for([fid, other])
    assert shown[other] == [] and [(t["filename"], t["kind"], t["width"]) for t in shown[fid]] == [
        ("a.png", "image", 64), ("b.txt", "text", None)]
    db.session.expunge_all()
    rows = feedback.attachments.for_feedback(fid)
    assert all("data" not in r.__dict__ and "thumbnail" not in r.__dict__ for r in rows)
    got = feedback.attachments.get(rows[0].id)
    assert got is not None and "data" not in got.__dict__ and feedback.attachments.get(2**63) is None


def test_delete_is_audited_and_returns_what_was_deleted(ctx) -> None:
    fid = _submit_with(ctx, [(png(), "a.png")])
    [row] = feedback.attachments.for_feedback(fid)
    heard: list[dict] = []
    with events.feedback_updated.connected_to(lambda _s, event: heard.append(event)):
        gone = feedback.attachments.delete(row.id, "admin@nous.test", "10.0.0.1")
    assert gone is not None and gone.filename == "a.png"
    assert [(e["id"], e["action"], e["version"]) for e in heard] == [(fid, "updated", None)]  # open pages refresh
    assert feedback.attachments.for_feedback(fid) == [] and feedback.attachments.delete(row.id, "a", "") is None
    [entry] = audit.query(action="feedback.attachment.delete")
    assert (entry.actor, entry.target, entry.before["filename"], entry.ip) == (
        "admin@nous.test", f"feedback:{fid}", "a.png", "10.0.0.1")


def test_deleting_the_feedback_or_the_tester_deletes_their_files(ctx) -> None:
    kept = _submit_with(ctx, [(png(), "kept.png")])
    by_tester = _submit_with(ctx, [(png(), "mine.png")], email="ada@example.com")
    doomed = _submit_with(ctx, [(png(), "doomed.png")])
    tester_id = db.session.get(Feedback, by_tester).tester_id  # a new address: a tester made for it
    assert tester_id is not None
    db.session.execute(delete(Feedback).where(Feedback.id == doomed))
    db.session.commit()
    testers.remove(tester_id, actor="admin@nous.test")
    names = list(db.session.scalars(select(FeedbackAttachment.filename)))
    assert names == ["kept.png"] and db.session.get(Feedback, by_tester) is not None
    assert kept


def test_removing_a_tester_audits_each_of_their_files_and_tells_the_open_pages(ctx) -> None:
    """The files go with the tester (their feedback stays): each deletion is in the audit log like one by
    hand, on its feedback, and pages showing those feedback refresh."""
    first = _submit_with(ctx, [(png(), "one.png"), (b"a log line", "app.log")], email="ada@example.com")
    second = _submit_with(ctx, [(png(), "two.png")], email="ada@example.com")
    other = _submit_with(ctx, [(png(), "other.png")], email="bob@example.com")
    tester_id = db.session.get(Feedback, first).tester_id
    heard: list[dict] = []
    with events.feedback_updated.connected_to(lambda _s, event: heard.append(event)):
        testers.remove(tester_id, actor="admin@nous.test", ip="10.0.0.2")
    entries = audit.query(action="feedback.attachment.delete")
    assert sorted((e.target, e.before["filename"], e.before["why"], e.actor, e.ip) for e in entries) == sorted([
        (f"feedback:{first}", "one.png", "its tester was removed", "admin@nous.test", "10.0.0.2"),
        (f"feedback:{first}", "app.txt", "its tester was removed", "admin@nous.test", "10.0.0.2"),
        (f"feedback:{second}", "two.png", "its tester was removed", "admin@nous.test", "10.0.0.2")])
    assert sorted((e["id"], e["action"]) for e in heard) == [(first, "updated"), (second, "updated")]
    assert [r.filename for r in feedback.attachments.for_feedback(other)] == ["other.png"]
    assert feedback.attachments.for_feedback(first) == [] and db.session.get(Feedback, first) is not None
    assert len(audit.query(action="testers.remove")) == 1


def test_the_retention_sweep_deletes_old_files_only(ctx, app) -> None:
    from nous.feedback import tasks

    old = _submit_with(ctx, [(png(), "old.png")])
    new = _submit_with(ctx, [(png(), "new.png")])
    set_setting(app, "feedback.attachment_retention_days", 30)
    db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.feedback_id == old)
                       .values(created_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    result = tasks.attachments_sweep()
    assert result["deleted"] == 1 and result["days"] == 30
    assert [a.filename for a in feedback.attachments.for_feedback(new)] == ["new.png"]
    assert feedback.attachments.for_feedback(old) == [] and db.session.get(Feedback, old) is not None
    assert db.session.scalar(select(func.count()).select_from(FeedbackAttachment)) == 1
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.attachment.delete"))
    assert event.actor == "system" and event.target == f"feedback:{old}"
    assert event.before["filename"] == "old.png" and "retention of 30 days" in event.before["why"]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1"])
def test_a_png_is_re_encoded_without_losing_a_pixel(ctx, mode: str) -> None:
    """Rows are compressed PNG_BAND at a time: 141 rows are two whole bands and part of a third."""
    assert feedback.attachments.PNG_BAND * 2 < 141 < feedback.attachments.PNG_BAND * 3
    original = Image.effect_noise((97, 141), 90).convert(mode)
    out = io.BytesIO()
    original.save(out, "PNG")
    fid = _submit_with(ctx, [(out.getvalue(), "noise.png")])
    [row] = feedback.attachments.for_feedback(fid)
    again = Image.open(io.BytesIO(feedback.attachments.data_of(row.id)))
    assert again.format == "PNG" and again.size == (97, 141)
    assert again.convert("RGBA").tobytes() == original.convert("RGBA").tobytes()


@pytest.mark.parametrize(("size", "thumb_size"), [((1920, 1080), (320, 180)), ((1000, 1500), (213, 320)),
                                                  ((200, 100), (200, 100))])
def test_a_thumbnail_is_the_picture_scaled_to_fit(ctx, size, thumb_size) -> None:
    """A box reduction then a resample: the longest side is THUMBNAIL_SIDE, the proportions and the colours
    are kept (a red left half and a blue right half stay so)."""
    picture = Image.new("RGB", size, (220, 20, 20))
    picture.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    picture.save(out, "PNG")
    fid = _submit_with(ctx, [(out.getvalue(), "halves.png")])
    [row] = feedback.attachments.for_feedback(fid)
    thumb = Image.open(io.BytesIO(feedback.attachments.thumbnail_bytes(row.id)))
    assert thumb.format == "JPEG" and thumb.size == thumb_size
    left, right = thumb.convert("RGB").getpixel((2, 2)), thumb.convert("RGB").getpixel((thumb.width - 3, 2))
    assert left[0] > 180 > left[2] and right[2] > 180 > right[0], (left, right)


@pytest.mark.parametrize(("mode", "alpha", "written"), [("RGBA", 255, "JPEG"), ("RGBA", 0, "WEBP"),
                                                        ("LA", 255, "JPEG"), ("LA", 40, "WEBP")])
def test_a_thumbnail_keeps_transparency_as_webp_and_is_a_jpeg_otherwise(ctx, mode, alpha, written) -> None:
    """A browser's canvas gives RGBA pixels that are all opaque: a JPEG thumbnail. A picture with see-through
    parts keeps them, in a WebP: its clear corner stays clear and its opaque square stays as it was."""
    picture = Image.new(mode, (640, 480), (0, alpha) if mode == "LA" else (0, 0, 0, alpha))
    picture.paste((200, 255) if mode == "LA" else (30, 160, 60, 255), (160, 120, 480, 360))
    out = io.BytesIO()
    picture.save(out, "PNG")
    fid = _submit_with(ctx, [(out.getvalue(), "canvas.png")])
    [row] = feedback.attachments.for_feedback(fid)
    thumb = Image.open(io.BytesIO(feedback.attachments.thumbnail_bytes(row.id)))
    assert thumb.format == written and thumb.size == (320, 240)
    middle, corner = thumb.convert("RGBA").getpixel((160, 120)), thumb.convert("RGBA").getpixel((2, 2))
    assert middle[3] == 255 and (abs(middle[0] - 200) < 12 if mode == "LA" else middle[1] > 130 > middle[0])
    assert corner[3] == alpha if written == "WEBP" else corner[3] == 255


def test_the_app_lets_pillow_keep_freed_pixel_memory(monkeypatch) -> None:
    """Decoded screenshots reuse a few freed blocks instead of fresh pages; PILLOW_BLOCKS_MAX, Pillow's own
    setting, wins when an operator sets it."""
    before = Image.core.get_blocks_max()
    try:
        Image.core.set_blocks_max(0)
        monkeypatch.delenv("PILLOW_BLOCKS_MAX", raising=False)
        feedback.attachments.keep_image_memory()
        assert Image.core.get_blocks_max() == feedback.attachments.IMAGE_BLOCKS_KEPT
        Image.core.set_blocks_max(0)
        monkeypatch.setenv("PILLOW_BLOCKS_MAX", "0")
        feedback.attachments.keep_image_memory()
        assert Image.core.get_blocks_max() == 0
    finally:
        Image.core.set_blocks_max(before)


def test_create_app_keeps_pixel_memory(app) -> None:
    assert Image.core.get_blocks_max() >= feedback.attachments.IMAGE_BLOCKS_KEPT


def test_a_screenshot_of_megabytes_is_accepted_in_both_forms(app, client) -> None:
    noisy = Image.frombytes("RGB", (800, 800), random.Random(7).randbytes(800 * 800 * 3))  # incompressible
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 1_500_000  # larger than a read chunk and than the app's 2 MiB body default in JSON
    assert client.post(API, **multipart([(out.getvalue(), "big.png")])).status_code == 201
    resp = client.post(API, json={**GOOD, "attachments": [{"filename": "big.png", "data": data_url(out.getvalue())}]})
    assert resp.status_code == 201
    assert [a.size > 1_500_000 for a, _ in stored(app)] == [True, True]


def test_a_files_bytes_are_never_turned_into_text_for_the_statement_log(app, client, monkeypatch) -> None:
    """The slow-query log shows the INSERT's file and thumbnail by their size, not as a string four times the
    file's size built with the GIL held (some 40 ms of CPU per 2 MB)."""
    import json

    from nous.dbmonitor import monitor

    image = Image.frombytes("RGB", (200, 200), random.Random(4).randbytes(200 * 200 * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    monkeypatch.setattr(monitor.STATS, "refresh_threshold", lambda: None)  # every statement is "slow" here
    monkeypatch.setattr(monitor.STATS, "due", lambda: False)  # and stays in this process to be read
    monkeypatch.setattr(monitor.STATS, "slow_ms", 0.0)
    monitor.STATS.reset()
    resp = client.post("/api/feedback", content_type="multipart/form-data", data={
        "rating": "2", "message": "the chart is blank", "category": "bug",
        "attachments": [(io.BytesIO(out.getvalue()), "noise.png")]})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    logged = [json.loads(entry) for entry in monitor.STATS._slow]
    monitor.STATS.reset()
    [insert] = [e for e in logged if "INSERT INTO feedback_attachments" in e["statement"]]
    params = insert["params"]
    shown = list(params.values()) if isinstance(params, dict) else list(params)
    sizes = [v for v in shown if isinstance(v, str) and v.startswith("<") and v.endswith(" bytes>")]
    assert len(sizes) == 2 and all(len(str(v)) < 100 for v in shown), shown  # file and thumbnail, by size
    with app.app_context():
        [stored] = feedback.attachments.for_feedback(resp.get_json()["id"])
        data = feedback.attachments.data_of(stored.id)
    assert f"<{len(data):,} bytes>" in sizes and Image.open(io.BytesIO(data)).tobytes() == image.tobytes()


# --- found by trying the API as a client would, and as an attacker ------------------------------

def test_a_chunked_body_is_refused_as_its_bytes_cannot_be_counted_first(app, client) -> None:
    """The byte rate limit counts a submission's Content-Length before reading it; a chunked body has none,
    so it went uncounted (any number of large uploads): 411, and nothing is stored."""
    fields = multipart([(png(), "a.png")])
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=API, method="POST", data=fields["data"],
                             content_type=fields["content_type"]).get_environ()
    body, content_type = environ["wsgi.input"].read(), environ["CONTENT_TYPE"]
    resp = client.post(API, input_stream=io.BytesIO(body), headers={"Content-Type": content_type,
                                                                     "Transfer-Encoding": "chunked"})
    assert resp.status_code == 411 and "Content-Length" in resp.json["message"]
    assert stored(app) == []
    assert client.post(API, data=body, content_type=content_type).status_code == 201  # the same, with its length


def test_a_file_under_another_field_name_is_refused_not_dropped(app, client) -> None:
    for name in ("attachments[]", "screenshot"):
        resp = client.post(API, data={**{k: str(v) for k, v in GOOD.items()}, name: (io.BytesIO(png()), "a.png")},
                           content_type="multipart/form-data")
        assert resp.status_code == 400 and resp.json["errors"] == {name: "files are sent in the field attachments"}
    assert stored(app) == [] and _count(app) == 0


def test_a_text_file_of_a_byte_order_mark_alone_is_empty(app, client) -> None:
    resp = client.post(API, **multipart([(b"\xef\xbb\xbf", "log.txt")]))
    assert resp.status_code == 400 and resp.json["errors"] == {"attachments[0]": "log.txt: the file is empty"}


def test_the_same_file_sent_again_under_another_name_is_another_submission(app, client) -> None:
    headers = {"Idempotency-Key": "k-renamed-file"}
    first = client.post(API, headers=headers, **multipart([(png(), "before.png")]))
    again = client.post(API, headers=headers, **multipart([(png(), "after.png")]))
    assert first.status_code == 201 and again.status_code == 422  # a key reused with another submission
    assert [a.filename for a, _ in stored(app)] == ["before.png"]


def test_the_images_of_one_submission_have_a_pixel_budget(app, client) -> None:
    """Each image may be as large as MAX_PIXELS; together they may come to SUBMISSION_PIXELS — read from the
    headers, before anything is decoded (five large images made a request hold gigabytes)."""
    big = png((4000, 4500))  # 18 million pixels each, as solid colour a small file
    resp = client.post(API, **multipart([(big, f"big{i}.png") for i in range(5)]))
    assert resp.status_code == 400 and "90 million pixels; at most 80 million" in resp.json["errors"]["attachments"]
    assert stored(app) == [] and _count(app) == 0


def test_decoding_waits_for_its_share_of_the_process_pixels() -> None:
    """Images decoded at once in one process hold at most PROCESS_PIXELS: one that does not fit waits until
    another is done."""
    import threading
    import time

    from nous.feedback.service.attachments import _PixelBudget

    budget = _PixelBudget(100)
    order: list[str] = []
    done = threading.Event()

    def second() -> None:
        with budget.share(50):
            order.append("second in")
            done.wait(5)

    with budget.share(70):
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.2)
        assert order == [] and budget.free == 30  # 50 do not fit beside 70
        order.append("first out")
    time.sleep(0.2)
    assert order == ["first out", "second in"] and budget.free == 50
    done.set()
    waiting.join(5)
    assert budget.free == 100
    with budget.share(10**9):  # larger than the whole budget: it waits for all of it, not for ever
        assert budget.free == 0


@pytest.mark.parametrize(("level", "stored_as"), [(30000, 117), (65535, 255), (0x1000, 16), (0, 0)])
def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_cut_off(ctx, level: int, stored_as: int) -> None:
    """Pillow opens 16-bit grey as I;16: converted straight to RGB, every level above 255 came out white."""
    picture = Image.new("I;16", (40, 30))
    picture.putdata([level] * 1200)
    out = io.BytesIO()
    picture.save(out, "PNG")
    fid = _submit_with(ctx, [(out.getvalue(), "grey16.png")])
    [row] = feedback.attachments.for_feedback(fid)
    again = Image.open(io.BytesIO(feedback.attachments.data_of(row.id)))
    assert again.mode == "L" and set(again.getdata()) == {stored_as}
    thumb = Image.open(io.BytesIO(feedback.attachments.thumbnail_bytes(row.id))).convert("L")
    assert abs(thumb.getpixel((5, 5)) - stored_as) <= 2


def test_a_refusal_names_the_fault_not_pythons_objects(app, client) -> None:
    """A PNG whose header says 0×0 could not be identified: Pillow's message held `<_io.BytesIO object at
    0x…>`; a text chunk past Pillow's limit named PngImagePlugin.MAX_TEXT_CHUNK."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    zero = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", bytes(8) + bytes([8, 2, 0, 0, 0])) + chunk(b"IEND", b"")
    huge_text = png()[:33] + chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"x" * 20_000_000)) + png()[33:]
    for data, said in ((zero, "its data could not be read as an image"),
                       (huge_text, "a text chunk in it is too large")):
        resp = client.post(API, **multipart([(data, "odd.png")]))
        assert resp.status_code == 400
        message = resp.json["errors"]["attachments[0]"]
        assert message == f"odd.png: not a valid PNG image ({said})", message
    assert stored(app) == []


def test_json_attachments_may_wrap_their_base64_in_lines(app, client) -> None:
    """base64 as MIME tools write it (lines of 76 characters) is the same data."""
    picture = png((300, 200))
    wrapped = "data:image/png;base64," + base64.encodebytes(picture).decode()
    assert "\n" in wrapped
    resp = client.post(API, json={**GOOD, "attachments": [{"filename": "wrapped.png", "data": wrapped}]})
    assert resp.status_code == 201, resp.json
    [(_row, data)] = stored(app)
    assert Image.open(io.BytesIO(data)).size == (300, 200)


@pytest.mark.parametrize(("sent", "named"), [(".png", "attachment.png"), ("....png", "attachment.png"),
                                             (".PNG", "attachment.png"), (".bashrc.png", "bashrc.png")])
def test_a_name_that_is_an_extension_alone_is_stored_as_attachment(app, client, sent: str, named: str) -> None:
    assert client.post(API, **multipart([(png(), sent)])).status_code == 201
    [(row, _)] = stored(app)
    assert row.filename == named


def test_a_text_files_control_characters_are_stored_inert(app, client) -> None:
    """A log's terminal escapes (ESC, BEL, BS) are stored as U+FFFD, as the console shows them, so a
    downloaded file cannot drive the terminal it is read in; tabs and line ends stay."""
    resp = client.post(API, **multipart([(b"line\x1b[31mred\x07\x08\r\n\tnext", "app.log")]))
    assert resp.status_code == 201
    [(row, data)] = stored(app)
    assert data.decode() == "line\ufffd[31mred\ufffd\ufffd\r\n\tnext"
    assert row.text == data.decode()


def test_wrapped_base64_is_measured_without_its_line_breaks(app, client) -> None:
    """A file just under the limit, wrapped in lines with CRLF (2.6 % longer), is within the limit."""
    set_setting(app, "feedback.attachment_max_bytes", "20000")
    noisy = Image.effect_noise((92, 71), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert 19_500 < len(data) < 20_000
    wrapped = base64.encodebytes(data).decode().replace("\n", "\r\n")
    assert len(wrapped) > 20_000 * 4 // 3 + 8
    resp = client.post(API, json={**GOOD, "attachments": [{"filename": "n.png", "data": "data:image/png;base64,"
                                                           + wrapped}]})
    assert resp.status_code == 201, resp.json


def test_a_text_file_is_within_its_limit_as_stored(app, client) -> None:
    """Each control character is stored as U+FFFD, three bytes: a file of them may not grow past the limit."""
    set_setting(app, "feedback.text_attachment_max_bytes", "1000")
    resp = client.post(API, **multipart([(b"\x1b" * 900, "esc.log")]))
    assert resp.status_code == 400
    assert "comes to 3 kB with its control characters replaced" in resp.json["errors"]["attachments[0]"]
    assert stored(app) == []
