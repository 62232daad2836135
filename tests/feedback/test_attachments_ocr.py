"""Reading the text in attached images with the real Tesseract: the background job, the search, the
workflows' view of the feedback, the `ocr.image` step, and what happens on a machine without Tesseract."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import update

from nous import events, ocr
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback import tasks
from nous.feedback.models import FeedbackAttachment
from nous.workflows.handlers import StepContext
from nous.workflows.handlers import ocr as ocr_step
from tests.feedback.helpers import GOOD, set_setting
from tests.jobs.helpers import run_jobs_here

API = "/api/feedback"
SENTENCE = "Payment failed with code QUIXOTIC"

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")


def screenshot(text: str = SENTENCE) -> bytes:
    """A PNG with one line of large black text on white, as a screenshot of an error would have."""
    image = Image.new("RGB", (1400, 160), "white")
    ImageDraw.Draw(image).text((30, 40), text, fill="black", font=ImageFont.load_default(size=48))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def post_with_screenshot(client) -> int:
    body = {**{k: str(v) for k, v in GOOD.items()}, "attachments": [(io.BytesIO(screenshot()), "error.png")]}
    resp = client.post(API, data=body, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


@pytest.fixture
def heard():
    """What `feedback.created` listeners are told (a real receiver on the real signal)."""
    told: list[dict] = []

    def receiver(sender, feedback=None, **_):
        told.append(feedback)

    events.feedback_created.connect(receiver)
    yield told
    events.feedback_created.disconnect(receiver)


@needs_tesseract
def test_the_text_of_an_image_is_read_and_found_by_the_search(app, client, ctx, unlimited, heard) -> None:
    fid = post_with_screenshot(client)
    [row] = feedback.attachments.for_feedback(fid)
    assert row.text_status == "pending" and heard == []  # the workflows wait for the text
    run_jobs_here()
    db.session.expire_all()
    [row] = feedback.attachments.for_feedback(fid)
    assert row.text_status == "done" and "QUIXOTIC" in row.text and "Payment" in row.text
    assert "quixotic" not in GOOD["message"].lower()
    found = feedback.list_page(feedback.parse_filter({"q": "quixotic"})).items
    assert [f.id for f in found] == [fid]
    assert feedback.list_page(feedback.parse_filter({"q": "zebra"})).items == []
    [event] = heard
    assert event["id"] == fid and "QUIXOTIC" in event["attachments"][0]["text"]
    assert event["attachments"][0]["filename"] == "error.png"


@needs_tesseract
def test_the_ocr_step_reads_an_attachment_by_id(ctx, tmp_path: Path) -> None:
    fid = feedback.submit(GOOD, uploads=[feedback.attachments.Upload("a.png", screenshot()),
                                         feedback.attachments.Upload("b.log", b"E1234 at boot\n")]).id
    image, log = feedback.attachments.for_feedback(fid)
    step = StepContext(run_id=1, step_id="read", position=0, attempt=1, max_attempts=1, timeout=60, workflow="ocr",
                       data={}, instance_path=tmp_path)
    out = ocr_step.ocr({"images": [image.id, log.as_dict()]}, step)
    assert out["images"] == 2 and "QUIXOTIC" in out["texts"][0] and out["texts"][1] == "E1234 at boot"


def test_without_tesseract_the_file_says_so_and_nothing_fails(app, client, ctx, unlimited, heard,
                                                              monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine where no `tesseract` command is found
    found = ocr.available()
    assert not found.available and "tesseract-ocr" in found.detail
    fid = post_with_screenshot(client)
    run_jobs_here()
    db.session.expire_all()
    [row] = feedback.attachments.for_feedback(fid)
    assert (row.text_status, row.text, row.text_note) == ("unavailable", "", "text recognition not available")
    assert len(heard) == 1 and heard[0]["attachments"][0]["text_status"] == "unavailable"


def test_the_system_page_says_whether_text_can_be_read(admin_client, monkeypatch, tmp_path: Path) -> None:
    page = admin_client.get("/admin/system").get_data(as_text=True)
    assert "Text recognition (Tesseract)" in page
    monkeypatch.setenv("PATH", str(tmp_path))
    page = admin_client.get("/admin/system").get_data(as_text=True)
    assert "text recognition not available" in page and "tesseract-ocr" in page


def test_submissions_while_the_text_cannot_be_queued_are_picked_up_by_the_sweep(app, ctx) -> None:
    set_setting(app, "feedback.attachment_retention_days", 3650)
    fid = feedback.submit(GOOD, uploads=[feedback.attachments.Upload("a.png", screenshot())]).id
    run_jobs_here()  # the job of the submission
    db.session.execute(update(FeedbackAttachment).values(text_status="pending",
                                                         created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()  # as if its job had been lost
    assert tasks.attachments_sweep()["queued"] == 1
    run_jobs_here()
    db.session.expire_all()
    assert feedback.attachments.for_feedback(fid)[0].text_status != "pending"


def _set_status(fid: int, status: str) -> None:
    db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.feedback_id == fid)
                       .values(text_status=status, text=""))
    db.session.commit()


@needs_tesseract
@pytest.mark.parametrize("ended", ["failed", "unavailable"])
def test_the_admin_can_have_the_text_read_again(app, admin_client, client, ctx, unlimited, heard, ended) -> None:
    """A reading that ended without the text (Tesseract timed out, or was installed since) is read again from
    the feedback page; the workflows, told when the feedback came, are not told again."""
    fid = post_with_screenshot(client)
    run_jobs_here()
    assert len(heard) == 1
    _set_status(fid, ended)
    [row] = feedback.attachments.for_feedback(fid)
    page = admin_client.get(f"/admin/beta/feedback/{fid}").get_data(as_text=True)
    assert "Read the text again" in page
    resp = admin_client.post(f"/admin/beta/feedback/attachments/{row.id}/read-again")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/admin/beta/feedback/{fid}#attachments")
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Reading the text of error.png again." in page and "Read the text again" not in page
    db.session.expire_all()
    assert feedback.attachments.for_feedback(fid)[0].text_status == "pending"
    run_jobs_here()
    db.session.expire_all()
    [row] = feedback.attachments.for_feedback(fid)
    assert row.text_status == "done" and "QUIXOTIC" in row.text
    assert len(heard) == 1  # no second feedback.created
    entries = audit.query(action="feedback.attachment.read_again", target=f"feedback:{fid}")
    assert len(entries) == 1 and entries[0].before["text_status"] == ended and entries[0].actor
    # a reading that ended with the text is not read again
    again = admin_client.post(f"/admin/beta/feedback/attachments/{row.id}/read-again")
    assert "is not waiting to be read again" in admin_client.get(again.headers["Location"]).get_data(as_text=True)
    assert admin_client.post("/admin/beta/feedback/attachments/999999/read-again").status_code == 404


def test_reading_again_needs_an_admin(client, ctx, unlimited) -> None:
    fid = feedback.submit(GOOD, uploads=[feedback.attachments.Upload("a.png", screenshot())]).id
    _set_status(fid, "failed")
    [row] = feedback.attachments.for_feedback(fid)
    resp = client.post(f"/admin/beta/feedback/attachments/{row.id}/read-again")
    assert resp.status_code in (302, 303, 400, 401, 403)  # no session: refused (CSRF or sign-in)
    db.session.expire_all()
    assert feedback.attachments.for_feedback(fid)[0].text_status == "failed"



def test_the_workflows_hear_of_feedback_whose_waiting_image_is_deleted_before_it_is_read(app, client, ctx,
                                                                                         unlimited, heard) -> None:
    """The only image waiting for its text is deleted before the job reads it: the job finds nothing to read,
    so the deletion tells the workflows of the feedback (once, with no files), as the job would have."""
    fid = post_with_screenshot(client)
    [row] = feedback.attachments.for_feedback(fid)
    assert heard == []
    feedback.attachments.delete(row.id, actor="admin@nous.test")
    [event] = heard
    assert event["id"] == fid and event["attachments"] == []
    run_jobs_here()  # the reading job comes after: nothing to read, nothing told again
    assert len(heard) == 1
