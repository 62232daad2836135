"""How many concurrent live viewers (`/ws/live` sockets) one web process holds, measured.

One gunicorn web process (the project's gunicorn.conf.py: gthread, one worker) per step. Each step opens as
many admin sockets as the process allows (GUNICORN_THREADS minus the threads kept for HTTP), checks that
one more is refused with 503, publishes events from this process through Redis, and checks that every
viewer gets every event within the latency bound while /healthz still answers. The thread count grows
until a step fails or --max-threads is reached.

Usage: .venv/bin/python benchmarks/live_viewers.py [--threads 16,64,128,256,512] [--events 20] [--bound-ms 1000]
Uses a throwaway instance (SQLite + embedded Redis) unless DATABASE_URL / REDIS_URL are set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as HandshakeRefused

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import Gunicorn

ADMIN = "bench@nous.test"
KEPT_FOR_HTTP = 4  # nous.live.routes.THREADS_KEPT_FOR_HTTP


class Viewer(Client):
    """A socket like the browser's: answers pings, records when each benchmark event arrived."""

    def handshake(self) -> None:
        self.host = f"{self.host}:{self.port}"  # simple_websocket leaves the port out of Host
        super().handshake()

    def start_reading(self, step: str) -> None:
        self.step = step
        self.latencies: dict[int, float] = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while True:
                raw = self.receive(timeout=None)
                if raw is None:
                    return
                now = time.time()
                msg = json.loads(raw)
                if msg["type"] == "ping":
                    self.send('{"type":"pong"}')
                elif msg["type"] == "event" and msg["data"].get("bench") == self.step:
                    self.latencies[msg["data"]["seq"]] = (now - msg["data"]["sent"]) * 1000
        except (ConnectionClosed, OSError):
            return


def sign_in(app, base: str) -> str:
    from nous.admin.service import create_login_link

    with app.app_context():
        token = create_login_link(ADMIN, "benchmark")
    http = requests.Session()
    page = http.get(f"{base}/admin/login/link/{token}", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    http.post(f"{base}/admin/login/link/{token}", data={"csrf_token": csrf}, timeout=10, allow_redirects=False)
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def open_viewer(base: str, cookie: str) -> Viewer:
    url = base.replace("http://", "ws://") + "/ws/live?topics=jobs"
    return Viewer.connect(url, headers={"Origin": base, "Cookie": cookie})


def healthz_ms(base: str, n: int = 20) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def step(app, threads: int, n_events: int, interval: float, bound_ms: float) -> dict[str, object]:
    from nous.live import publish

    capacity = threads - KEPT_FOR_HTTP
    web = Gunicorn("wsgi:app", env={"GUNICORN_THREADS": str(threads)}, workers=1)
    viewers: list[Viewer] = []
    try:
        cookie = sign_in(app, web.url)
        idle_rss = web.worker_rss_mb()
        with ThreadPoolExecutor(32) as pool:
            viewers = list(pool.map(lambda _: open_viewer(web.url, cookie), range(capacity)))
        refused = False
        try:
            open_viewer(web.url, cookie).close()
        except HandshakeRefused as exc:
            refused = exc.status_code == 503
        name = f"t{threads}-{time.time()}"
        for v in viewers:
            v.start_reading(name)
        time.sleep(0.5)
        health_before = healthz_ms(web.url)
        with app.app_context():
            for seq in range(n_events):
                publish("jobs", {"bench": name, "seq": seq, "sent": time.time()})
                time.sleep(interval)
        health_during = healthz_ms(web.url)
        deadline = time.monotonic() + max(5.0, bound_ms / 1000 * 3)
        while time.monotonic() < deadline and any(len(v.latencies) < n_events for v in viewers):
            time.sleep(0.1)
        rss = web.worker_rss_mb()
    finally:
        for v in viewers:
            try:
                v.close()
            except (ConnectionClosed, OSError):
                pass
        web.stop()
    latencies = sorted(ms for v in viewers for ms in v.latencies.values())
    delivered = len(latencies) / (capacity * n_events)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("inf")
    return {
        "threads": threads, "viewers": capacity, "refused_beyond": refused, "delivered": delivered,
        "p50_ms": statistics.median(latencies) if latencies else float("inf"), "p95_ms": p95,
        "max_ms": latencies[-1] if latencies else float("inf"), "healthz_ms": health_before,
        "healthz_during_ms": health_during, "rss_idle_mb": idle_rss, "rss_mb": rss,
        "ok": delivered == 1.0 and p95 <= bound_ms and refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="16,64,128,256,512", help="GUNICORN_THREADS per step, ascending")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between published events")
    parser.add_argument("--bound-ms", type=float, default=1000.0, help="p95 delivery latency a step must meet")
    args = parser.parse_args()

    own_instance = None
    if not os.environ.get("DATABASE_URL"):
        own_instance = Path(tempfile.mkdtemp(prefix="nous-bench-live-"))
        os.environ.update({"NOUS_INSTANCE_PATH": str(own_instance), "DATABASE_URL": f"sqlite:///{own_instance}/bench.db"})
    os.environ.setdefault("NOUS_ADMIN_EMAILS", ADMIN)
    os.environ["LOG_LEVEL"] = "WARNING"
    from flask_migrate import upgrade

    from nous import create_app

    app = create_app()
    os.environ["REDIS_URL"] = app.config["REDIS_URL"]  # gunicorn shares this process's (embedded) Redis
    with app.app_context():
        upgrade(revision="heads")

    print(f"{'threads':>7} {'viewers':>7} {'503 past':>8} {'delivered':>9} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'healthz ms':>10} {'(during)':>8} {'RSS MB':>13}")
    best = None
    try:
        for threads in (int(t) for t in args.threads.split(",")):
            r = step(app, threads, args.events, args.interval, args.bound_ms)
            print(f"{r['threads']:>7} {r['viewers']:>7} {'yes' if r['refused_beyond'] else 'NO':>8} "
                  f"{r['delivered']:>9.1%} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f} "
                  f"{r['healthz_ms']:>10.1f} {r['healthz_during_ms']:>8.1f} "
                  f"{r['rss_idle_mb']:>5.0f} → {r['rss_mb']:>4.0f}", flush=True)
            if not r["ok"]:
                break
            best = r
    finally:
        if own_instance is not None:
            from nous import embedded

            embedded.stop(own_instance)
    if best is None:
        print("no step met the bound")
        return
    print(f"\none web process (1 gunicorn gthread worker) held {best['viewers']} live viewers with "
          f"GUNICORN_THREADS={best['threads']}: every viewer got all {args.events} events, p95 "
          f"{best['p95_ms']:.0f} ms (bound {args.bound_ms:.0f} ms), /healthz median "
          f"{best['healthz_during_ms']:.1f} ms, worker RSS {best['rss_mb']:.0f} MB")
    print(f"with the default GUNICORN_THREADS=16 a process holds {16 - KEPT_FOR_HTTP} viewers "
          f"(a socket holds a thread; {KEPT_FOR_HTTP} are kept for pages and APIs).")


if __name__ == "__main__":
    main()
