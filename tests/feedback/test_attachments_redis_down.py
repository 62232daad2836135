"""Attachments while Redis is away (a redis-server of the test's own, never the shared one): the
submission is stored with its files, and once Redis is back the sweep has their text read; the
workflows hear of the feedback once, with the text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.feedback.helpers import GOOD
from tests.feedback.test_attachments_ocr import heard, screenshot  # noqa: F401 - heard is a fixture
from tests.support.live import ThrowawayRedis, another_app

API = "/api/feedback"


@pytest.fixture
def server(tmp_path) -> Iterator[ThrowawayRedis]:
    s = ThrowawayRedis(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def other_app(app, server):
    """An app of this process on the throwaway Redis (same database as `app`)."""
    with another_app(REDIS_URL=server.url) as other:
        yield other


def test_a_screenshot_sent_while_redis_is_down_has_its_text_read_once_it_is_back(other_app, server, heard) -> None:  # noqa: F811
    from nous.clock import utcnow
    from nous.extensions import db
    from nous.feedback import service as feedback
    from nous.feedback import tasks
    from nous.feedback.models import FeedbackAttachment
    from nous.settings import service as settings
    from tests.jobs.helpers import run_jobs_here

    with other_app.app_context():
        settings.set_value("feedback.upload_rate_limit", "1000000000/hour", actor="test")
        settings.set_value("feedback.rate_limit", "1000/minute", actor="test")
    server.stop()
    client = other_app.test_client()
    body = {**{k: str(v) for k, v in GOOD.items()}, "attachments": [(io.BytesIO(screenshot()), "error.png")]}
    resp = client.post(API, data=body, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    fid = resp.get_json()["id"]
    with other_app.app_context():
        [row] = feedback.attachments.for_feedback(fid)
        assert row.text_status == "pending"
        db.session.remove()
    assert heard == []  # the workflows wait for the text, as when the job could be queued

    server.start()  # back, empty: the job was never queued
    with other_app.app_context():
        db.session.execute(update(FeedbackAttachment).values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()  # as the hourly sweep finds it, a while later
        assert tasks.attachments_sweep()["queued"] == 1
        run_jobs_here()
        db.session.expire_all()
        [row] = feedback.attachments.for_feedback(fid)
        assert row.text_status in ("done", "unavailable")
        db.session.remove()
    assert [e["id"] for e in heard] == [fid]  # told once, with the text
    assert heard[0]["attachments"][0]["text_status"] != "pending"
