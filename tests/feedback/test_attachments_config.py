"""GET /api/feedback/config: the limits the widget follows before it uploads anything, the same settings the
console enforces, readable from any origin without credentials, and documented in /openapi.json."""

from __future__ import annotations

import jsonschema

from nous.openapi import document
from tests.feedback.helpers import set_setting

URL = "/api/feedback/config"


def test_the_config_is_the_consoles_attachment_settings(app, client) -> None:
    resp = client.get(URL, headers={"Origin": "https://anywhere.example"})
    assert resp.status_code == 200
    assert resp.get_json() == {"attachments": {
        "max": 5, "max_file_bytes": 10_000_000, "max_total_bytes": 25_000_000, "max_text_bytes": 1_000_000,
        "accepted_types": ["image/png", "image/jpeg", "image/webp", "image/gif", "text/plain"],
        "image_max_side": 1920, "image_quality": 0.85}}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert resp.headers["Cache-Control"] == "public, max-age=30"

    set_setting(app, "feedback.attachments_max", 2)
    set_setting(app, "feedback.attachment_max_bytes", 2_000_000)
    set_setting(app, "feedback.attachments_max_total_bytes", 3_000_000)
    set_setting(app, "feedback.image_max_side", 800)
    set_setting(app, "feedback.image_quality", 0.6)
    changed = client.get(URL).get_json()["attachments"]
    assert (changed["max"], changed["max_file_bytes"], changed["max_total_bytes"]) == (2, 2_000_000, 3_000_000)
    assert (changed["image_max_side"], changed["image_quality"]) == (800, 0.6)
    set_setting(app, "feedback.attachments_max", 0)
    assert client.get(URL).get_json()["attachments"]["max"] == 0  # the widget hides its attachments


def test_a_preflight_from_any_origin_is_answered(client) -> None:
    resp = client.options(URL, headers={"Origin": "https://anywhere.example", "Access-Control-Request-Method": "GET",
                                        "Access-Control-Request-Headers": "accept"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in resp.headers["Access-Control-Allow-Methods"]
    assert client.post(URL).status_code == 405


def test_the_config_is_documented_and_answers_as_documented(client) -> None:
    doc = client.get("/openapi.json").get_json()
    assert set(doc["paths"][URL]) == {"get"}
    schema = {**document()["components"]["schemas"]["FeedbackWidgetConfig"], "components": document()["components"]}
    jsonschema.validate(client.get(URL).get_json(), schema)
    assert not jsonschema.Draft202012Validator(schema).is_valid({"attachments": {"max": -1}})
