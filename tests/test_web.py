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


def test_a_console_fragment_refused_gets_its_message_as_json_a_page_gets_a_page(admin_client):
    """The console's error toast reads the message from JSON: an htmx request refused (abort, bad input) gets
    JSON; the same URL opened as a page (or boosted) gets the error page."""
    url = "/admin/beta/feedback?flag_state=on"
    fragment = admin_client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and fragment.is_json
    assert fragment.get_json()["message"] == "flag is needed with flag_state"
    assert fragment.get_json()["errors"] == {"flag": "is needed with flag_state"}
    for headers in ({}, {"HX-Request": "true", "HX-Boosted": "true"}):
        page = admin_client.get(url, headers=headers)
        assert page.status_code == 400 and page.mimetype == "text/html"
        assert "flag is needed with flag_state" in page.get_data(as_text=True)
