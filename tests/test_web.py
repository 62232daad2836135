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
