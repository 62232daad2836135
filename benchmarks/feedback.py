"""Feedback benchmarks on PostgreSQL (SPEC section 13), side by side in one run on loopback.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python benchmarks/feedback.py

1. Ingest: POST /api/feedback through gunicorn (gunicorn.conf.py) driven by wrk, against plain single-row
   INSERT + COMMIT through psycopg with 8 connections, in alternating slices of a few seconds (plain,
   API, plain, …, plain): the machine is shared, and what else runs on it changes over seconds, so each
   API slice is compared with the plain slices on either side of it. Prints the rates, the median of the
   rounds' ratios to the plain rate (target >= 0.15), the API's p95 in its worst round (target < 50 ms),
   and checks that every id answered 201 is stored.
2. Reads at 1 000 000 rows (bulk-loaded with COPY): p50/p95 of the console's feedback list (first
   page, a deep keyset page, filters) and of the public stats (target p95 < 100 ms).

Everything happens in a scratch database created next to DATABASE_URL's and dropped at the end
(`--keep` keeps it). The feedback rate limit is raised for the run through the setting
`feedback.rate_limit`, the way an operator would.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "bench@nous.test"

WRK_SCRIPT = r"""
counter, ok, other = 0, 0, 0  -- globals: done() reads them from each thread with thread:get
local dir = "%(dir)s"
local tag = "%(tag)s"
local words = {"calendar", "sync", "crash", "slow", "lovely", "confusing", "voice", "search", "reminder", "export"}
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  out = io.open(dir .. "/ids-" .. tid .. ".txt", "w")
  out:setvbuf("no")
  math.randomseed(tid * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) bench"
end
function request()
  counter = counter + 1
  local email = ""
  if counter %% 2 == 0 then email = string.format(',"email":"bench-%%d@example.com"', math.random(1, 200)) end
  local body = string.format('{"rating":%%d,"message":"bench %%d-%%d: the %%s view is %%s","category":"bug",' ..
    '"feature":"%%s","app_version":"%%s","viewport":"1280x720","page_url":"https://app.nous.example/x"%%s}',
    math.random(1, 5), tid, counter, words[math.random(1, 10)], words[math.random(1, 10)],
    words[math.random(1, 3)], tag, email)
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status == 201 then
    ok = ok + 1
    out:write(string.match(body, '"id":%%s*(%%d+)') .. "\n")
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local oks, others = 0, 0
  for _, t in ipairs(threads) do oks = oks + t:get("ok"); others = others + t:get("other") end
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "ok": %%d, "other": %%d, ' ..
    '"errors": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, oks, others,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# --- scratch database -----------------------------------------------------------------------------

def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg understands it."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def app_env(url: str, redis_url: str) -> tuple[Path, dict[str, str]]:
    """A scratch folder and the environment the app runs in for a benchmark on database `url`: production
    settings, a fresh session secret, ADMIN as the admin, logs at LOG_LEVEL (WARNING by default)."""
    workdir = Path(tempfile.mkdtemp(prefix="nous-bench-"))
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "NOUS_ENV": "production",
           "SESSION_SECRET": secrets.token_urlsafe(48), "NOUS_INSTANCE_PATH": str(workdir / "instance"),
           "NOUS_ADMIN_EMAILS": ADMIN, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"), "FLASK_APP": "wsgi.py"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return workdir, env


def create_database(server_url: str) -> tuple[str, str]:
    name = f"nous_bench_{secrets.token_hex(4)}"
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), name


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the app --------------------------------------------------------------------------------------

