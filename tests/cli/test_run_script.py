"""`scripts/run` as a maintainer starts it (its set-up step left out: the test run's .venv is ready)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from tests.conftest import ROOT, free_port

STUB_VENV = f"""set -euo pipefail
ROOT={ROOT}
cd "$ROOT"
ensure_requirements() {{ :; }}
export PATH="$ROOT/.venv/bin:$PATH"
"""


def start_script(tmp_path: Path, **env: str) -> subprocess.Popen:
    """scripts/run in a process group of its own, with SIGINT as a terminal delivers it (not ignored);
    its output goes to tmp_path/out and tmp_path/err."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(ROOT / "scripts" / "run", scripts / "run")
    (scripts / "_venv.sh").write_text(STUB_VENV)
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        return subprocess.Popen(["bash", str(scripts / "run")], env={**os.environ, "PORT": str(free_port()), **env},
                                stdout=out, stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s")


def workers(script: psutil.Process) -> list[psutil.Process]:
    out = []
    for child in script.children():
        try:
            if "worker" in child.cmdline():
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def test_an_unreachable_database_stops_it_with_one_line_before_anything_starts(app, tmp_path) -> None:
    run = start_script(tmp_path, DATABASE_URL=f"postgresql+psycopg://nous@127.0.0.1:{free_port()}/nous")
    assert run.wait(timeout=120) == 1
    err = (tmp_path / "err").read_text().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: the database (DATABASE_URL) is unreachable: "), err
    assert "applying migrations" not in (tmp_path / "out").read_text()


def test_a_dead_worker_is_started_again_and_ctrl_c_stops_everything(app, tmp_path) -> None:
    run = start_script(tmp_path)
    script = psutil.Process(run.pid)
    try:
        first = wait_for(lambda: workers(script), 120, "worker")[0]
        wait_for(lambda: any("gunicorn" in " ".join(c.cmdline()) for c in script.children()), 60, "web process")
        started = script.children(recursive=True)
        first.kill()
        second = wait_for(lambda: [w for w in workers(script) if w.pid != first.pid], 60, "new worker")[0]
        assert second.is_running() and run.poll() is None  # the web process kept running meanwhile
        started += script.children(recursive=True)
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group gets SIGINT
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
    assert run.returncode == 130
    assert "==> stopped" in (tmp_path / "out").read_text()
    assert "the worker exited" in (tmp_path / "err").read_text()
    assert not [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
