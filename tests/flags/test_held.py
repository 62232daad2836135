"""Live-dashboard sockets and flag streams share one budget of threads per process (nous.held): past it,
neither kind opens another, whichever kind holds the threads."""

from __future__ import annotations

import pytest
from flask import Flask

from nous import held
from tests.flags.test_streaming import PATH, _open


def test_room_counts_every_kind_against_the_budget_and_each_against_its_own_cap() -> None:
    app = Flask("t")
    app.config["HELD_THREADS_MAX"] = 3
    counts = {"a": 1, "b": 1}
    held.register(app, "a", lambda: counts["a"])
    held.register(app, "b", lambda: counts["b"])
    assert held.room(app, "a", own_cap=5) and held.room(app, "b", own_cap=5)
    assert not held.room(app, "a", own_cap=1)  # its own cap
    counts["b"] = 2
    assert held.held(app) == {"a": 1, "b": 2}
    assert not held.room(app, "a", own_cap=5) and not held.room(app, "b", own_cap=5)  # the shared budget


def test_budget_is_the_gunicorn_threads_less_those_kept_for_pages(monkeypatch) -> None:
    app = Flask("t")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    assert held.budget(app) == 8 - held.THREADS_KEPT_FOR_HTTP
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    assert held.budget(app) == 1


@pytest.fixture
def budget_of_two(app, monkeypatch):
    monkeypatch.setitem(app.config, "HELD_THREADS_MAX", 2)
    return app


def test_live_viewers_holding_the_budget_keep_flag_streams_out(budget_of_two, client, make_flag, token,
                                                               monkeypatch) -> None:
    make_flag("s.one", enabled=True)
    monkeypatch.setitem(budget_of_two.extensions[held.EXTENSION], "live sockets", lambda: 2)
    refused = client.get(PATH, headers={"Authorization": token, "Accept": "text/event-stream"})
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "live viewers" in refused.get_json()["message"]
    monkeypatch.setitem(budget_of_two.extensions[held.EXTENSION], "live sockets", lambda: 1)
    resp, chunks = _open(client, token)
    try:
        assert resp.status_code == 200 and b"unleash-connected" in next(chunks)
    finally:
        resp.close()


def test_flag_streams_holding_the_budget_keep_live_viewers_out(budget_of_two, admin_client, monkeypatch) -> None:
    monkeypatch.setitem(budget_of_two.extensions.setdefault(held.EXTENSION, {}), "flag streams", lambda: 2)
    handshake = {"Origin": "http://localhost", "Upgrade": "websocket", "Connection": "Upgrade"}
    refused = admin_client.get("/ws/live", headers=handshake)
    assert refused.status_code == 503 and "flag streams" in refused.get_data(as_text=True)
