"""`flask nous …` as a maintainer runs it: real subprocesses sharing the app's database and Redis."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


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


def _refused_port() -> int:
    from tests.conftest import free_port

    return free_port()  # nothing listens there: connections are refused at once


@pytest.mark.parametrize("args", [("testers", "list"), ("jobs", "list"), ("audit",), ("logout-all",)])
def test_an_unreachable_database_is_one_line_and_a_failure(app, args) -> None:
    proc = run_cli("nous", *args, env={"DATABASE_URL": f"postgresql+psycopg://nous@127.0.0.1:{_refused_port()}/nous"})
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: the database (DATABASE_URL) is unreachable: ") and "refused" in lines[0]


def test_migrations_on_an_unreachable_database_are_one_line_too(app) -> None:
    proc = run_cli("db", "upgrade", env={"DATABASE_URL": f"postgresql+psycopg://nous@127.0.0.1:{_refused_port()}/x"})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the database (DATABASE_URL) is unreachable: "), lines


def test_migrations_still_run(app, tmp_path) -> None:
    proc = run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})
    assert proc.returncode == 0, proc.stderr
    current = run_cli("db", "current", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})
    assert "(head)" in current.stdout


def test_a_database_without_tables_says_to_migrate(app, tmp_path) -> None:
    proc = run_cli("nous", "testers", "list", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "Error: the database (DATABASE_URL) has no tables yet, run `flask db upgrade`: no such table: beta_users"]


@pytest.mark.parametrize("args", [("worker", "--burst"), ("jobs", "stats")])
def test_an_unreachable_redis_is_one_line_and_a_failure(app, args) -> None:
    proc = run_cli("nous", *args, env={"REDIS_URL": f"redis://127.0.0.1:{_refused_port()}/0"}, timeout=120)
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: Redis (REDIS_URL) is unreachable: "), lines
