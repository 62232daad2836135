"""Admin API tokens while Redis or PostgreSQL is away: valid tokens keep working, a revocation made meanwhile
is honoured, unknown tokens stay cheap, and the last-use write never fails a request. Each test takes down
a throwaway server of its own, never the shared ones."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import select

from nous import create_app
from nous.adminapi import tokens
from nous.adminapi.models import AdminToken
from nous.extensions import db, limiter
from tests.adminapi.test_tokens import served
from tests.support.live import ThrowawayPostgres, ThrowawayRedis, another_app

PATH = "/api/admin/v1/tokens"


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def own_app(app, tmp_path) -> Iterator[tuple]:
    """A factory of apps on a throwaway Redis (the `app`'s database): each app is a process of its own as
    far as the tokens go (its own copy). The shared limiter is put back afterwards (see
    tests/feedback/test_redis_down.py)."""
    server = ThrowawayRedis(tmp_path)
    saved = dict(limiter.__dict__)
    made = []

    def make(**config):
        made.append(create_app({"REDIS_URL": server.url, **config}))
        return made[-1]

    try:
        yield make, server
    finally:
        server.stop()
        for one in made:
            with one.app_context():
                db.session.remove()
                db.engine.dispose()
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


def test_a_valid_token_works_while_redis_is_down_and_a_revocation_made_meanwhile_is_honoured(own_app) -> None:
    make, server = own_app
    web, shell = make(), make()
    with shell.app_context():
        raw = tokens.create("outage", ["admin"], actor="test")[1]
    client = web.test_client()
    assert client.get(PATH, headers=bearer(raw)).status_code == 200

    server.stop()
    started = time.monotonic()
    assert client.get(PATH, headers=bearer(raw)).status_code == 200  # answered from the copy, not a 503
    with shell.app_context():
        tokens.revoke("outage", actor="test")  # the change cannot be announced
    time.sleep(tokens.OFFLINE_RELOAD + 0.1)
    resp = client.get(PATH, headers=bearer(raw))
    assert resp.status_code == 401 and resp.get_json()["reason"] == "revoked"  # read again from the database
    assert time.monotonic() - started < 10  # no long waits on the dead server
    server.start()
    assert client.get(PATH, headers=bearer(raw)).status_code == 401


def test_a_revocation_made_while_redis_was_unreachable_reaches_a_process_that_never_noticed(own_app) -> None:
    """Redis back with the version it had (persisted, or only unreachable for a moment): a process that
    did not look while it was away still learns of the revocation made meanwhile."""
    make, server = own_app
    web, shell = make(), make()
    with shell.app_context():
        raw = tokens.create("blip", ["admin"], actor="test")[1]
    client = web.test_client()
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    version = redis.Redis.from_url(server.url).get(tokens.VERSION_KEY)

    server.stop()
    with shell.app_context():
        tokens.revoke("blip", actor="test")
    server.start()
    redis.Redis.from_url(server.url).set(tokens.VERSION_KEY, version)  # as a persisted Redis comes back
    with shell.app_context():  # the revoking process is still running and reaches Redis again
        assert tokens.check(raw).reason == "revoked"
    deadline = time.monotonic() + 3
    while client.get(PATH, headers=bearer(raw)).status_code != 401:
        assert time.monotonic() < deadline, "the revocation made while Redis was away is never honoured"
        time.sleep(0.1)


def test_random_tokens_while_redis_is_down_cost_no_reload_each(own_app) -> None:
    make, server = own_app
    web = make()
    with web.app_context():
        raw = tokens.create("spray", ["admin"], actor="test")[1]
    client = web.test_client()
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    server.stop()
    copy = web.extensions["nous.adminapi.tokens"]
    loads, started = copy.loads, time.monotonic()
    for _ in range(300):
        assert client.get(PATH, headers=bearer(tokens.PREFIX + secrets.token_urlsafe(32))).status_code == 401
    elapsed = time.monotonic() - started
    assert copy.loads - loads <= elapsed / tokens.OFFLINE_RELOAD + 1, (copy.loads - loads, elapsed)
    assert client.get(PATH, headers=bearer(raw)).status_code == 200


def test_random_tokens_while_redis_hangs_do_not_hold_up_valid_ones(own_app) -> None:
    """Redis accepts connections but answers nothing (stopped, overloaded): each look at the version waits
    for the timeout. Unknown tokens look now and then; valid ones must not queue behind those looks."""
    make, server = own_app
    web = make()
    with web.app_context():
        raw = tokens.create("steady", ["admin"], actor="test")[1]
        assert tokens.check(raw).token is not None
    stop, answered = threading.Event(), []

    def spray() -> None:
        with web.app_context():
            while not stop.is_set():
                assert tokens.check(tokens.PREFIX + secrets.token_urlsafe(32)).token is None
                time.sleep(0.001)

    def valid() -> None:
        with web.app_context():
            while not stop.is_set():
                assert tokens.check(raw).token is not None
                answered.append(time.monotonic())

    os.kill(server.proc.pid, signal.SIGSTOP)
    started = time.monotonic()
    threads = [*(threading.Thread(target=spray) for _ in range(2)), *(threading.Thread(target=valid) for _ in range(3))]
    try:
        for t in threads:
            t.start()
        time.sleep(4)
    finally:
        stop.set()
        os.kill(server.proc.pid, signal.SIGCONT)
        for t in threads:
            t.join(timeout=30)
    late = [t for t in answered if t - started >= 2]  # once the looks at the hanging Redis are under way
    assert len(late) >= 1000, (len(answered), len(late))  # (queued behind those looks: none at all)


def test_postgres_down_a_valid_token_is_answered_and_its_last_use_write_fails_quietly() -> None:
    server = ThrowawayPostgres()
    try:
        with another_app(SQLALCHEMY_DATABASE_URI=server.url, SQLALCHEMY_ENGINE_OPTIONS={
                "pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}) as own:
            _postgres_goes_away(own, server)
    finally:
        server.remove()


def _postgres_goes_away(own, server) -> None:
    with own.app_context():
        upgrade(revision="heads")
        raw = tokens.create("pg-outage", ["system:read"], actor="test")[1]
    client = own.test_client()
    assert client.get("/api/admin/v1/tokens", headers=bearer(raw)).status_code == 403  # copy loaded
    with own.app_context():
        db.session.remove()
        db.engine.dispose()
    server.stop()
    # the first use of the token in this process: its last use is due, and cannot be written
    own.extensions.pop("nous.adminapi.touched", None)
    resp = served(client.get("/api/admin/v1/system/integrations", headers=bearer(raw)))  # written on close
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert raw and tokens.hash_token(raw) in own.extensions["nous.adminapi.touched"]  # the write was tried
    server.start()
    with own.app_context():
        assert db.session.scalar(select(AdminToken.last_used_at).where(AdminToken.name == "pg-outage")) is None


def test_revoking_from_the_shell_while_redis_is_unreachable_says_so_and_again_tells_every_server(own_app) -> None:
    make, server = own_app
    web, shell = make(), make()
    with shell.app_context():
        raw = tokens.create("leaked", ["admin"], actor="test")[1]
    client = web.test_client()
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    version = redis.Redis.from_url(server.url).get(tokens.VERSION_KEY)

    server.stop()
    done = shell.test_cli_runner().invoke(args=["nous", "tokens", "revoke", "leaked"])
    assert done.exit_code == 0 and "revoked token leaked" in done.stdout
    assert "Redis is unreachable" in done.stderr and "again" in done.stderr
    server.start()
    redis.Redis.from_url(server.url).set(tokens.VERSION_KEY, version)  # as a persisted Redis comes back
    # the shell process has ended: the server that never noticed still holds its copy
    assert client.get(PATH, headers=bearer(raw)).status_code == 200
    again = make().test_cli_runner().invoke(args=["nous", "tokens", "revoke", "leaked"])
    assert again.exit_code == 0 and "unreachable" not in again.stderr
    time.sleep(tokens.CHECK_EVERY + 0.05)
    assert client.get(PATH, headers=bearer(raw)).status_code == 401
