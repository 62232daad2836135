"""`flask nous …` as a maintainer runs it: real subprocesses sharing the app's database and Redis."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_health_exit_status_follows_the_checks(app) -> None:
    proc = run_cli("nous", "health")
    # no worker runs during this test, so the workers check warns
    assert proc.returncode == 1
    assert "[!] workers:count" in proc.stdout and "[+] database:responseTime" in proc.stdout
    assert run_cli("nous", "health", "--allow-warn").returncode == 0
    doc = json.loads(run_cli("nous", "health", "--json").stdout)
    assert doc["status"] == "warn" and "checks" in doc


def test_unknown_command_and_bad_options_fail_cleanly(app) -> None:
    for args in (["nous", "nope"], ["nous", "worker", "--queues", "urgent"], ["nous", "audit", "--since", "yesterday"]):
        proc = run_cli(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr and ("Error" in proc.stderr or "Usage" in proc.stderr)


def test_every_command_has_help(app) -> None:
    from click import Group

    from nous.cli import nous

    def walk(group: Group, path: list[str]) -> list[list[str]]:
        out = [path]
        for name, cmd in group.commands.items():
            out += walk(cmd, [*path, name]) if isinstance(cmd, Group) else [[*path, name]]
        return out

    paths = walk(nous, ["nous"])
    assert len(paths) > 5
    for path in paths:
        result = app.test_cli_runner().invoke(args=[*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
