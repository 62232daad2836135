"""Console pages at /admin/beta/flags: guarded, CSRF-checked, and every action does what it says."""

from __future__ import annotations

import io
import json

import pytest

from nous.audit import service as audit
from nous.flags import service
from tests.flags.conftest import rollout

BASE = "/admin/beta/flags"


def test_every_flags_page_is_admin_only(app, client) -> None:
    views = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("flags.")]
    assert len(views) > 15
    for rule in views:
        assert getattr(app.view_functions[rule.endpoint], "admin_only", False), rule.endpoint
    assert client.get(f"{BASE}/").status_code == 302
    assert client.get(f"{BASE}/", headers={"HX-Request": "true"}).status_code == 401
    assert client.get(f"{BASE}/-/panel/changes").headers["Location"].startswith("/admin/login")


def test_changes_need_the_csrf_token(app, ctx, make_flag) -> None:
    make_flag("guarded")
    import time

    c = app.test_client()
    with c.session_transaction() as s:
        now = int(time.time())
        s.update({"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now, "_csrf": "t"})
    assert c.post(f"{BASE}/guarded/switch", data={"to": "on"}).status_code == 400
    assert c.post(f"{BASE}/guarded/switch", data={"to": "on"}, headers={"X-CSRF-Token": "wrong"}).status_code == 400
    assert service.get_flag("guarded").enabled is False
    assert c.post(f"{BASE}/guarded/switch", data={"csrf_token": "t", "to": "on"}).status_code == 303
    assert service.get_flag("guarded").enabled is True


def test_list_shows_state_type_counts_stale_and_search(admin_client, ctx, make_flag) -> None:
    from datetime import UTC, datetime, timedelta

    from nous.extensions import db

    make_flag("checkout.new-flow", enabled=True, description="The new checkout")
    make_flag("emergency.stop", type="kill-switch")
    old = make_flag("old.experiment", type="experiment")
    for key in ("emergency.stop", "old.experiment"):
        service.get_flag(key).updated_at = datetime.now(UTC) - timedelta(days=90)
    db.session.commit()
    page = admin_client.get(f"{BASE}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "checkout.new-flow" in html and "kill-switch" in html and "The new checkout" in html
    rows = {r["key"]: r for r in service.overview()}
    assert rows["old.experiment"]["stale"] is True and rows["emergency.stop"]["stale"] is False
    assert html.count(">stale</span>") == 1
    found = admin_client.get(f"{BASE}/", query_string={"q": "checkout"}, headers={"HX-Request": "true"})
    assert "checkout.new-flow" in found.get_data(as_text=True) and "<html" not in found.get_data(as_text=True)
    assert "old.experiment" not in found.get_data(as_text=True)
    assert old.key == "old.experiment"


def test_create_then_refuse_a_bad_key(admin_client, ctx) -> None:
    assert admin_client.get(f"{BASE}/-/new").status_code == 200
    resp = admin_client.post(f"{BASE}/-/new", data={"key": "search.v2", "type": "release", "description": "d"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/beta/flags/search.v2")
    bad = admin_client.post(f"{BASE}/-/new", data={"key": "has space", "type": "release"})
    assert bad.status_code == 400 and "no spaces" in bad.get_data(as_text=True)
    dup = admin_client.post(f"{BASE}/-/new", data={"key": "search.v2", "type": "release"})
    assert dup.status_code == 409 and "already exists" in dup.get_data(as_text=True)
    assert audit.query(action="flags.create")[0].actor == "admin@nous.test"


def test_flag_page_and_switch_from_the_list(admin_client, ctx, make_flag) -> None:
    make_flag("ünïcode.flag")
    page = admin_client.get(f"{BASE}/ünïcode.flag")
    assert page.status_code == 200 and "Who gets it" in page.get_data(as_text=True)
    assert admin_client.get(f"{BASE}/missing").status_code == 404
    row = admin_client.post(f"{BASE}/ünïcode.flag/switch?from=list", data={"to": "on", "version": "1"},
                            headers={"HX-Request": "true"})
    assert row.status_code == 200 and 'aria-checked="true"' in row.get_data(as_text=True)
    assert "toast" in row.headers["HX-Trigger"]
    assert service.get_flag("ünïcode.flag").enabled is True


def test_the_simple_form_saves_rollout_testers_and_conditions(admin_client, ctx, make_flag) -> None:
    make_flag("simple")
    form = {"enabled": "on", "rollout": "30", "user_ids": "t-1\nt-2", "version": "1",
            "cond": ["a1", "b2", "empty"], "cond_a1_context": "environment", "cond_a1_operator": "IN",
            "cond_a1_values": "production, staging", "cond_b2_context": "appVersion", "cond_b2_operator": "SEMVER_GTE",
            "cond_b2_values": "2.0.0", "cond_b2_inverted": "on", "cond_empty_context": ""}
    resp = admin_client.post(f"{BASE}/simple/simple", data=form, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "version 2" in resp.headers["HX-Trigger"]
    flag = service.get_flag("simple")
    assert flag.enabled is True
    assert flag.strategies == [
        {"name": "userWithId", "parameters": {"userIds": "t-1,t-2"}, "constraints": []},
        {"name": "flexibleRollout", "parameters": {"rollout": "30", "stickiness": "default", "groupId": "simple"},
         "constraints": [{"contextName": "environment", "operator": "IN", "values": ["production", "staging"]},
                         {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0",
                          "inverted": True}]}]
    stale_form = admin_client.post(f"{BASE}/simple/simple", data={**form, "rollout": "90"},
                                   headers={"HX-Request": "true"})
    assert stale_form.status_code == 409 and "changed since you opened it" in stale_form.get_data(as_text=True)
    bad = admin_client.post(f"{BASE}/simple/simple", headers={"HX-Request": "true"},
                            data={"rollout": "50", "version": "2", "cond": ["x"], "cond_x_context": "v",
                                  "cond_x_operator": "SEMVER_GT", "cond_x_values": "not-a-version"})
    assert bad.status_code == 422 and "not a semantic version" in bad.get_data(as_text=True)
    assert service.get_flag("simple").version == 2
    row = admin_client.get(f"{BASE}/-/condition-row", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="cond"' in row and "SEMVER_GTE" in row
    assert admin_client.get(f"{BASE}/-/condition-row").status_code == 302  # no page of its own


def test_the_full_model_editor_validates_per_field(admin_client, ctx, make_flag) -> None:
    make_flag("full")
    definition = {"strategies": [rollout(10)], "variants": [{"name": "v", "weight": 1}], "dependencies": []}
    ok = admin_client.post(f"{BASE}/full/definition", data={"definition": json.dumps(definition)},
                           headers={"HX-Request": "true"})
    assert ok.status_code == 200 and service.get_flag("full").variants == [{"name": "v", "weight": 1}]
    broken = admin_client.post(f"{BASE}/full/definition", headers={"HX-Request": "true"},
                               data={"definition": json.dumps({"strategies": [{"name": "remoteAddress",
                                                                              "parameters": {"IPs": "10.0.0.300"}}]})})
    text = broken.get_data(as_text=True)
    assert broken.status_code == 422 and "strategies[0].parameters.IPs" in text and "10.0.0.300" in text
    assert admin_client.post(f"{BASE}/full/definition", data={"definition": "{oops"}).status_code == 422
    assert admin_client.post(f"{BASE}/full/definition", data={"definition": "{\"colour\": 1}"}).status_code == 422


def test_details_and_schedule(admin_client, ctx, make_flag) -> None:
    make_flag("dated")
    resp = admin_client.post(f"{BASE}/dated/details", data={"description": "launch", "type": "release",
                                                            "enable_at": "2026-12-24T18:00", "disable_at": ""})
    assert resp.status_code == 303
    flag = service.get_flag("dated")
    assert flag.description == "launch" and flag.enable_at.strftime("%Y-%m-%d %H:%M") == "2026-12-24 18:00"
    bad = admin_client.post(f"{BASE}/dated/details", data={"type": "release", "enable_at": "soon"},
                            headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "date and time" in bad.get_data(as_text=True)


def test_preview_explains_the_answer(admin_client, ctx, make_flag) -> None:
    make_flag("pv", enabled=True, strategies=[rollout(100, {"contextName": "plan", "operator": "IN",
                                                            "values": ["pro"]})])
    yes = admin_client.post(f"{BASE}/pv/preview", data={"userId": "u1", "properties": '{"plan": "pro"}'},
                            headers={"HX-Request": "true"})
    assert yes.status_code == 200 and "Yes" in yes.get_data(as_text=True) and "matched" in yes.get_data(as_text=True)
    no = admin_client.post(f"{BASE}/pv/preview", data={"userId": "u1", "properties": '{"plan": "free"}'})
    text = no.get_data(as_text=True)
    assert "No</strong>" in text and "no strategy matched" in text and "<html" in text  # a full page without HTMX
    bad = admin_client.post(f"{BASE}/pv/preview", data={"properties": "[1]"}, headers={"HX-Request": "true"})
    assert "JSON object" in bad.get_data(as_text=True)


def test_history_shows_diffs_and_restore_works(admin_client, ctx, make_flag) -> None:
    make_flag("hist", enabled=True, strategies=[rollout(10)])
    service.set_rollout("hist", 75, actor="someone")
    page = admin_client.get(f"{BASE}/hist/history").get_data(as_text=True)
    assert "strategies[0].parameters.rollout" in page and '"75"' in page and "hx-confirm" in page
    resp = admin_client.post(f"{BASE}/hist/restore/1", headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/hist/history")
    assert service.get_flag("hist").strategies[0]["parameters"]["rollout"] == "10"
    assert service.history("hist")[0].actor == "admin@nous.test"
    assert admin_client.post(f"{BASE}/hist/restore/42").status_code == 303  # refused with a message


def test_archive_and_unarchive(admin_client, ctx, make_flag) -> None:
    make_flag("arch", enabled=True)
    assert admin_client.post(f"{BASE}/arch/archive", headers={"HX-Request": "true"}).status_code == 204
    assert service.get_flag("arch").archived is True
    assert "arch" in admin_client.get(f"{BASE}/", query_string={"archived": "1"}).get_data(as_text=True)
    admin_client.post(f"{BASE}/arch/unarchive")
    assert service.get_flag("arch").archived is False


def test_tokens_page_shows_a_new_token_once_and_revokes(admin_client, ctx) -> None:
    assert admin_client.get(f"{BASE}/-/tokens").status_code == 200
    created = admin_client.post(f"{BASE}/-/tokens", data={"name": "web app"})
    text = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    raw = text.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert raw.startswith("default:production.")
    again = admin_client.get(f"{BASE}/-/tokens").get_data(as_text=True)
    assert raw not in again and raw[:27] in again
    token_id = service.list_tokens()[0]["id"]
    assert admin_client.post(f"{BASE}/-/tokens/{token_id}/revoke").status_code == 303
    assert service.list_tokens()[0]["revoked_at"]
    assert admin_client.post(f"{BASE}/-/tokens", data={"name": ""}).status_code == 422
    assert admin_client.post(f"{BASE}/-/tokens/999/revoke").status_code == 404


def test_segments_page(admin_client, ctx) -> None:
    ok = admin_client.post(f"{BASE}/-/segments", data={"name": "pros", "constraints": json.dumps(
        [{"contextName": "plan", "operator": "IN", "values": ["pro"]}])})
    assert ok.status_code == 303 and service.list_segments()[0].name == "pros"
    bad = admin_client.post(f"{BASE}/-/segments", data={"name": "x", "constraints": "[{]"})
    assert bad.status_code == 422
    seg = service.list_segments()[0]
    assert "pros" in admin_client.get(f"{BASE}/-/segments").get_data(as_text=True)
    admin_client.post(f"{BASE}/-/segments/{seg.id}/delete")
    assert service.list_segments() == []


def test_export_and_import(admin_client, ctx, make_flag) -> None:
    make_flag("exported", enabled=True)
    assert admin_client.get(f"{BASE}/-/transfer").status_code == 200
    export = admin_client.get(f"{BASE}/-/export.json")
    assert export.headers["Content-Disposition"].startswith("attachment")
    doc = export.json
    assert [f["name"] for f in doc["features"]] == ["exported"]
    doc["features"].append({"name": "imported", "enabled": True, "strategies": [rollout(5)]})
    resp = admin_client.post(f"{BASE}/-/import", content_type="multipart/form-data",
                             data={"mode": "merge", "file": (io.BytesIO(json.dumps(doc).encode()), "f.json")})
    assert resp.status_code == 200 and "1 created" in resp.get_data(as_text=True)
    doc["features"][0]["strategies"] = [rollout(500)]
    refused = admin_client.post(f"{BASE}/-/import", content_type="multipart/form-data",
                                data={"mode": "replace", "file": (io.BytesIO(json.dumps(doc).encode()), "f.json")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing imported" in text and "features[0] &#34;exported&#34;" in text
    empty = admin_client.post(f"{BASE}/-/import", content_type="multipart/form-data", data={"mode": "merge"})
    assert empty.status_code == 400


@pytest.mark.parametrize("fragment", [True, False])
def test_dashboard_panel_lists_the_latest_changes(admin_client, ctx, make_flag, fragment: bool) -> None:
    make_flag("panel.flag")
    service.set_enabled("panel.flag", True, actor="someone")
    resp = admin_client.get(f"{BASE}/-/panel/changes", headers={"HX-Request": "true"} if fragment else {})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "panel.flag" in text and "Switched on" in text
    assert ("<html" in text) is not fragment
    assert "Flag changes" in admin_client.get("/admin/beta/").get_data(as_text=True)


def test_a_testers_overrides_are_set_and_cleared_on_the_testers_page(admin_client, ctx, make_flag) -> None:
    from nous import flags
    from nous.testers import service as testers

    make_flag("voice", enabled=True, strategies=[rollout(0)])  # nobody gets it by strategy
    make_flag("search.v2", enabled=True)
    make_flag("old.flag", enabled=True)
    user = testers.add("ada@example.com", actor="t")
    url = f"{BASE}/-/testers/{user.id}"
    page = admin_client.get(f"/admin/beta/users/{user.id}")
    assert url.encode() in page.data  # the tester's page loads the override editor
    empty = admin_client.get(url, headers={"HX-Request": "true"})
    assert b"No overrides" in empty.data and b"<html" not in empty.data and b'value="voice"' in empty.data
    assert b"<html" in admin_client.get(url).data  # the fragment's URL is also a page

    resp = admin_client.post(url, data={"flag": "voice", "value": "on"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "voice forced on" in resp.headers["HX-Trigger"]
    assert b"0 %" in resp.data  # who else gets it
    admin_client.post(url, data={"flag": "search.v2", "value": "off"}, headers={"HX-Request": "true"})
    admin_client.post(url, data={"flag": "old.flag", "value": "on"}, headers={"HX-Request": "true"})
    service.archive_flag("old.flag", actor="t")
    assert service.flag_overrides(str(user.id)) == {"voice": True, "search.v2": False, "old.flag": True}
    assert flags.is_enabled("voice", {"userId": str(user.id)}) is True  # wins over the 0 % rollout
    assert flags.is_enabled("voice", {"userId": "ada@example.com"}) is True
    assert flags.is_enabled("search.v2", {"userId": str(user.id)}) is False
    shown = admin_client.get(url, headers={"HX-Request": "true"}).data
    assert b"archived" in shown  # an override of an archived flag stays until cleared
    flag_page = admin_client.get(f"{BASE}/voice")
    assert b"Testers with an override (1)" in flag_page.data and b"ada@example.com" in flag_page.data

    cleared = admin_client.post(url, data={"flag": "voice", "value": "clear"}, headers={"HX-Request": "true"})
    assert cleared.status_code == 200 and "cleared" in cleared.headers["HX-Trigger"]
    assert admin_client.post(url, data={"flag": "old.flag", "value": "clear"}).status_code == 303  # without HTMX
    assert service.flag_overrides(str(user.id)) == {"search.v2": False}
    assert flags.is_enabled("voice", {"userId": str(user.id)}) is False
    changes = audit.query(action="testers.flag_override")
    assert len(changes) == 5 and {e.actor for e in changes} == {"admin@nous.test"}


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"flag": "nope", "value": "on"}, "flag", "no active flag named nope"),
    ({"flag": "", "value": "on"}, "flag", "choose a flag"),
    ({"flag": "voice", "value": "maybe"}, "value", "choose on, off or clear"),
    ({"flag": "voice"}, "value", "choose on, off or clear"),
    ({"flag": "x" * 201, "value": "clear"}, "flag", "1 to 200 characters"),
])
def test_bad_overrides_are_refused_per_field_and_change_nothing(admin_client, ctx, make_flag, form, field,
                                                                message) -> None:
    from nous.testers import service as testers

    make_flag("voice", enabled=True)
    user = testers.add("bo@example.com", actor="t")
    resp = admin_client.post(f"{BASE}/-/testers/{user.id}", data=form, headers={"HX-Request": "true"})
    assert resp.status_code == 422 and message.encode() in resp.data
    assert f'id="override-{field}-error"'.encode() in resp.data
    assert service.flag_overrides(str(user.id)) == {}


def test_overrides_of_an_unknown_tester_are_404(admin_client, ctx) -> None:
    url = f"{BASE}/-/testers/7d8f4c4e-0000-4000-8000-000000000000"
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, data={"flag": "x", "value": "on"}).status_code == 404


def test_impression_data_is_set_on_the_flag_page(admin_client, ctx, make_flag) -> None:
    make_flag("seen.flag", enabled=True, description="kept")
    page = admin_client.get(f"{BASE}/seen.flag").get_data(as_text=True)
    assert 'name="impression_data"' in page and "checked aria-describedby" not in page
    form = {"description": "kept", "type": "release", "impression_data_shown": "1", "impression_data": "on"}
    assert admin_client.post(f"{BASE}/seen.flag/details", data=form).status_code == 303
    assert service.get_flag("seen.flag").impression_data is True
    features = {f["name"]: f for f in service.export_document()["features"]}
    assert features["seen.flag"]["impressionData"] is True
    admin_client.post(f"{BASE}/seen.flag/details", data={"description": "kept", "type": "release"})
    assert service.get_flag("seen.flag").impression_data is True  # a form without the box leaves it
    del form["impression_data"]
    admin_client.post(f"{BASE}/seen.flag/details", data=form)
    assert service.get_flag("seen.flag").impression_data is False
