"""`flask nous audit`: the log in a shell, filtered, as text or JSON lines."""

from __future__ import annotations

import json

from nous.audit import service as audit
from tests.conftest import run_cli


def test_the_command_lists_filtered_events_newest_first(ctx) -> None:
    audit.record("ada@example.com", "flags.create", "checkout")
    audit.record("bob@example.com", "testers.add", "carol@example.com")
    audit.record("ada@example.com", "flags.update", "checkout")
    text = run_cli("nous", "audit", "--actor", "ada")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 2 and "flags.update" in lines[0] and "flags.create" in lines[1]
    as_json = run_cli("nous", "audit", "--action", "testers.", "--json")
    [line] = as_json.stdout.splitlines()
    assert json.loads(line) | {"id": 0, "at": ""} == {"id": 0, "at": "", "actor": "bob@example.com",
                                                     "action": "testers.add", "target": "carol@example.com",
                                                     "before": None, "after": None, "ip": ""}
    assert run_cli("nous", "audit", "--since", "2999-01-01").stdout == ""


def test_since_is_read_as_the_web_reads_a_date(runner, ctx) -> None:
    """One reader for dates (nous.inputs.parse_datetime): a lower-case `z` is UTC, a year outside 1970–9000
    is a usage error naming the option, as a web form or the API refuses it."""
    audit.record("ada@example.com", "flags.create", "checkout")
    assert "flags.create" in runner.invoke(args=["nous", "audit", "--since", "2020-01-01T00:00:00z"]).output
    for far in ("0001-01-01", "9999-12-31"):
        result = runner.invoke(args=["nous", "audit", "--since", far])
        assert result.exit_code == 2 and "--since" in result.output and "1970" in result.output, result.output
