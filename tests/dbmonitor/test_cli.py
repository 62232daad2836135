"""`flask nous db report`: the report in a shell."""

from __future__ import annotations

from tests.conftest import run_cli


def test_db_report_cli_prints_the_report(ctx) -> None:
    proc = run_cli("nous", "db", "report")
    assert proc.returncode == 0, proc.stderr
    assert "slow-query threshold: 100 ms" in proc.stdout and "index suggestions" in proc.stdout
    bad = run_cli("nous", "db", "report", "--limit", "0")
    assert bad.returncode == 2 and "Invalid value" in bad.stderr and "Traceback" not in bad.stderr
