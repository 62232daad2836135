"""The database report in the console: a fragment for the System page, a page of its own otherwise."""

from __future__ import annotations


def test_console_db_report(admin_client) -> None:
    resp = admin_client.get("/admin/system/db-report", headers={"HX-Request": "true"})
    assert resp.status_code == 200 and b"Slow queries" in resp.data and b"<html" not in resp.data
    full = admin_client.get("/admin/system/db-report")
    assert b"<html" in full.data
