"""`flask nous flags export|import` with environments: every environment in Unleash's full export, one
named environment, and an unknown one stopping the command with exit status 1 and the reason."""

from __future__ import annotations

import json

from nous.flags import service

ENVS = ("development", "staging", "production")


def _states(key: str) -> list[bool]:
    return [service.get_flag(key, environment=e).enabled for e in ENVS]


def test_export_and_import_every_environment_or_one(ctx, runner, make_flag, tmp_path) -> None:
    make_flag("cli.flag")
    service.set_enabled("cli.flag", True, actor="test", environment="staging")
    path = tmp_path / "all.json"
    exported = runner.invoke(args=["nous", "flags", "export", "--all-environments", "-o", str(path)])
    assert exported.exit_code == 0, exported.output
    doc = json.loads(path.read_text())
    assert doc["version"] == 4 and {(s["environment"], s["enabled"]) for s in doc["featureEnvironments"]} == {
        ("development", False), ("staging", True), ("production", False)}
    star = runner.invoke(args=["nous", "flags", "export", "-e", "*"])
    assert star.exit_code == 0 and json.loads(star.stdout) == doc
    for switch in doc["featureEnvironments"]:
        switch["enabled"] = switch["environment"] == "production"
    path.write_text(json.dumps(doc))
    imported = runner.invoke(args=["nous", "flags", "import", str(path)])
    assert imported.exit_code == 0 and "into development, staging, production: 0 created, 1 updated" in imported.stdout
    assert _states("cli.flag") == [False, False, True]
    # one environment's part of the full export
    doc["featureEnvironments"] = [{**s, "enabled": True} for s in doc["featureEnvironments"]]
    path.write_text(json.dumps(doc))
    one = runner.invoke(args=["nous", "flags", "import", str(path), "-e", "development"])
    assert one.exit_code == 0 and "into development:" in one.stdout and _states("cli.flag") == [True, False, True]


def test_an_unknown_environment_exits_1_naming_it(ctx, runner, make_flag, tmp_path) -> None:
    make_flag("cli.flag")
    bad_export = runner.invoke(args=["nous", "flags", "export", "-e", "qa"])
    assert bad_export.exit_code == 1
    assert "There is no environment 'qa'; there are development, staging, production" in bad_export.output
    both = runner.invoke(args=["nous", "flags", "export", "-e", "staging", "--all-environments"])
    assert both.exit_code == 2 and "not both" in both.output
    path = tmp_path / "all.json"
    doc = service.export_document(environment=None)
    path.write_text(json.dumps(doc))
    bad_import = runner.invoke(args=["nous", "flags", "import", str(path), "--environment", "qa"])
    assert bad_import.exit_code == 1 and "There is no environment 'qa'" in bad_import.output
    # switches that differ from the database's, so that a partly applied import would show
    doc["featureEnvironments"] = [{**s, "enabled": True} for s in doc["featureEnvironments"]]
    doc["featureEnvironments"].append({"featureName": "cli.flag", "environment": "qa", "enabled": True})
    path.write_text(json.dumps(doc))
    refused = runner.invoke(args=["nous", "flags", "import", str(path)])
    assert refused.exit_code == 1 and "environments: unknown here: qa" in refused.output
    assert _states("cli.flag") == [False, False, False]
    token = runner.invoke(args=["nous", "flags", "tokens", "create", "qa-app", "-e", "qa"])
    assert token.exit_code == 1 and "There is no environment 'qa'" in token.output and service.list_tokens() == []
