"""The console's import and export page with environments: export all of them (Unleash's full export) or
one, import as the file says or into one, an unknown environment refused on the page."""

from __future__ import annotations

import io
import json
import re

from nous.flags import service

BASE = "/admin/beta/flags"
ENVS = ("development", "staging", "production")


def _states(key: str) -> list[bool]:
    return [service.get_flag(key, environment=e).enabled for e in ENVS]


def _upload(admin_client, doc, **form):
    return admin_client.post(f"{BASE}/-/import", content_type="multipart/form-data",
                             data={"mode": "merge", **form, "file": (io.BytesIO(json.dumps(doc).encode()), "f.json")})


def test_the_page_offers_every_environment_for_export_and_import(admin_client, ctx) -> None:
    html = admin_client.get(f"{BASE}/-/transfer").get_data(as_text=True)
    export_form = html[html.index('id="export-environment"'):html.index("</select>", html.index("export-environment"))]
    assert re.findall(r'<option value="([^"]*)"', export_form) == ["*", *ENVS]
    assert '<option value="*" selected>All environments' in export_form
    import_form = html[html.index('id="import-environment"'):]
    import_form = import_form[:import_form.index("</select>")]
    assert re.findall(r'<option value="([^"]*)"', import_form) == ["", *ENVS]


def test_export_and_import_with_the_environment_chosen(admin_client, ctx, make_flag) -> None:
    make_flag("page.flag")
    service.set_enabled("page.flag", True, actor="test", environment="staging")
    full = admin_client.get(f"{BASE}/-/export.json?environment=*")
    assert 'filename="nous-flags-all.json"' in full.headers["Content-Disposition"]
    assert full.json["version"] == 4 and len(full.json["featureEnvironments"]) == 3
    staging = admin_client.get(f"{BASE}/-/export.json?environment=staging").json
    assert staging["environment"] == "staging" and staging["features"][0]["enabled"] is True
    assert admin_client.get(f"{BASE}/-/export.json?environment=qa").status_code == 404
    # staging's file into development only
    resp = _upload(admin_client, staging, environment="development")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "into development: 0 created, 1 updated" in text
    assert _states("page.flag") == [True, True, False]
    # the full export as the file says: each environment to its own
    doc = full.json
    for switch in doc["featureEnvironments"]:
        switch["enabled"] = switch["environment"] == "production"
    resp = _upload(admin_client, doc, environment="")
    assert "into development, staging, production:" in resp.get_data(as_text=True)
    assert _states("page.flag") == [False, False, True]


def test_an_unknown_environment_is_refused_on_the_page(admin_client, ctx, make_flag) -> None:
    make_flag("page.flag")
    doc = service.export_document(environment=None)
    resp = _upload(admin_client, doc, environment="qa")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "There is no environment &#39;qa&#39;" in text
    assert 'class="field-error">one of development, staging, production, or all' in text
    # switches that differ from the database's, so that a partly applied import would show
    doc["featureEnvironments"] = [{**s, "enabled": True} for s in doc["featureEnvironments"]]
    doc["featureEnvironments"].append({"featureName": "page.flag", "environment": "qa", "enabled": True})
    refused = _upload(admin_client, doc)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing imported" in text and "unknown here: qa" in text
    assert _states("page.flag") == [False, False, False]


def test_a_file_over_the_app_s_2_mb_limit_reaches_the_import_s_own_checks(admin_client, ctx) -> None:
    """A full export of ~1,700 flags is over 2 MB: the import takes files up to 5 MB and answers the larger
    ones itself. The form sends its token in the form, as a browser does (the form is read before the view)."""
    def post(raw: bytes):
        return admin_client.post(f"{BASE}/-/import", content_type="multipart/form-data", headers={"X-CSRF-Token": ""},
                                 data={"mode": "merge", "csrf_token": "test-csrf-token",
                                       "file": (io.BytesIO(raw), "f.json")})

    three_mb = json.dumps({"version": 99, "features": [{"name": "a", "description": "x" * 3_000_000}]}).encode()
    resp = post(three_mb)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Nothing imported" in text and "versions 1 and 2" in text
    resp = post(b" " * (5 * 1024 * 1024 + 1))
    assert resp.status_code == 413 and "the file is larger than 5 MB" in resp.get_data(as_text=True)


def test_only_the_signed_in_admin_s_import_is_read_past_the_app_s_limit(client, ctx) -> None:
    """The CSRF check reads the form before the view's guard: anyone else keeps the app's 2 MB limit."""
    three_mb = b" " * 3_000_000
    resp = client.post(f"{BASE}/-/import", content_type="multipart/form-data",
                       data={"mode": "merge", "csrf_token": "x", "file": (io.BytesIO(three_mb), "f.json")})
    assert resp.status_code == 413
    small = client.post(f"{BASE}/-/import", content_type="multipart/form-data",
                        data={"mode": "merge", "csrf_token": "x", "file": (io.BytesIO(b"{}"), "f.json")})
    assert small.status_code == 400 and "security token" in small.get_data(as_text=True)
