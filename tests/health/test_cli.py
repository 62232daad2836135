"""`flask nous health` and `flask nous ready` as a maintainer and `scripts/run` use them."""

from __future__ import annotations

import json

from tests.conftest import free_port as _refused_port  # nothing listens there: connections are refused at once
from tests.conftest import run_cli


def test_health_exit_status_follows_the_checks(app) -> None:
    proc = run_cli("nous", "health")
    # no worker runs during this test, so the workers check warns
    assert proc.returncode == 1
    assert "[!] workers:count" in proc.stdout and "[+] database:responseTime" in proc.stdout
    assert run_cli("nous", "health", "--allow-warn").returncode == 0
    doc = json.loads(run_cli("nous", "health", "--json").stdout)
    assert doc["status"] == "warn" and "checks" in doc


def test_ready_says_which_part_does_not_answer(app) -> None:
    assert run_cli("nous", "ready").returncode == 0
    proc = run_cli("nous", "ready", env={"REDIS_URL": f"redis://127.0.0.1:{_refused_port()}/0",
                                         "DATABASE_URL": f"postgresql+psycopg://nous@127.0.0.1:{_refused_port()}/x"})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert [line.split(" is unreachable: ")[0] for line in lines] == [
        "Error: the database (DATABASE_URL)", "Error: Redis (REDIS_URL)"]
