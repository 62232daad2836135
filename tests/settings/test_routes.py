"""The settings page: every setting with its typed input, saved one row at a time, conflicts answered 409."""

from __future__ import annotations

import time

from nous.settings import service as settings


def test_console_settings_page_saves_and_shows_errors(admin_client, ctx) -> None:
    page = admin_client.get("/admin/settings")
    assert page.status_code == 200 and b"db.slow_query_ms" in page.data
    bad = admin_client.post("/admin/settings/db.slow_query_ms", data={"value": "-5"})
    assert bad.status_code == 422 and b"must be between" in bad.data
    good = admin_client.post("/admin/settings/db.slow_query_ms", data={"value": "300"})
    assert good.status_code == 200 and "toast" in good.headers["HX-Trigger"]
    assert settings.get("db.slow_query_ms") == 300
    time.sleep(0)


def test_a_setting_saved_on_an_older_value_answers_409_with_the_stored_one(app, admin_client) -> None:
    from nous.settings import service as settings

    with app.app_context():
        seen = settings.version_of(settings.get("flags.stale_days"))
        settings.set_value("flags.stale_days", 45, actor="other@nous.test")
    resp = admin_client.post("/admin/settings/flags.stale_days", data={"value": "60", "version": seen},
                             headers={"HX-Request": "true"})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed by other@nous.test since you opened the page" in html and 'value="45"' in html
    with app.app_context():
        assert settings.get("flags.stale_days") == 45
        # the value asked for is already stored: nothing to refuse
        assert settings.set_value("flags.stale_days", 45, actor="me", expected_version=seen) == 45
        fresh = settings.version_of(45)
    ok = admin_client.post("/admin/settings/flags.stale_days", data={"value": "60", "version": fresh},
                           headers={"HX-Request": "true"})
    assert ok.status_code == 200
    with app.app_context():
        assert settings.get("flags.stale_days") == 60


def test_a_flag_environment_that_does_not_exist_is_refused_on_the_page(admin_client, ctx) -> None:
    bad = admin_client.post("/admin/settings/flags.environment", data={"value": "prod"})
    assert bad.status_code == 422 and b"there is no environment" in bad.data
    assert settings.get("flags.environment") == "production"
