"""/api/admin/v1/settings, /system and /audit against the real services."""

from __future__ import annotations

import json

import yaml

from tests.adminapi.conftest import Api, assert_problem


def test_read_change_and_history_of_a_setting(app, api: Api) -> None:
    from nous.settings import service as settings

    everything = api.get("settings").get_json()["items"]
    assert {"feedback.rate_limit", "adminapi.rate_limit"} <= {s["key"] for s in everything}
    one = api.get("settings/feedback.rate_limit")
    assert one.get_json()["value"] == "10/minute;100/hour"
    changed = api.put("settings/feedback.rate_limit", json={"value": "20/minute"},
                      headers={"If-Match": one.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["value"] == "20/minute"
    with app.app_context():
        assert settings.get("feedback.rate_limit") == "20/minute"  # applied without a restart
    stale = api.put("settings/feedback.rate_limit", json={"value": "30/minute"},
                    headers={"If-Match": one.headers["ETag"]})
    assert_problem(stale, 412, "If-Match")
    assert_problem(api.put("settings/feedback.rate_limit", json={"value": "lots"}), 422, "value")
    assert_problem(api.put("settings/feedback.rate_limit", json={}), 400, "value")
    assert_problem(api.get("settings/no.such"), 404)
    assert_problem(api.put("settings/no.such", json={"value": 1}), 404)
    history = api.get("settings/history?key=feedback.rate_limit").get_json()["items"]
    assert [(h["before"], h["after"]) for h in history] == [("10/minute;100/hour", "20/minute")]
    assert history[0]["actor"].startswith("token:") and history[0]["at"].endswith("Z")


def test_validate_without_saving(app, api: Api) -> None:
    resp = api.post("settings/validate", json={"values": {"alerts.error_rate": "0.2", "flags.stale_days": 0,
                                                          "no.such": 1}})
    body = resp.get_json()
    assert body["valid"] is False and body["values"] == {"alerts.error_rate": 0.2}
    assert set(body["errors"]) == {"flags.stale_days", "no.such"}
    assert api.get("settings/alerts.error_rate").get_json()["value"] == 0.05  # nothing saved
    assert api.post("settings/validate", json={"values": {"alerts.error_rate": 0.1}}).get_json()["valid"] is True
    assert_problem(api.post("settings/validate", json={"values": []}), 400, "values")


def test_import_is_all_or_nothing_and_export_round_trips(app, api: Api) -> None:
    refused = api.post("settings/import", json={"alerts.error_rate": 0.2, "flags.stale_days": -1})
    assert_problem(refused, 422, "flags.stale_days")
    assert api.get("settings/alerts.error_rate").get_json()["value"] == 0.05
    done = api.post("settings/import", json={"alerts.error_rate": 0.2, "flags.stale_days": 10})
    assert done.get_json()["changed"]["flags.stale_days"] == {"before": 30, "after": 10}
    as_yaml = api.post("settings/import", data="jobs.history_retention_days: 12\n", content_type="application/yaml")
    assert as_yaml.status_code == 200, as_yaml.get_data(as_text=True)
    exported = json.loads(api.get("settings/export").get_data(as_text=True))
    assert exported["alerts.error_rate"] == 0.2 and exported["jobs.history_retention_days"] == 12
    assert yaml.safe_load(api.get("settings/export?format=yaml").get_data(as_text=True))["flags.stale_days"] == 10
    assert_problem(api.post("settings/import", data="{: nope", content_type="application/yaml"), 422)


def test_system_status(app, ctx, api: Api) -> None:
    from nous.settings import service as settings

    names = [i["name"] for i in api.get("system/integrations").get_json()["items"]]
    assert names[:2] == ["Database", "Redis"]
    health = api.get("system/health").get_json()
    assert health["status"] in ("pass", "warn", "fail") and "database:responseTime" in health["checks"]
    assert api.get("system/probes").get_json() == {"items": []}
    settings.set_value("health.probes", [{"name": "model-api", "url": "http://127.0.0.1:9/health"}], actor="test")
    (probe,) = api.get("system/probes").get_json()["items"]
    assert probe["name"] == "model-api" and probe["status"] == "warn" and probe["output"]
    assert api.get("system/probes/model-api").get_json()["name"] == "model-api"
    assert_problem(api.get("system/probes/other"), 404)
    report = api.get("system/database?limit=5").get_json()
    assert report["dialect"] in ("sqlite", "postgresql") and "summary" in report["pool"]


def test_audit_list_filters_pages_and_export(app, api: Api) -> None:
    for i in range(7):
        api.post("testers", json={"email": f"audit{i}@example.com"})
    page = api.get("audit?action=testers.add&limit=3").get_json()
    assert [e["target"] for e in page["items"]] == [f"audit{i}@example.com" for i in (6, 5, 4)]
    seen = [e["id"] for e in page["items"]]
    cursor = page["next_cursor"]
    while cursor:
        page = api.get(f"audit?action=testers.add&limit=3&cursor={cursor}").get_json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 7
    assert api.get("audit?actor=token:&target=audit3").get_json()["items"][0]["action"] == "testers.add"
    assert api.get("audit?since=2999-01-01").get_json()["items"] == []
    assert_problem(api.get("audit?since=soon"), 400, "since")
    text = api.get("audit/export?action=testers.add").get_data(as_text=True)
    assert text.splitlines()[0] == "id,at,actor,action,target,before,after,ip" and len(text.splitlines()) == 8
    lines = api.get("audit/export?format=jsonl&target=audit1").get_data(as_text=True).splitlines()
    assert json.loads(lines[0])["after"]["email"] == "audit1@example.com"
