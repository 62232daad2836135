"""Shared by the job, email and workflow tests: real worker subprocesses (started, stopped, killed),
waiting, an in-process worker; a job's history row, fresh, and history rows written in bulk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from nous.clock import utcnow
from nous.extensions import db
from nous.jobs import service
from nous.jobs.models import JobRun, JobSchedule
from nous.jobs.worker import make_worker

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 20, every: float = 0.1, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; its value. Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# Worker options for crash tests: heartbeats every second with a 2 s grace (production: 5 s and
# 15 s) keep them short; the mechanism is the same: RQ's started-job registry expires the dead
# worker's job and the job layer retries it.
FAST_ABANDON = ("--job-monitoring-interval", "1", "--heartbeat-grace", "2")


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie waiting for its dead parent counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill_hard(self, *work_horses: int) -> None:
        """SIGKILL the worker's whole process group (the worker and its scheduler), like a lost machine,
        with no clean-up of any kind; then fail the test unless each of `work_horses` (pids of jobs
        in flight) died with its worker within 5 s, so none can finish behind the test's back."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        for pid in work_horses:
            wait_for(lambda pid=pid: not alive(pid), timeout=5, what=f"the work-horse {pid} to die with its worker")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def start_worker(app, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `python -m flask nous worker` (environment of the test run, plus `env`)."""
    workers: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        log = tmp_path / f"worker-{len(workers)}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "nous", "worker", *args], cwd=ROOT,
                env={**os.environ, **(env or {})}, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            )
        w = WorkerProcess(proc, log)
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


def run_jobs_here(burst: bool = True) -> None:
    """Run every queued job in this process (RQ SimpleWorker with the history), then return."""
    worker = make_worker(["high", "default", "low"], simple=True)
    worker.work(burst=burst, with_scheduler=False, logging_level="ERROR")


def run_row(job_id: str) -> JobRun:
    db.session.remove()
    return service.get_run(job_id)


def store_oversized_schedule(name: str) -> None:
    """A schedule row as one stored before arguments were checked: tests.echo with 20 000 characters of them,
    past the 10 000 a job may carry."""
    now = utcnow()
    db.session.add(JobSchedule(name=name, task="tests.echo", cron="0 * * * *", args={"args": ["x" * 20_000],
                               "kwargs": {}}, enabled=True, source="code", next_run_at=now + timedelta(hours=1),
                               created_at=now, updated_at=now))
    db.session.commit()


def bulk_runs(n: int, status: str = "failed", task: str = "tests.echo", start: datetime | None = None) -> None:
    start = start or utcnow() - timedelta(days=1)
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=i)
        rows.append({
            "job_id": f"{status[:4]}{task[-4:]}{i:06d}", "task": task, "queue": "default", "priority": 5,
            "args": {"args": [i], "kwargs": {}}, "args_summary": str(i), "status": status, "attempts": 1,
            "max_attempts": 1, "actor": "system", "enqueued_at": at, "started_at": at, "ended_at": at,
            "duration_ms": float(i % 10), "worker": "w", "error": f"Boom {i}" if status == "failed" else "",
            "traceback": "", "result_summary": "", "progress_message": "", "updated_at": at,
        })
    db.session.execute(insert(JobRun), rows)
    db.session.commit()
