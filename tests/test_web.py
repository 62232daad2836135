import json

from flask import Response

from nous.web import toast


def test_toast_sets_message_kind_and_refresh_event():
    resp = toast(Response(""), "Saved", "error", refresh="jobs-changed")
    assert json.loads(resp.headers["HX-Trigger"]) == {"toast": {"message": "Saved", "kind": "error"},
                                                      "jobs-changed": True}


def test_toast_keeps_events_already_triggered():
    resp = Response("")
    resp.headers["HX-Trigger"] = json.dumps({"flag-changed": {"version": "3"}})
    toast(resp, "Saved")
    assert json.loads(resp.headers["HX-Trigger"]) == {"flag-changed": {"version": "3"},
                                                      "toast": {"message": "Saved", "kind": "success"}}
    plain = Response("")
    plain.headers["HX-Trigger"] = "outbox-changed, jobs-changed"
    toast(plain, "Queued")
    assert json.loads(plain.headers["HX-Trigger"]) == {"outbox-changed": True, "jobs-changed": True,
                                                       "toast": {"message": "Queued", "kind": "success"}}


def test_toast_message_is_json_escaped():
    resp = toast(Response(""), 'Saved "a\\b"')
    assert json.loads(resp.headers["HX-Trigger"])["toast"]["message"] == 'Saved "a\\b"'


def test_an_answer_that_changes_nothing_in_the_session_sets_no_cookie(admin_client):
    """Concurrent answers must not put back an older cookie: only a changed session is written."""
    with admin_client.session_transaction() as s:
        s.permanent = True  # as signing in makes it
    assert admin_client.get("/admin/beta/flags/").status_code == 200
    resp = admin_client.get("/admin/beta/flags/")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_a_panel_fetching_itself_leaves_the_message_for_the_next_page(admin_client):
    with admin_client.session_transaction() as s:
        s["_flashes"] = [("success", "Restored version 1 of k as version 3.")]
    panel = admin_client.get("/admin/beta/", headers={"HX-Request": "true"})  # a background refresh of the page
    assert panel.status_code == 200 and "Restored version 1" not in panel.get_data(as_text=True)
    page = admin_client.get("/admin/beta/")
    assert "Restored version 1 of k as version 3." in page.get_data(as_text=True)
