"""The settings commands: get, set, history, import and export from a shell."""

from __future__ import annotations

import json
import re

from tests.conftest import run_cli


def test_cli_get_set_history_and_errors(ctx) -> None:
    ok = run_cli("nous", "settings", "set", "alerts.disk_percent", "85")
    assert ok.returncode == 0 and "alerts.disk_percent = 85.0" in ok.stdout
    got = run_cli("nous", "settings", "get", "alerts.disk_percent")
    assert got.stdout.strip() == "alerts.disk_percent = 85.0"
    hist = run_cli("nous", "settings", "history", "alerts.disk_percent")
    assert re.search(r"alerts.disk_percent: 90(\.0)? -> 85(\.0)?", hist.stdout) and "cli:" in hist.stdout
    bad = run_cli("nous", "settings", "set", "alerts.disk_percent", "x")
    assert bad.returncode == 1 and "expected a number" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run_cli("nous", "settings", "get", "nope")
    assert unknown.returncode == 1 and "no such setting" in unknown.stderr


def test_cli_import_export(ctx, tmp_path) -> None:
    path = tmp_path / "s.json"
    assert run_cli("nous", "settings", "export", "--format", "json", "-o", str(path)).returncode == 0
    data = json.loads(path.read_text())
    data["alerts.memory_percent"] = 77
    path.write_text(json.dumps(data))
    imported = run_cli("nous", "settings", "import", str(path))
    assert imported.returncode == 0 and "alerts.memory_percent: 95.0 -> 77.0" in imported.stdout
    path.write_text(json.dumps({"alerts.memory_percent": "many"}))
    refused = run_cli("nous", "settings", "import", str(path))
    assert refused.returncode == 1 and "nothing imported" in refused.stderr


def test_cli_import_of_a_file_that_is_not_text(ctx, tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    refused = run_cli("nous", "settings", "import", str(path))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "nothing imported" in refused.stderr and "not UTF-8 text" in refused.stderr
    path.write_bytes(b"\xef\xbb\xbfalerts.memory_percent: 70\n")  # a byte order mark, as some editors write
    assert run_cli("nous", "settings", "import", str(path)).returncode == 0


def test_cli_get_and_export_with_the_database_away_say_so_instead_of_showing_defaults(ctx) -> None:
    from tests.conftest import free_port

    down = {"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"}  # nothing listens
    for args in (["get", "alerts.cpu_percent"], ["get"], ["export"], ["export", "--format", "json"]):
        got = run_cli("nous", "settings", *args, env=down)
        assert got.returncode == 1 and got.stdout == "", got.stdout
        assert "Error: the database (DATABASE_URL) is unreachable" in got.stderr and "Traceback" not in got.stderr
