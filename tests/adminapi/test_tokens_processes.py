"""Tokens across processes: gunicorn with two workers refuses a token within a second of its revocation
made in another process, and writes the last use after answering."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select

from nous.adminapi import tokens
from nous.adminapi.models import AdminToken
from nous.extensions import db
from tests.conftest import run_cli
from tests.live.conftest import start_gunicorn


@pytest.fixture(scope="module")
def web(app) -> Iterator[str]:
    """gunicorn with two worker processes, as `scripts/run` starts it."""
    base, proc = start_gunicorn(WEB_CONCURRENCY="2")
    yield base
    proc.kill()
    proc.wait(timeout=10)


def refused_within(http: requests.Session, url: str, seconds: float) -> float:
    """Seconds until the API refuses the session's token; then it must stay refused (on any worker)."""
    start = time.monotonic()
    while (status := http.get(url, timeout=10).status_code) == 200:
        assert time.monotonic() - start < seconds, f"still accepted after {seconds} s"
    took = time.monotonic() - start
    assert status == 401
    for _ in range(30):
        assert http.get(url, timeout=10).status_code == 401
    return took


def session_with(raw: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {raw}"
    return http


def test_a_revocation_in_another_process_is_honoured_by_every_worker_within_a_second(app, web) -> None:
    with app.app_context():
        raw = tokens.create("remote-bot", ["admin"], actor="test")[1]
    http = session_with(raw)
    url = f"{web}/api/admin/v1/tokens"
    for _ in range(30):  # both workers have answered with it
        assert http.get(url, timeout=10).status_code == 200
    with app.app_context():
        tokens.revoke("remote-bot", actor="test")
    took = refused_within(http, url, 1.0)
    assert took < 1.0
    assert http.get(url, timeout=10).json()["reason"] == "revoked"


def test_a_token_made_in_another_process_works_at_once_on_every_worker(app, web) -> None:
    url = f"{web}/api/admin/v1/tokens"
    warm = session_with(tokens_made(app, "warm-bot"))
    for _ in range(10):  # every worker has a fresh copy of the tokens
        assert warm.get(url, timeout=10).status_code == 200
    http = session_with(tokens_made(app, "new-bot"))
    assert [http.get(url, timeout=10).status_code for _ in range(20)] == [200] * 20


def tokens_made(app, name: str) -> str:
    with app.app_context():
        return tokens.create(name, ["admin"], actor="test")[1]


def test_flask_nous_tokens_revoke_reaches_a_running_server_within_a_second(app, web) -> None:
    made = run_cli("nous", "tokens", "create", "cli-bot", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    http = session_with(made.stdout.strip().splitlines()[-1])
    url = f"{web}/api/admin/v1/tokens"
    assert http.get(url, timeout=10).status_code == 200  # a token made elsewhere is known at once
    done = run_cli("nous", "tokens", "revoke", "cli-bot")
    assert done.returncode == 0, done.stderr
    assert refused_within(http, url, 1.0) < 1.0


def test_the_server_writes_the_last_use_after_answering(app, web) -> None:
    with app.app_context():
        raw = tokens.create("seen-bot", ["admin"], actor="test")[1]
    assert session_with(raw).get(f"{web}/api/admin/v1/tokens", timeout=10).status_code == 200
    deadline = time.monotonic() + 5
    with app.app_context():
        while True:
            db.session.rollback()
            row = db.session.scalar(select(AdminToken).where(AdminToken.name == "seen-bot"))
            if row.last_used_at is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"