def flask(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


class Gunicorn:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not start:\n" + (self.proc.stderr.read().decode() if self.proc.stderr else ""))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- phase 1: ingest ------------------------------------------------------------------------------

def raw_inserts(url: str, seconds: float, connections: int = 8) -> dict[str, float]:
    """Single-row INSERT + COMMIT into the same table, one connection per thread."""
    stop = threading.Event()
    counts = [0] * connections
    latencies: list[list[float]] = [[] for _ in range(connections)]
    sql = ("INSERT INTO feedback (created_at, updated_at, rating, message, feature, category, status, user_agent, "
           "viewport, page_url, app_version) VALUES (%s, %s, %s, %s, %s, 'bug', 'new', %s, '1280x720', %s, 'raw') "
           "RETURNING id")

    def worker(i: int) -> None:
        rng = random.Random(i)
        with psycopg.connect(libpq(url)) as conn:
            while not stop.is_set():
                t0 = time.perf_counter()
                now = datetime.now(UTC)
                conn.execute(sql, (now, now, rng.randint(1, 5), f"raw {i}-{counts[i]}: the view is slow", "calendar",
                                   "Mozilla/5.0 bench", "https://app.nous.example/x")).fetchone()
                conn.commit()
                latencies[i].append(time.perf_counter() - t0)
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [x for lst in latencies for x in lst]
    return {"rate": sum(counts) / elapsed, "count": sum(counts), "p95_ms": pct(flat, 0.95) * 1000}


def api_load(base: str, seconds: int, connections: int, threads: int, tag: str, workdir: Path) -> dict[str, float]:
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT % {"dir": str(workdir), "tag": tag})
    proc = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                           "-s", str(script), base + "/api/feedback"], capture_output=True, text=True,
                          timeout=seconds + 60)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(line[7:])
    ids = [int(x) for f in workdir.glob("ids-*.txt") for x in f.read_text().split()]
    return {"rate": r["ok"] / (r["duration_us"] / 1e6), "requests": r["requests"], "created": r["ok"],
            "other": r["other"], "errors": r["errors"], "p50_ms": r["p50_us"] / 1000, "p95_ms": r["p95_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "ids": ids}


def verify(url: str, ids: list[int], tag: str) -> tuple[int, int]:
    with psycopg.connect(libpq(url)) as conn:
        found = conn.execute("SELECT count(*) FROM feedback WHERE id = ANY(%s) AND app_version = %s",
                             (ids, tag)).fetchone()[0]
        tagged = conn.execute("SELECT count(*) FROM feedback WHERE app_version = %s", (tag,)).fetchone()[0]
    return found, tagged


# --- phase 2: a million rows ----------------------------------------------------------------------

FEATURES = ["calendar", "email-summary", "voice", "reminders", "search", "onboarding", "notes", "travel"]
WORDS = ("the app crash slow sync calendar lovely fast confusing reminder voice search notes export login "
         "week month button screen dark mode offline battery notification share travel meeting").split()


def bulk_load(url: str, rows: int) -> float:
    """COPY `rows` feedback spread over a year (text format, written in large chunks), then tags on
    every tenth; returns seconds. The table ends with exactly the indexes the migrations made."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    started = time.perf_counter()
    statuses = ["new", "triaged", "planned", "resolved", "spam"]
    # A pool of distinct row bodies, reused with fresh timestamps: generating each row by hand is
    # what would make the load slow, not COPY.
    pool = []
    for _ in range(20_000):
        feature = FEATURES[min(int(rng.expovariate(0.45)), 7)] if rng.random() > 0.08 else "\\N"
        message = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
        email = f"user{rng.randint(1, 5000)}@example.com" if rng.random() < 0.3 else "\\N"
        category = rng.choice(("bug", "bug", "idea", "praise", "other"))
        pool.append(f"{rng.randint(1, 5)}\t{message}\t{feature}\t{category}"
                    f"\t{statuses[min(int(rng.expovariate(0.9)), 4)]}\t{email}\tMozilla/5.0 bench\t1280x720"
                    f"\thttps://app.nous.example/x\t0.9.1\n")
    span = 365 * 86400
    with psycopg.connect(libpq(url)) as conn:
        # Bulk-load practice: drop the secondary indexes, COPY, build them again (a trigram GIN index
        # maintained row by row is what makes a plain COPY of a million rows take minutes).
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feedback' "
                               "AND indexname <> 'pk_feedback'").fetchall()
        for index_name, _ in indexes:
            conn.execute(f'DROP INDEX "{index_name}"')
        with conn.cursor() as cur, cur.copy(
                "COPY feedback (created_at, updated_at, rating, message, feature, category, status, email, "
                "user_agent, viewport, page_url, app_version) FROM STDIN") as copy:
            chunk: list[str] = []
            for i in range(rows):
                ts = (now - timedelta(seconds=rng.random() * span)).isoformat()
                chunk.append(f"{ts}\t{ts}\t{pool[i % len(pool)]}")
                if len(chunk) == 20_000:
                    copy.write("".join(chunk))
                    chunk = []
            if chunk:
                copy.write("".join(chunk))
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, ddl in indexes:
            conn.execute(ddl)
        conn.execute("INSERT INTO feedback_tags (feedback_id, created_at, tag) SELECT id, created_at, "
                     "(ARRAY['sync','ios','android','crash',"
                     "'ux','performance','offline','billing','accessibility','regression'])[1 + (id / 10) % 10] "
                     "FROM feedback WHERE id % 10 = 0")
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE feedback")
        conn.execute("VACUUM ANALYZE feedback_tags")
    return time.perf_counter() - started


def admin_cookie(env: dict[str, str]) -> str:
    """A signed admin session, made with the app's own serializer (as the test suite's admin_client does)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from nous import create_app

    app = create_app()
    now = int(time.time())
    return app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {"_user_id": ADMIN, "_fresh": True, "signed_in_at": now, "seen_at": now, "_csrf": "bench"})


