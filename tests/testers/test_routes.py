"""Console pages for testers at /admin/beta/users."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from tests.feedback.helpers import outbox

HX = {"HX-Request": "true"}
BASE = "/admin/beta/users"


def _add(app, *emails: str, **kw) -> list:
    with app.app_context():
        users = [testers.add(e, actor="setup", **kw) for e in emails]
        return [u.id for u in users]


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("method, path", [
    ("get", BASE), ("post", BASE), ("post", BASE + "/import"), ("get", BASE + "/export.csv"),
    ("get", BASE + "/export.json"), ("get", BASE + "/00000000-0000-0000-0000-000000000000"),
    ("delete", BASE + "/00000000-0000-0000-0000-000000000000"),
])
def test_console_pages_need_the_admin(client, method: str, path: str) -> None:
    with client.session_transaction() as s:
        s["_csrf"] = "t"  # a valid form token, but nobody signed in
    resp = getattr(client, method)(path, headers={**HX, "X-CSRF-Token": "t"})
    assert resp.status_code == 401
    assert "HX-Redirect" in resp.headers


def test_index_is_a_page_and_its_search_a_fragment(app, admin_client) -> None:
    _add(app, "ada@example.com", "bruno@example.org")
    page = admin_client.get(BASE)
    assert page.status_code == 200
    assert b"<html" in page.data and b"ada@example.com" in page.data
    assert b'hx-trigger="search, input changed delay:200ms"' in page.data
    frag = admin_client.get(BASE + "?q=bruno", headers=HX)
    assert frag.status_code == 200
    assert b"<html" not in frag.data
    assert b"bruno@example.org" in frag.data and b"ada@example.com" not in frag.data
    # the same URL without HTMX is the whole page (reload and deep links work)
    assert b"<html" in admin_client.get(BASE + "?q=bruno").data


def test_add_with_htmx_returns_a_fresh_form_and_a_refresh_signal(app, admin_client) -> None:
    resp = admin_client.post(BASE, data={"email": "Ada@Example.com", "role": "ADMIN", "notes": "hi"}, headers=HX)
    assert resp.status_code == 200
    trigger = json.loads(resp.headers["HX-Trigger"])
    assert trigger["tester-changed"] is True and "ada@example.com" in trigger["toast"]["message"]
    assert b'id="add-tester"' in resp.data and b'value=""' in resp.data
    with app.app_context():
        assert testers.get_by_email("ada@example.com").role == "ADMIN"
    [event] = _audit(app, "testers.add")
    assert (event.actor, event.ip) == ("admin@nous.test", "127.0.0.1")


@pytest.mark.parametrize("form, field, message", [
    ({"email": "not-an-email"}, "email", b"is not a valid email address"),
    ({"email": ""}, "email", b"is required"),
    ({"email": "ada@example.com", "role": "GOD"}, "role", b"role must be one of"),
    ({"email": "ada@example.com", "notes": "x" * 6000}, "notes", b"at most 5000"),
])
def test_add_shows_the_problem_next_to_the_field(app, admin_client, form, field, message) -> None:
    resp = admin_client.post(BASE, data=form, headers=HX)
    assert resp.status_code == 200  # HTMX swaps 2xx only; the form comes back with the error
    assert message in resp.data
    assert f'id="add-{field}-error"'.encode() in resp.data
    assert b'aria-invalid="true"' in resp.data
    with app.app_context():
        assert testers.search().total == 0


def test_add_duplicate_is_refused_and_without_js_redirects_with_a_message(app, admin_client) -> None:
    _add(app, "ada@example.com")
    resp = admin_client.post(BASE, data={"email": "ADA@example.com"})
    assert resp.status_code == 303
    page = admin_client.get(resp.headers["Location"])
    assert b"already a tester" in page.data


def test_add_without_csrf_token_is_refused(app, client) -> None:
    import time

    with client.session_transaction() as s:
        now = int(time.time())
        s.update({"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now, "_csrf": "t"})
    assert client.post(BASE, data={"email": "ada@example.com"}).status_code == 400
    with app.app_context():
        assert testers.search().total == 0


def test_import_csv_file_reports_each_row(app, admin_client) -> None:
    _add(app, "dara@example.com")
    body = "email,notes\nada@example.com,one\nnot-valid,\ndara@example.com,\nada@example.com,dup\n"
    resp = admin_client.post(BASE + "/import", data={"file": (io.BytesIO(body.encode()), "list.csv")},
                             content_type="multipart/form-data", headers=HX)
    assert resp.status_code == 200
    html = resp.data.decode()
    assert "<strong>1</strong> added, <strong>3</strong> skipped" in html
    for reason in ("not a valid email address", "already a tester", "duplicate of line 2"):
        assert reason in html
    assert json.loads(resp.headers["HX-Trigger"])["tester-changed"] is True


def test_import_pasted_text_and_refusal_of_a_huge_list(app, admin_client) -> None:
    resp = admin_client.post(BASE + "/import", data={"emails": "ada@example.com\nbruno@example.org"}, headers=HX)
    assert b"<strong>2</strong> added" in resp.data
    huge = "\n".join(f"u{i}@example.com" for i in range(testers.MAX_IMPORT_ROWS + 5))
    resp = admin_client.post(BASE + "/import", data={"emails": huge}, headers=HX)
    assert b"Nothing imported" in resp.data and b"split the file" in resp.data
    full = admin_client.post(BASE + "/import", data={"emails": "chen@example.net"})
    assert full.status_code == 200 and b"<html" in full.data and b"Import report" in full.data


def test_export_csv_is_formula_safe_and_json_complete(app, admin_client) -> None:
    _add(app, "ada@example.com", notes="=HYPERLINK(\"http://evil.example\")")
    _add(app, "bruno@example.org", notes="+1 call me")
    resp = admin_client.get(BASE + "/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
    assert [r["email"] for r in rows] == ["ada@example.com", "bruno@example.org"]
    assert rows[0]["notes"].startswith("'=") and rows[1]["notes"].startswith("'+")
    data = admin_client.get(BASE + "/export.json?q=bruno").get_json()
    assert [d["email"] for d in data] == ["bruno@example.org"]
    assert set(data[0]) >= {"id", "role", "is_active", "invite_state", "flag_set", "joined_at"}


def test_detail_edit_and_row_actions(app, admin_client) -> None:
    [uid] = _add(app, "ada@example.com")
    page = admin_client.get(f"{BASE}/{uid}")
    assert page.status_code == 200
    assert b"/join/" in page.data and b"Feature flag overrides" in page.data
    saved = admin_client.post(f"{BASE}/{uid}", data={"role": "OWNER", "notes": "lead tester"}, headers=HX)
    assert saved.status_code == 200 and b"Saved." in saved.data
    row = admin_client.post(f"{BASE}/{uid}/active", data={"active": "0"}, headers=HX)
    assert row.status_code == 200 and row.data.lstrip().startswith(b"<tr") and b"inactive" in row.data
    assert b"Reactivate" in row.data
    with app.app_context():
        user = testers.get(uid)
        assert (user.role, user.notes, user.is_active) == ("OWNER", "lead tester", False)
    assert len(_audit(app, "testers.update")) == 1 and len(_audit(app, "testers.deactivate")) == 1


def test_remove_with_htmx_delete_and_detail_page_form(app, admin_client) -> None:
    a, b = _add(app, "ada@example.com", "bruno@example.org")
    resp = admin_client.delete(f"{BASE}/{a}", headers=HX)
    assert resp.status_code == 200 and resp.data == b""
    assert "Removed ada@example.com" in json.loads(resp.headers["HX-Trigger"])["toast"]["message"]
    resp = admin_client.post(f"{BASE}/{b}/remove")
    assert resp.status_code == 303
    with app.app_context():
        assert testers.search().total == 0
    assert len(_audit(app, "testers.remove")) == 2
    assert admin_client.get(f"{BASE}/{a}").status_code == 404
    assert admin_client.delete(f"{BASE}/{a}", headers=HX).status_code == 404


def test_list_has_remove_with_confirmation(app, admin_client) -> None:
    _add(app, "ada@example.com")
    html = admin_client.get(BASE).data.decode()
    assert ('hx-confirm="Remove ada@example.com from the beta? Their feedback is kept; '
            'the files they sent with it are deleted."') in html


def test_invite_from_the_list_queues_the_email_and_updates_the_row(app, admin_client) -> None:
    [uid] = _add(app, "ada@example.com")
    resp = admin_client.post(f"{BASE}/{uid}/invite", headers=HX)
    assert resp.status_code == 200 and b"invited" in resp.data and b"Resend" in resp.data
    resp = admin_client.post(f"{BASE}/{uid}/invite", headers=HX)
    assert b"\xc3\x972" in resp.data  # "×2": sent twice
    assert [m.to_addr for m in outbox(app) if m.template == "invite"] == ["ada@example.com"] * 2


def test_invite_refused_for_a_joined_tester_says_why(app, admin_client) -> None:
    [uid] = _add(app, "ada@example.com")
    with app.app_context():
        testers.accept_invite(testers.get(uid).invite_code)
    resp = admin_client.post(f"{BASE}/{uid}/invite", headers=HX)
    assert resp.status_code == 200
    trigger = json.loads(resp.headers["HX-Trigger"])["toast"]
    assert trigger["kind"] == "error" and "already joined" in trigger["message"]


def test_page_through_testers_with_keyset(app, admin_client) -> None:
    with app.app_context():
        for i in range(55):
            testers.add(f"user{i:02d}@example.com", actor="setup", commit=False)
        db.session.commit()
    first = admin_client.get(BASE).data.decode()
    assert "user49@example.com" in first and "user50@example.com" not in first
    assert "after=user49@example.com" in first
    second = admin_client.get(BASE + "?after=user49%40example.com").data.decode()
    assert "user50@example.com" in second and "user54@example.com" in second and "user49@example.com" not in second
