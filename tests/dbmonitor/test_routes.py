"""The database report in the console: a fragment for the System page, a page of its own otherwise."""

from __future__ import annotations


def test_console_db_report(admin_client) -> None:
    resp = admin_client.get("/admin/system/db-report", headers={"HX-Request": "true"})
    assert resp.status_code == 200 and b"Slow queries" in resp.data and b"<html" not in resp.data
    full = admin_client.get("/admin/system/db-report")
    assert b"<html" in full.data


def test_without_redis_the_report_shows_what_the_database_holds_and_says_why(admin_client, monkeypatch) -> None:
    """The statement counts live in Redis; without it the panel said nothing but 'Loading the report…' (a 503)."""
    import redis

    from nous.dbmonitor import routes
    from tests.conftest import free_port

    nobody = redis.Redis(port=free_port(), socket_connect_timeout=0.5)  # a port nothing listens on
    monkeypatch.setattr(routes, "get_redis", lambda: nobody)
    resp = admin_client.get("/admin/system/db-report", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    assert b"Redis cannot be reached" in resp.data and b"Unavailable while Redis is away." in resp.data
    assert b"Slow queries" in resp.data and b"Pool" in resp.data