def timed_gets(base: str, path: str, cookie: str | None, n: int,
               headers: dict[str, str] | None = None) -> dict[str, float]:
    """`n` GETs of `path` on one connection after three warm-up ones, as the console (`cookie`) or with
    `headers` alone (an admin API token): p50, p95 and max in ms; anything but a 200 stops the benchmark."""
    import http.client

    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    hdrs = {**({"Cookie": f"nous_session={cookie}"} if cookie else {}), **(headers or {})}
    times, status = [], 0
    for i in range(n + 3):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        if i >= 3:  # three warm-up requests
            times.append(time.perf_counter() - t0)
    conn.close()
    return {"p50_ms": statistics.median(times) * 1000, "p95_ms": pct(times, 0.95) * 1000, "max_ms": max(times) * 1000}


def deep_cursor(url: str, offset: int) -> str:
    with psycopg.connect(libpq(url)) as conn:
        created, fid = conn.execute("SELECT created_at, id FROM feedback WHERE status <> 'spam' "
                                    "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1", (offset,)).fetchone()
    delta = created - datetime(1970, 1, 1, tzinfo=UTC)
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}_{fid}"


def cold_stats(env: dict[str, str]) -> float:
    code = ("import time; from nous import create_app; from nous.feedback import service as s; a = create_app();"
            "c = a.app_context(); c.push(); t = time.perf_counter(); s.compute_stats(); "
            "print((time.perf_counter() - t) * 1000)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


# --- main -----------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=4, help="seconds per ingest slice (default 4)")
    ap.add_argument("--rounds", type=int, default=7, help="ingest rounds, an API slice each (default 7)")
    ap.add_argument("--connections", default="8,32", help="wrk connection counts, comma separated (default 8,32)")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for the read benchmark (default 1 000 000)")
    ap.add_argument("--samples", type=int, default=200, help="requests per read measurement (default 200)")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-reads", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgresql", "postgres")):
        print("DATABASE_URL must point at a PostgreSQL server (the scratch database is created next to it)",
              file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    url, name = create_database(server)
    workdir, env = app_env(url, redis_url)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    log(f"scratch database {name}; redis {redis_url}; {os.cpu_count()} CPUs; load average {load} at start")
    web = None
    try:
        flask(env, "db", "upgrade")
        flask(env, "nous", "settings", "set", "feedback.rate_limit", "100000000/minute")
        import redis as redis_lib

        redis_lib.Redis.from_url(redis_url).flushdb()
        web = Gunicorn(env, free_port())
        log(f"gunicorn {web.url} (gunicorn.conf.py: WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '2')} workers, "
            f"GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', '16')} threads)")

        if not args.skip_ingest:
            log("\n== ingest: POST /api/feedback vs plain INSERT + COMMIT (psycopg, 8 connections) ==")
            log(f"({args.rounds} rounds of {args.duration} s: plain, API, plain, API, …, plain; each API slice is")
            log(" compared with the mean of the plain slices on either side of it: other work on a shared")
            log(" machine, which comes and goes over seconds, changes both alike)")
            (workdir / "warm").mkdir()
            api_load(web.url, 3, 8, args.wrk_threads, "bench-warm", workdir / "warm")
            for connections in (int(c) for c in args.connections.split(",")):
                tag = f"bench-{secrets.token_hex(3)}"
                raws = [raw_inserts(url, args.duration)]
                apis = []
                for i in range(args.rounds):
                    run_dir = workdir / f"{tag}-{i}"
                    run_dir.mkdir()
                    apis.append(api_load(web.url, args.duration, connections, args.wrk_threads, tag, run_dir))
                    raws.append(raw_inserts(url, args.duration))
                ratios = [api["rate"] / ((raws[i]["rate"] + raws[i + 1]["rate"]) / 2) for i, api in enumerate(apis)]
                ratio = statistics.median(ratios)
                ids = [x for api in apis for x in api["ids"]]
                created = sum(api["created"] for api in apis)
                found, tagged = verify(url, ids, tag)
                p95s = [api["p95_ms"] for api in apis]
                ok = found == len(ids) == created and tagged >= created
                raw_rates, api_rates = [r["rate"] for r in raws], [a["rate"] for a in apis]
                log(f"\nplain INSERT+COMMIT : median {statistics.median(raw_rates):6.0f} rows/s "
                    f"(slices {', '.join(f'{x:.0f}' for x in raw_rates)})")
                log(f"POST /api/feedback, wrk -c{connections}: median {statistics.median(api_rates):.0f} req/s "
                    f"(slices {', '.join(f'{x:.0f}' for x in api_rates)}); p50 "
                    f"{statistics.median(a['p50_ms'] for a in apis):.2f} ms; {created} created, "
                    f"{sum(a['other'] for a in apis)} other statuses, {sum(a['errors'] for a in apis)} socket errors")
                log(f"  ratio to plain INSERT : median {ratio:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})"
                    f"   (target >= 0.15)  {'PASS' if ratio >= 0.15 else 'FAIL'}")
                log(f"  p95                   : {max(p95s):.2f} ms in the worst round, median "
                    f"{statistics.median(p95s):.2f} ms (target < 50 ms)  {'PASS' if max(p95s) < 50 else 'FAIL'}")
                log(f"  every 201 stored      : {found} of {len(ids)} ids answered 201 are in the table; "
                    f"{tagged} rows carry the run's tag ({tagged - created} were in flight when wrk stopped)"
                    f"  {'PASS' if ok else 'FAIL'}")
                log(f"  load average now      : {', '.join(f'{x:.1f}' for x in os.getloadavg())}")

        if not args.skip_reads:
            log(f"\n== reads with {args.rows:,} feedback rows ==")
            with psycopg.connect(libpq(url), autocommit=True) as conn:
                conn.execute("TRUNCATE feedback_tags, feedback_replies, feedback RESTART IDENTITY CASCADE")
            log(f"COPY {args.rows:,} rows + tags on every tenth, VACUUM ANALYZE: {bulk_load(url, args.rows):.1f} s")
            web.stop()
            web = Gunicorn(env, free_port())  # fresh processes: empty caches
            cookie = admin_cookie(env)
            log(f"stats computed cold : {cold_stats(env):.0f} ms (cached {30} s per process afterwards)")
            deep = deep_cursor(url, int(args.rows * 0.9))
            week_ago = (datetime.now(UTC) - timedelta(days=7)).date()
            pages = [
                ("list, first page (full page)", "/admin/beta/feedback", {}),
                ("list, first page (fragment)", "/admin/beta/feedback", {"HX-Request": "true"}),
                ("list, deep page (row ~900 000)", f"/admin/beta/feedback?before={deep}", {"HX-Request": "true"}),
                ("filter status=new", "/admin/beta/feedback?status=new", {"HX-Request": "true"}),
                ("filter rating=1", "/admin/beta/feedback?rating=1", {"HX-Request": "true"}),
                ("filter feature=travel (rare)", "/admin/beta/feedback?feature=travel", {"HX-Request": "true"}),
                ("filter category+rating+feature", "/admin/beta/feedback?category=idea&rating=5&feature=voice",
                 {"HX-Request": "true"}),
                ("filter tag=billing", "/admin/beta/feedback?tag=billing", {"HX-Request": "true"}),
                ("filter last 7 days", f"/admin/beta/feedback?since={week_ago}", {"HX-Request": "true"}),
                ("filter date range in March", "/admin/beta/feedback?since=2026-03-01&until=2026-03-31&status=all",
                 {"HX-Request": "true"}),
                ("text search q=crash", "/admin/beta/feedback?q=crash", {"HX-Request": "true"}),
                ("text search q=battery notification (rare)", "/admin/beta/feedback?q=battery%20notification",
                 {"HX-Request": "true"}),
                ("GET /api/feedback/stats", "/api/feedback/stats", {}),
                ("charts.json", "/admin/beta/feedback/charts.json", {}),
            ]
            worst = 0.0
            for label, path, headers in pages:
                r = timed_gets(web.url, path, cookie, args.samples, headers)
                worst = max(worst, r["p95_ms"])
                log(f"{label:<44} p50 {r['p50_ms']:7.2f} ms   p95 {r['p95_ms']:7.2f} ms   max {r['max_ms']:7.2f} ms")
            log(f"worst p95           : {worst:.2f} ms (target < 100 ms)  {'PASS' if worst < 100 else 'FAIL'}")
    finally:
        if web is not None:
            web.stop()
        if args.keep:
            log(f"kept database {name}")
        else:
            drop_database(server, name)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
