"""`flask nous flags …`: output, exit codes, audit actor. The command's first test runs each step in a real
subprocess, as a maintainer would; the rest call the same commands in process (`cli`), which answers alike
at a fraction of the time (no interpreter and app started per command)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from nous.audit import service as audit
from nous.flags import service
from tests.conftest import run_cli


@pytest.fixture
def cli(runner):
    """`flask …` in this process, answering like run_cli (returncode, stdout, stderr)."""

    def run(*args: str) -> SimpleNamespace:
        result = runner.invoke(args=list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)

    return run


def test_create_enable_rollout_show_list_history_restore(ctx) -> None:
    created = run_cli("nous", "flags", "create", "cli.flag", "--type", "experiment", "--description", "from a shell")
    assert created.returncode == 0 and "created cli.flag (off)" in created.stdout
    assert "cli.flag is on in production (version 2)" in run_cli("nous", "flags", "enable", "cli.flag").stdout
    rolled = run_cli("nous", "flags", "rollout", "cli.flag", "25")
    assert rolled.returncode == 0 and "25 %" in rolled.stdout
    shown = json.loads(run_cli("nous", "flags", "show", "cli.flag", "--json").stdout)
    assert shown["strategies"][0]["parameters"]["rollout"] == "25" and shown["version"] == 3
    listed = run_cli("nous", "flags", "list")
    assert "cli.flag" in listed.stdout and "experiment" in listed.stdout and "25 %" in listed.stdout
    history = run_cli("nous", "flags", "history", "cli.flag")
    assert "v3" in history.stdout and "rollout" in history.stdout
    assert "strategies[0]:" in history.stdout and "enabled: false -> true" in history.stdout
    restored = run_cli("nous", "flags", "restore", "cli.flag", "1")
    assert restored.returncode == 0 and "restored version 1 as version 4" in restored.stdout
    flag = service.get_flag("cli.flag")
    assert flag.enabled is False and flag.strategies == []
    actors = {e.actor for e in audit.query(action="flags.")}
    assert len(actors) == 1 and actors.pop().startswith("cli:")


def test_every_command_names_its_environment(ctx, cli, make_flag, tmp_path) -> None:
    make_flag("per.env")
    on = cli("nous", "flags", "enable", "per.env", "--environment", "staging")
    assert on.returncode == 0 and "per.env is on in staging" in on.stdout
    assert cli("nous", "flags", "rollout", "per.env", "15", "-e", "staging").returncode == 0
    assert service.get_flag("per.env", environment="staging").enabled is True
    assert service.get_flag("per.env").enabled is False and service.get_flag("per.env").strategies == []
    shown = json.loads(cli("nous", "flags", "show", "per.env", "-e", "staging", "--json").stdout)
    assert shown["environment"] == "staging" and shown["strategies"][0]["parameters"]["rollout"] == "15"
    assert "staging" in cli("nous", "flags", "history", "per.env").stdout
    path = tmp_path / "staging.json"
    assert cli("nous", "flags", "export", "-e", "staging", "-o", str(path)).returncode == 0
    assert json.loads(path.read_text())["environment"] == "staging"
    imported = cli("nous", "flags", "import", str(path), "-e", "development")
    assert imported.returncode == 0 and service.get_flag("per.env", environment="development").enabled is True
    token = cli("nous", "flags", "tokens", "create", "dev-app", "-e", "development")
    assert token.stdout.strip().startswith("default:development.")
    unknown = cli("nous", "flags", "enable", "per.env", "-e", "qa")
    assert unknown.returncode == 1
    assert "environment: unknown environment; one of development, staging, production" in unknown.stderr


def test_refusals_exit_1_with_the_reason(ctx, make_flag) -> None:
    make_flag("x")
    missing = run_cli("nous", "flags", "enable", "nope")
    assert missing.returncode == 1 and "no flag named 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    bad = run_cli("nous", "flags", "rollout", "x", "250")
    assert bad.returncode == 1 and "rollout: a whole number from 0 to 100" in bad.stderr
    usage = run_cli("nous", "flags", "restore", "x", "zero")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_export_import_files(ctx, cli, make_flag, tmp_path) -> None:
    make_flag("one", enabled=True)
    path = tmp_path / "flags.json"
    assert cli("nous", "flags", "export", "-o", str(path)).returncode == 0
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["features"][0]["name"] == "one"
    doc["features"].append({"name": "two", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "10"}}]})
    path.write_text(json.dumps(doc))
    one_environment = cli("nous", "flags", "import", str(path), "--mode", "replace")
    assert one_environment.returncode == 1 and "mode" in one_environment.stderr  # replace needs every environment
    imported = cli("nous", "flags", "import", str(path))  # merge
    assert imported.returncode == 0 and "1 created" in imported.stdout and "created: two" in imported.stdout
    doc["features"][1]["strategies"][0]["parameters"]["rollout"] = "ten"
    path.write_text(json.dumps(doc))
    refused = cli("nous", "flags", "import", str(path))
    assert refused.returncode == 1 and "Nothing imported" in refused.stderr
    assert 'features[1] "two".strategies[0].parameters.rollout' in refused.stderr
    assert service.get_flag("two").strategies[0]["parameters"]["rollout"] == "10"


def test_tokens_create_list_revoke(ctx, cli) -> None:
    created = cli("nous", "flags", "tokens", "create", "ops")
    raw = created.stdout.strip()
    assert created.returncode == 0 and raw.startswith("default:production.") and "not shown again" in created.stderr
    token_id = service.list_tokens()[0]["id"]
    assert cli("nous", "flags", "tokens", "revoke", str(token_id)).returncode == 0
    listed = cli("nous", "flags", "tokens", "list")
    assert "ops" in listed.stdout and raw not in listed.stdout and "revoked" in listed.stdout


def test_override_forces_a_flag_for_one_tester_and_clears_it(ctx, cli, make_flag) -> None:
    from nous.testers import service as testers

    make_flag("voice", enabled=True, strategies=[{"name": "flexibleRollout", "parameters": {"rollout": "0"}}])
    user = testers.add("cy@example.com", actor="t")
    forced = cli("nous", "flags", "override", "voice", "CY@example.com", "on")
    assert forced.returncode == 0 and "voice forced on for cy@example.com" in forced.stdout
    assert service.flag_overrides(str(user.id)) == {"voice": True}
    assert "override: cy@example.com forced on" in cli("nous", "flags", "show", "voice").stdout
    by_id = cli("nous", "flags", "override", "voice", str(user.id), "clear")
    assert by_id.returncode == 0 and "cleared" in by_id.stdout
    assert service.flag_overrides(str(user.id)) == {}
    assert audit.query(action="testers.flag_override")[0].actor.startswith("cli:")
    unknown_flag = cli("nous", "flags", "override", "nope", "cy@example.com", "off")
    assert unknown_flag.returncode == 1 and "no active flag named nope" in unknown_flag.stderr
    unknown_tester = cli("nous", "flags", "override", "voice", "who@example.com", "on")
    assert unknown_tester.returncode == 1 and "no such tester" in unknown_tester.stderr
    bad_value = cli("nous", "flags", "override", "voice", "cy@example.com", "maybe")
    assert bad_value.returncode == 2 and "Traceback" not in bad_value.stderr
