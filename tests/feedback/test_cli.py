"""`flask nous feedback export` (`flask nous seed-demo`: tests/test_demo.py)."""

from __future__ import annotations

import csv
import io
import json

from nous.feedback import service as feedback
from tests.conftest import run_cli
from tests.feedback.helpers import GOOD


def _submit(app, **fields) -> int:
    with app.app_context():
        return feedback.submit({**GOOD, **fields}).id


def test_export_csv_with_filters_is_formula_safe(app, runner, tmp_path) -> None:
    _submit(app, rating=1, message="=1+2 broken", category="bug")
    _submit(app, rating=5, message="lovely")
    out = tmp_path / "fb.csv"
    result = runner.invoke(args=["nous", "feedback", "export", "--rating", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 feedback exported" in result.output
    [row] = list(csv.DictReader(io.StringIO(out.read_text())))
    assert (row["rating"], row["category"], row["message"]) == ("1", "bug", "'=1+2 broken")


def test_export_json_lines_and_bad_options(app, runner) -> None:
    _submit(app, message="one")
    _submit(app, message="two")
    result = runner.invoke(args=["nous", "feedback", "export", "--format", "json", "--search", "tw"])
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [d["message"] for d in lines] == ["two"]
    bad = runner.invoke(args=["nous", "feedback", "export", "--rating", "9"])
    assert bad.exit_code == 2 and "9" in bad.output
    bad_date = runner.invoke(args=["nous", "feedback", "export", "--since", "yesterday"])
    assert bad_date.exit_code == 2


def test_commands_have_help_in_a_real_process() -> None:
    proc = run_cli("nous", "feedback", "export", "--help")
    assert proc.returncode == 0 and "--status" in proc.stdout and "--since" in proc.stdout
