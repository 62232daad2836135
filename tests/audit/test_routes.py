"""The audit log page: filters in the address, older events a block at a time, the CSV export."""

from __future__ import annotations

import csv
import io

from nous.audit import service as audit
from nous.extensions import db

HX = {"HX-Request": "true"}


def test_the_page_lists_events_in_words_and_its_rows_are_a_fragment(admin_client, ctx) -> None:
    audit.record("ada@example.com", "testers.add", "bob@example.com")
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "<html" in page and "Audit log" in page and "tester bob@example.com</a>" in page
    rows = admin_client.get("/admin/audit", headers=HX).get_data(as_text=True)
    assert "<html" not in rows and "<form" not in rows
    assert rows.lstrip().startswith("<tr>") and "Added <a" in rows and "tester bob@example.com</a>" in rows
    assert "Older events" not in rows  # one page holds them all
    empty = admin_client.get("/admin/audit?actor=nobody", headers=HX).get_data(as_text=True)
    assert "No events match." in empty


def test_older_events_load_fifty_at_a_time(admin_client, ctx) -> None:
    for i in range(60):
        audit.record("ada@example.com", "testers.add", f"t{i}@example.com", commit=False)
    db.session.commit()
    first = admin_client.get("/admin/audit", headers=HX).get_data(as_text=True)
    assert first.count("<tr>") == 50 and "t59@example.com" in first and "Older events" in first
    oldest_shown = audit.query(limit=50)[-1].id
    assert f"before={oldest_shown}" in first
    rest = admin_client.get(f"/admin/audit?before={oldest_shown}", headers=HX).get_data(as_text=True)
    assert rest.count("<tr>") == 10 and "t0@example.com" in rest and "Older events" not in rest


def test_the_export_is_every_matching_event_as_csv(admin_client, ctx) -> None:
    audit.record("ada@example.com", "flags.create", "checkout", after={"enabled": True}, ip="10.1.2.3")
    audit.record("bob@example.com", "testers.add", "carol@example.com")
    resp = admin_client.get("/admin/audit/export.csv?action=flags.")
    assert resp.status_code == 200 and "nous-audit.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["id", "at", "actor", "action", "target", "before", "after", "ip"]
    assert [(r[2], r[3], r[4], r[7]) for r in rows[1:]] == [("ada@example.com", "flags.create", "checkout", "10.1.2.3")]


def test_the_area_filter_offers_every_area_that_writes_to_the_log(admin_client, ctx) -> None:
    audit.record("ada@example.com", "adminapi.token.create", "deploy-bot")
    audit.record("ada@example.com", "testers.add", "bob@example.com")
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert '<option value="adminapi.">API tokens</option>' in page
    rows = admin_client.get("/admin/audit?action=adminapi.", headers=HX).get_data(as_text=True)
    assert "Created the admin API token" in rows and "bob@example.com" not in rows
