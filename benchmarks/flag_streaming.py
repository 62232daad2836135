"""Flag streams (`GET /api/client/streaming`): how fast a change reaches every open stream, and what an
open stream costs while nothing changes.

Under gunicorn (2 gthread workers), `--streams` SDK-like clients hold a stream each (spread over both
workers by the kernel). The benchmark process then switches a flag `--changes` times through the flag
service — another process, as the CLI or a console on another instance would — and each client notes
when the `unleash-updated` event carrying that state arrives. Printed: the delay from the commit to
each stream (median, p95, max over every stream and change), then the workers' CPU per open stream per
second while idle and their memory. Target: every change on every stream within 1 s (p95 < 1 s; max
printed), idle cost small enough that a stream costs less than a live-dashboard socket (< 1 ms CPU per
stream per second).

    .venv/bin/python benchmarks/flag_streaming.py [--streams 40] [--changes 10]

Runs on its own SQLite file and embedded Redis in a temporary folder. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Gunicorn, median
from flags import setup_environment

KEY = "bench.streamed"
TARGET_P95_S = 1.0
TARGET_IDLE_MS = 1.0


class Listener(threading.Thread):
    """One SDK-like client: reads the stream and notes when each state of KEY arrives."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.seen: list[tuple[float, bool]] = []  # (monotonic time, enabled) per event naming KEY
        self.connected = threading.Event()
        self.response: requests.Response | None = None

    def run(self) -> None:
        self.response = requests.get(self.url, headers={"Authorization": self.token, "Accept": "text/event-stream"},
                                     stream=True, timeout=(5, 120))
        if self.response.status_code != 200:
            self.connected.set()
            return
        try:
            for raw in self.response.iter_lines(chunk_size=1):
                if not raw.startswith(b"data: "):
                    continue
                self.connected.set()
                for event in json.loads(raw[6:])["events"]:
                    for feature in event.get("features") or [event.get("feature") or {}]:
                        if feature.get("name") == KEY:
                            self.seen.append((time.monotonic(), bool(feature.get("enabled"))))
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed at the end of the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="nous-bench-streaming-"))
    redis_proc = setup_environment(folder)
    server = None
    listeners: list[Listener] = []
    try:
        from flask_migrate import upgrade

        from nous import create_app
        from nous.flags import service
        from nous.settings import service as settings

        app = create_app()
        with app.app_context():
            upgrade(revision="heads")
            service.create_flag({"key": KEY, "enabled": False}, actor="benchmark")
            for i in range(19):
                service.create_flag({"key": f"bench.other-{i}", "enabled": bool(i % 2)}, actor="benchmark")
            settings.set_value("api.rate_limit", "100000000/minute", actor="benchmark")
            _row, token = service.create_token("benchmark", actor="benchmark")

        threads = args.streams + 8  # the kernel may hand most streams to one worker
        server = Gunicorn("wsgi:app", env={"GUNICORN_THREADS": str(threads)})
        url = f"{server.url}/api/client/streaming"
        listeners = [Listener(url, token) for _ in range(args.streams)]
        for one in listeners:
            one.start()
        for one in listeners:
            if not one.connected.wait(20) or one.response is None or one.response.status_code != 200:
                status = one.response.status_code if one.response is not None else "no answer"
                raise SystemExit(f"a stream did not open: {status}")
        workers = psutil.Process(server.proc.pid).children()
        time.sleep(1)

        cpu_before = sum(sum(w.cpu_times()[:2]) for w in workers)
        time.sleep(args.idle)
        idle_ms = (sum(sum(w.cpu_times()[:2]) for w in workers) - cpu_before) * 1000 / args.idle / args.streams
        rss = sum(w.memory_info().rss for w in workers) / 2**20

        delays: list[float] = []
        missed = 0
        state = False
        for _ in range(args.changes):
            state = not state
            with app.app_context():
                service.set_enabled(KEY, state, actor="benchmark")
            changed_at = time.monotonic()
            deadline = changed_at + 5
            waiting = list(listeners)
            while waiting and time.monotonic() < deadline:
                time.sleep(0.01)
                still = []
                for one in waiting:
                    arrived = [t for t, on in one.seen if on is state and t >= changed_at]
                    if arrived:
                        delays.append(arrived[0] - changed_at)
                    else:
                        still.append(one)
                waiting = still
            missed += len(waiting)
            time.sleep(0.3)

        delays.sort()
        p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("inf")
        print(f"python {sys.version.split()[0]}; gunicorn 2 gthread workers x {threads} threads; "
              f"{args.streams} open streams; {args.changes} changes made from another process")
        print(f"  change to every stream   median {median(delays) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
              f"max {delays[-1] * 1000 if delays else float('inf'):7.1f} ms   missed {missed}")
        print(f"  idle, per open stream    {idle_ms:.3f} ms CPU per second (over {args.idle:.0f} s)")
        print(f"  workers' memory          {rss:.0f} MB in all ({args.streams} streams open)")
        ok = missed == 0 and p95 < TARGET_P95_S and idle_ms < TARGET_IDLE_MS
        print(f"targets: every change on every stream, p95 < {TARGET_P95_S:.0f} s, idle < {TARGET_IDLE_MS} ms CPU "
              f"per stream per second: {'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        for one in listeners:
            if one.response is not None:
                one.response.close()
        if server is not None:
            server.stop()
        if redis_proc is not None:
            redis_proc.terminate()  # type: ignore[attr-defined]
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
