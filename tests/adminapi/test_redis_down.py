"""With Redis gone, the admin API still answers sensibly: reads go on (the per-token rate limit falls back to
memory), a creating POST with an Idempotency-Key is 503 before anything is made (its replay cannot be
promised), and one whose Redis goes away after the object was made answers what it made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nous import openapi
from tests.adminapi.conftest import Api, assert_problem
from tests.support.live import ThrowawayRedis


@pytest.fixture
def own_redis(app, tmp_path) -> Iterator[tuple[Any, ThrowawayRedis, Api]]:
    """Another app of this process on a Redis of its own (same database as `app`), with an admin token; the
    shared limiter's state is put back afterwards (one Limiter per process: the last init_app sets its
    storage)."""
    from nous import create_app
    from nous.adminapi import tokens
    from nous.extensions import db, limiter

    saved = dict(limiter.__dict__)
    server = ThrowawayRedis(tmp_path)
    other = create_app({"REDIS_URL": server.url})
    try:
        with other.app_context():
            _row, raw = tokens.create("redis-down", ["admin"], actor="test")
        yield other, server, Api(other.test_client(), raw)
    finally:
        server.stop()
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


def _testers(application: Any, email: str) -> int:
    from nous.testers import service as testers

    with application.app_context():
        return sum(1 for u in testers.search(q=email, limit=50).users if u.email == email)


def test_reads_go_on_and_an_idempotent_create_waits_while_redis_is_down(own_redis) -> None:
    application, server, api = own_redis
    assert api.get("testers").status_code == 200
    server.stop()
    assert api.get("testers").status_code == 200
    made = api.post("testers", json={"email": "down@example.com"}, headers={"Idempotency-Key": "k-1"})
    assert_problem(made, 503)
    assert made.headers["Retry-After"]
    documented = openapi.document()["paths"]["/api/admin/v1/testers"]["post"]["responses"]
    assert "Retry-After" in documented["503"]["description"]
    assert _testers(application, "down@example.com") == 0
    assert api.post("testers", json={"email": "down@example.com"}).status_code == 201  # no key: made


def test_redis_going_away_after_the_object_was_made_answers_what_was_made(own_redis) -> None:
    from nous import events

    application, server, api = own_redis

    def redis_goes_away(_sender: Any, **_kw: Any) -> None:
        server.stop()

    events.tester_changed.connect(redis_goes_away)
    try:
        made = api.post("testers", json={"email": "midway@example.com"}, headers={"Idempotency-Key": "k-2"})
    finally:
        events.tester_changed.disconnect(redis_goes_away)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["email"] == "midway@example.com" and made.headers["Location"]
    assert _testers(application, "midway@example.com") == 1
