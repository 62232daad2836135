"""/api/admin/v1/testers against the real service, database and audit log."""

from __future__ import annotations

import json
import uuid

from tests.adminapi.conftest import Api, assert_problem


def _add(api: Api, email: str, **extra) -> dict:
    resp = api.post("testers", json={"email": email, **extra})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def test_create_read_and_audit_actor(app, api: Api) -> None:
    from nous.audit import service as audit

    created = api.post("testers", json={"email": "Ada@Example.com", "role": "ADMIN", "notes": "from sign-up"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["email"] == "ada@example.com" and body["role"] == "ADMIN" and body["invite_state"] == "not invited"
    assert body["created_at"].endswith("Z") and "T" in body["created_at"]
    assert created.headers["Location"].endswith(f"/api/admin/v1/testers/{body['id']}")
    got = api.get(f"testers/{body['id']}")
    assert got.get_json() == body
    with app.app_context():
        (event,) = [e for e in audit.query(action="testers.add") if e.target == "ada@example.com"]
    assert event.actor.startswith("token:test-")
    assert_problem(api.get(f"testers/{uuid.uuid4()}"), 404)
    assert_problem(api.post("testers", json={"email": "ada@example.com"}), 409, "email")
    assert_problem(api.post("testers", json={"email": "b@example.com", "role": "KING"}), 422, "role")
    assert_problem(api.post("testers", json={}), 422, "email")
    assert_problem(api.post("testers", json={"email": 5}), 422, "email")


def test_update_invite_deactivate_reactivate_delete(app, api: Api) -> None:
    t = _add(api, "grace@example.com")
    changed = api.patch(f"testers/{t['id']}", json={"role": "OWNER", "notes": "lead"})
    assert changed.get_json()["role"] == "OWNER" and changed.get_json()["notes"] == "lead"
    assert_problem(api.patch(f"testers/{t['id']}", json={"role": "nobody"}), 422, "role")
    assert_problem(api.patch(f"testers/{t['id']}", json={"notes": 3}), 400, "notes")

    invited = api.post(f"testers/{t['id']}/invite")
    assert invited.status_code == 200, invited.get_data(as_text=True)
    assert invited.get_json()["invite_state"] == "invited" and invited.get_json()["invite_sent_count"] == 1
    again = api.post(f"testers/{t['id']}/invite")
    assert again.get_json()["invite_sent_count"] == 2

    off = api.post(f"testers/{t['id']}/deactivate", headers={"If-Match": again.headers["ETag"]})
    assert off.status_code == 200 and off.get_json()["is_active"] is False
    assert_problem(api.post(f"testers/{t['id']}/invite"), 409)
    assert_problem(api.post(f"testers/{t['id']}/reactivate", headers={"If-Match": again.headers["ETag"]}), 412)
    on = api.post(f"testers/{t['id']}/reactivate", headers={"If-Match": off.headers["ETag"]})
    assert on.get_json()["is_active"] is True
    assert api.post(f"testers/{t['id']}/reactivate").status_code == 200  # asking again changes nothing

    gone = api.delete(f"testers/{t['id']}")
    assert gone.status_code == 204 and gone.get_data() == b""
    assert_problem(api.get(f"testers/{t['id']}"), 404)
    assert_problem(api.delete(f"testers/{t['id']}"), 404)


def test_list_filters_and_search(api: Api) -> None:
    _add(api, "alpha@example.com", notes="likes charts")
    _add(api, "beta@example.com", role="ADMIN")
    gamma = _add(api, "gamma@example.com")
    api.post(f"testers/{gamma['id']}/deactivate")

    def emails(query: str) -> list[str]:
        resp = api.get(f"testers?{query}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return [t["email"] for t in resp.get_json()["items"]]

    assert emails("") == ["alpha@example.com", "beta@example.com", "gamma@example.com"]
    assert emails("q=charts") == ["alpha@example.com"]
    assert emails("role=ADMIN") == ["beta@example.com"]
    assert emails("state=inactive") == ["gamma@example.com"]
    assert_problem(api.get("testers?state=sleeping"), 400, "state")


def test_pages_to_the_end_without_duplicates_or_gaps_while_testers_are_added(api: Api) -> None:
    existing = {f"m{i:02d}@example.com" for i in range(0, 40, 2)}
    for email in existing:
        _add(api, email)
    seen: list[str] = []
    cursor, n = None, 0
    while True:
        resp = api.get("testers?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        body = resp.get_json()
        seen += [t["email"] for t in body["items"]]
        # Testers arrive meanwhile, before and after the page just read.
        _add(api, f"m{2 * n + 1:02d}@example.com")
        _add(api, f"a{n:02d}@example.com")
        n += 1
        cursor = body["next_cursor"]
        if not cursor:
            assert "Link" not in resp.headers
            break
    assert len(seen) == len(set(seen)), "a tester was listed twice"
    assert existing <= set(seen), f"missed: {existing - set(seen)}"
    assert seen == sorted(seen)


def test_import_csv_and_json_with_a_report_per_line(app, api: Api) -> None:
    _add(api, "known@example.com")
    csv_body = ("email,role,notes\nnew1@example.com,TESTER,hi\nnot-an-address,,\nknown@example.com,,\n"
                "new1@example.com,,\n")
    resp = api.post("testers/import", data=csv_body, content_type="text/csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    report = resp.get_json()
    assert report["added"] == 1 and report["skipped"] == 3
    assert [(r["line"], r["result"]) for r in report["rows"]] == [(2, "added"), (3, "skipped"), (4, "skipped"),
                                                                  (5, "skipped")]
    resp = api.post("testers/import", json={"testers": [{"email": "j1@example.com", "role": "ADMIN"},
                                                         {"email": "j1@example.com"}, "j2@example.com",
                                                         {"email": None}]})
    report = resp.get_json()
    assert report["added"] == 2 and [r["line"] for r in report["rows"]] == [1, 2, 3, 4]
    assert report["rows"][1]["reason"] == "duplicate of line 1"
    assert api.get("testers?role=ADMIN").get_json()["items"][0]["email"] == "j1@example.com"
    assert_problem(api.post("testers/import", json={"testers": "x"}), 400, "testers")
    assert_problem(api.post("testers/import", json={"testers": [], "invite": 1}), 400, "invite")


def test_export_csv_and_json_lines(api: Api) -> None:
    _add(api, "=cmd@example.com", notes="=SUM(A1)")
    _add(api, "plain@example.com", role="ADMIN")
    csv_resp = api.get("testers/export")
    assert csv_resp.mimetype == "text/csv"
    text = csv_resp.get_data(as_text=True)
    assert text.splitlines()[0].startswith("id,email,role")
    assert "'=SUM(A1)" in text  # spreadsheet-safe
    lines = api.get("testers/export?format=jsonl&role=ADMIN").get_data(as_text=True).splitlines()
    assert [json.loads(line)["email"] for line in lines] == ["plain@example.com"]
    assert_problem(api.get("testers/export?format=xml"), 400, "format")
