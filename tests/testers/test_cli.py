"""`flask nous testers list|add|import|export|invite`."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from tests.conftest import run_cli


def test_add_list_and_audit_with_the_cli_actor(app, runner) -> None:
    result = runner.invoke(args=["nous", "testers", "add", "Ada@Example.com", "--role", "admin", "--notes", "lead"])
    assert result.exit_code == 0, result.output
    assert "added ada@example.com (ADMIN)" in result.output
    dup = runner.invoke(args=["nous", "testers", "add", "ada@example.com"])
    assert dup.exit_code == 1 and "already a tester" in dup.output
    bad = runner.invoke(args=["nous", "testers", "add", "nope"])
    assert bad.exit_code == 1 and "not a valid email address" in bad.output
    listed = runner.invoke(args=["nous", "testers", "list", "--json"])
    assert [u["email"] for u in json.loads(listed.output)] == ["ada@example.com"]
    text = runner.invoke(args=["nous", "testers", "list", "--search", "ada"]).output
    assert "ada@example.com" in text and "1 tester(s)" in text
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "testers.add"))
        assert event.actor.startswith("cli:")
        assert testers.get_by_email("ada@example.com").source == "cli"


def test_import_prints_a_line_per_row_and_export_is_safe(app, runner, tmp_path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email,notes\nada@example.com,=cmd|' /C calc'!A0\nbad,\nbruno@example.org,\n")
    result = runner.invoke(args=["nous", "testers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "line     3  skipped  bad  (not a valid email address)" in result.output
    assert "2 added, 1 skipped" in result.output
    out = tmp_path / "out.csv"
    assert runner.invoke(args=["nous", "testers", "export", "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["email"] == "ada@example.com" and rows[0]["notes"].startswith("'=")
    as_json = runner.invoke(args=["nous", "testers", "export", "--format", "json"]).output
    assert {u["email"] for u in json.loads(as_json)} == {"ada@example.com", "bruno@example.org"}


def test_import_of_an_unreadable_list_fails_clearly(app, runner, tmp_path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("\n".join(f"u{i}@example.com" for i in range(testers.MAX_IMPORT_ROWS + 1)))
    result = runner.invoke(args=["nous", "testers", "import", str(path)])
    assert result.exit_code == 1 and "nothing imported" in result.output
    missing = runner.invoke(args=["nous", "testers", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2


def test_invite_unknown_tester_fails_clearly(app, runner) -> None:
    result = runner.invoke(args=["nous", "testers", "invite", "nobody@example.com"])
    assert result.exit_code == 1 and "no such tester" in result.output


def test_import_from_stdin_in_a_real_flask_process(app) -> None:
    proc = run_cli("nous", "testers", "import", "-", "--json", env={"LOG_LEVEL": "ERROR"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"added": 0, "skipped": 0, "rows": []}
    proc = run_cli("nous", "testers", "--help")
    assert proc.returncode == 0 and "import" in proc.stdout and "export" in proc.stdout
