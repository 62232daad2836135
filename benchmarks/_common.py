"""Helpers shared by the benchmark scripts: servers under gunicorn, wrk runs, medians."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py serving `app_spec` on a spare port."""

    def __init__(self, app_spec: str, env: dict[str, str] | None = None, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "WARNING", "DRAIN_SECONDS": "0",
                    **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}", app_spec],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{app_spec} did not start")
            time.sleep(0.2)

    def worker_rss_mb(self) -> float:
        children = psutil.Process(self.proc.pid).children()
        return max(c.memory_info().rss for c in children) / 2**20 if children else 0.0

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def wrk(url: str, seconds: int = 8, connections: int = 32, threads: int = 2,
        script: str | None = None, server: Gunicorn | None = None) -> dict[str, float]:
    """wrk's rate, p50, p99, requests and non-2xx/3xx answers; with `server`, also `cpu_ms`: the CPU time (user +
    system) its workers spent meanwhile per request, which the load tool sharing the cores does not change."""
    workers = psutil.Process(server.proc.pid).children() if server else []

    def cpu() -> float:
        return sum(sum(w.cpu_times()[:2]) for w in workers)

    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    before = cpu()
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    spent = cpu() - before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    requests_ = int(total.group(1)) if total else 0
    return {"rps": rate, "p50_ms": pct("50"), "p99_ms": pct("99"), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "requests": requests_, "cpu_ms": spent * 1000 / max(requests_, 1)}


def median(values: list[float]) -> float:
    return statistics.median(values)
