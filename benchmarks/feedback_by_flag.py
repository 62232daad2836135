"""What testers felt, on PostgreSQL: the cost of recording flags with each feedback, and the comparison of
feedback with a flag on and off at 1 000 000 feedback rows (SPEC section 7; target p95 < 200 ms).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python benchmarks/feedback_by_flag.py

1. Ingest (skip with --skip-ingest): POST /api/feedback through gunicorn driven by wrk (benchmarks/feedback.py's
   script and measurements), first with no flag defined, then with --flags flags (rollouts, an email
   condition, variants): each submission then evaluates every flag for its tester and stores a row per flag.
   Plain single-row INSERT + COMMIT is measured right before and after each run, as in benchmarks/feedback.py;
   printed: rates, ratio to plain INSERT (target >= 0.15), p95 (target < 50 ms), and that every feedback
   answered 201 has its flags stored.
2. Comparison (skip with --skip-compare): --rows feedback spread over a year (benchmarks/feedback.py's COPY), the
   flags of each recorded for --recorded-flags flags with INSERT … SELECT (no ORM), then the comparison
   (nous.feedback.service.by_flag.compare, in process, words and tags included) for 7, 30 and 90 days, and
   the console's fragment and the admin API answer over HTTP: median and p95 of --samples calls each. The
   first call of a period also sums its closed days into feedback_flag_days (once): printed apart.

Everything happens in a scratch database next to DATABASE_URL's, dropped at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from feedback import (
    ADMIN,
    Gunicorn,
    api_load,
    app_env,
    bulk_load,
    create_database,
    drop_database,
    flask,
    free_port,
    libpq,
    log,
    raw_inserts,
    timed_gets,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent
FLAG = "checkout.new-flow"  # the flag compared: on for about half the testers, two variants


def flag_definitions(n: int) -> list[dict]:
    """`n` flags of the kinds a beta has: the compared flag (a rollout with variants), an email condition,
    rollouts by user id, switched-off ones, plain on switches."""
    defs: list[dict] = [{"key": FLAG, "type": "experiment", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": FLAG}}],
        "variants": [{"name": "teal", "weight": 500, "weightType": "variable", "stickiness": "default"},
                     {"name": "amber", "weight": 500, "weightType": "variable", "stickiness": "default"}]}]
    if n > 1:
        defs.append({"key": "beta.email-testers", "enabled": True, "strategies": [{"name": "default", "constraints": [
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["7@example.com", "3@example.com"]}]}]})
    for i in range(len(defs), n):
        kind = i % 3
        strategies = ([{"name": "flexibleRollout", "parameters": {"rollout": str(10 + 7 * i % 90),
                                                                  "stickiness": "default"}}]
                      if kind == 0 else [{"name": "default"}])
        defs.append({"key": f"feature-{i:02d}", "enabled": kind != 2, "strategies": strategies})
    return defs[:n]


def create_flags(env: dict[str, str], n: int) -> None:
    """Make the flags through the flags service, in a process of their own (as the CLI would)."""
    code = ("import json, sys; from nous import create_app; from nous.flags import service as f; a = create_app();"
            "c = a.app_context(); c.push()\n"
            "for d in json.loads(sys.stdin.read()): f.create_flag(d, actor='bench')\n"
            "f.bump_version()")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, input=json.dumps(flag_definitions(n)),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"creating flags failed:\n{proc.stderr[-3000:]}")


def flags_stored(url: str, ids: list[int]) -> tuple[int, int]:
    """(feedback among `ids` with at least one flag row, flag rows of `ids`)."""
    with psycopg.connect(libpq(url)) as conn:
        return conn.execute("SELECT count(DISTINCT feedback_id), count(*) FROM feedback_flags "
                            "WHERE feedback_id = ANY(%s)", (ids,)).fetchone()


def ingest(url: str, web_url: str, env: dict[str, str], args: argparse.Namespace, workdir: Path) -> None:
    log("\n== ingest: POST /api/feedback, without flags and then with them, vs plain INSERT + COMMIT ==")
    (workdir / "warm").mkdir()
    api_load(web_url, 3, 8, args.wrk_threads, "bench-warm", workdir / "warm")
    for flags in (0, args.flags):
        if flags:
            create_flags(env, flags)
            time.sleep(1.5)  # every gunicorn worker follows the flags version within a second
            api_load(web_url, 2, 8, args.wrk_threads, "bench-warm2", workdir / "warm")
        for connections in (int(c) for c in args.connections.split(",")):
            before = raw_inserts(url, args.duration)
            tag = f"bench-{secrets.token_hex(3)}"
            (workdir / tag).mkdir()
            api = api_load(web_url, args.duration, connections, args.wrk_threads, tag, workdir / tag)
            after = raw_inserts(url, args.duration)
            raw_rate = (before["rate"] + after["rate"]) / 2
            found, _tagged = verify(url, api["ids"], tag)
            with_flags, flag_rows = flags_stored(url, api["ids"])
            ratio = api["rate"] / raw_rate
            log(f"\n{flags} flags, wrk -c{connections}: plain INSERT {before['rate']:.0f} / {after['rate']:.0f} rows/s;"
                f" API {api['rate']:.0f} req/s  p50 {api['p50_ms']:.2f} ms  p95 {api['p95_ms']:.2f} ms"
                f"  p99 {api['p99_ms']:.2f} ms  ({api['created']} created, {api['other']} other,"
                f" {api['errors']} errors)")
            log(f"  ratio to plain INSERT : {ratio:.3f} (target >= 0.15)  {'PASS' if ratio >= 0.15 else 'FAIL'}")
            log(f"  p95                   : {api['p95_ms']:.2f} ms (target < 50 ms)  "
                f"{'PASS' if api['p95_ms'] < 50 else 'FAIL'}")
            stored_ok = found == len(api["ids"]) and with_flags == (len(api["ids"]) if flags else 0) \
                and flag_rows == flags * len(api["ids"])
            log(f"  stored                : {found} of {len(api['ids'])} answered 201; {with_flags} with flags, "
                f"{flag_rows} flag rows ({flags} each expected)  {'PASS' if stored_ok else 'FAIL'}  "
                f"(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


def load_flags(url: str, recorded: int) -> float:
    """The flags of every feedback, as intake stores them, for `recorded` flags: INSERT … SELECT from feedback
    (the index dropped during the load and built after, as bulk loads do). Returns seconds."""
    started = time.perf_counter()
    with psycopg.connect(libpq(url)) as conn:
        (ddl,) = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'feedback_flags' "
                              "AND indexname = 'ix_feedback_flags_flag_env_created_at'").fetchone()
        conn.execute("DROP INDEX ix_feedback_flags_flag_env_created_at")
        # The compared flag: on for half the testers (by id), who rate a little higher; teal or amber when on.
        conn.execute(
            "INSERT INTO feedback_flags (feedback_id, environment, flag_key, enabled, variant, created_at, rating, "
            "category) SELECT id, 'production', %s, (id * 7919) %% 100 < 50, "
            "CASE WHEN (id * 7919) %% 100 < 50 THEN (ARRAY['teal', 'amber'])[1 + id %% 2] END, created_at, rating, "
            "category FROM feedback", (FLAG,))
        for i in range(1, recorded):
            conn.execute(
                "INSERT INTO feedback_flags (feedback_id, environment, flag_key, enabled, variant, created_at, "
                "rating, category) SELECT id, 'production', %s, (id * 31 + %s) %% 100 < %s, NULL, created_at, "
                "rating, category FROM feedback", (f"feature-{i:02d}", i, 10 + 7 * i % 90))
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute(ddl)
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE feedback_flags")
    return time.perf_counter() - started


def in_process(env: dict[str, str], samples: int) -> dict[int, dict[str, float]]:
    """compare() for 7, 30 and 90 days in a process of its own: median and p95 of `samples` calls each."""
    code = ("import json, statistics, sys, time; from nous import create_app; "
            "from nous.extensions import db; from nous.feedback import service as s\n"
            "a = create_app(); c = a.app_context(); c.push()\n"
            "out = {}\n"
            "for days in (7, 30, 90):\n"
            "    times = []\n"
            f"    for i in range({samples} + 3):\n"
            "        t = time.perf_counter(); r = s.compare(%r, 'production', days); db.session.rollback()\n"
            "        times.append(time.perf_counter() - t)\n"
            "    first, times = times[0], sorted(times[3:])\n"
            "    out[days] = {'first': first * 1000, 'median': statistics.median(times) * 1000,"
            " 'p95': times[max(0, round(.95 * len(times)) - 1)] * 1000,"
            " 'on': r.on.count, 'off': r.off.count, 'reading': r.reading}\n"
            "print(json.dumps(out))") % FLAG
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"the in-process comparison failed:\n{proc.stderr[-3000:]}")
    return {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


def admin_cookie_and_token(env: dict[str, str]) -> tuple[str, str]:
    code = ("import time; from nous import create_app; from nous.adminapi import tokens; a = create_app(); "
            "c = a.app_context(); c.push(); now = int(time.time()); "
            f"print(a.session_interface.get_signing_serializer(a).dumps({{'_user_id': {ADMIN!r}, '_fresh': True, "
            "'signed_in_at': now, 'seen_at': now, '_csrf': 'bench'})); "
            "print(tokens.create('bench', ['feedback:read'], actor='bench')[1])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"no admin session:\n{proc.stderr[-3000:]}")
    cookie, token = proc.stdout.strip().splitlines()[-2:]
    return cookie, token


def compare_phase(url: str, env: dict[str, str], args: argparse.Namespace) -> bool:
    log(f"\n== the comparison with {args.rows:,} feedback rows ==")
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("TRUNCATE feedback_flags, feedback_tags, feedback_replies, feedback RESTART IDENTITY CASCADE")
    log(f"COPY {args.rows:,} feedback (a year), tags on every tenth: {bulk_load(url, args.rows):.1f} s")
    log(f"flags of each for {args.recorded_flags} flags ({args.rows * args.recorded_flags:,} rows, INSERT … SELECT),"
        f" index, VACUUM ANALYZE: {load_flags(url, args.recorded_flags):.1f} s")
    with psycopg.connect(libpq(url)) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('feedback_flags')), "
                            "pg_size_pretty(pg_relation_size('ix_feedback_flags_flag_env_created_at'))").fetchone()
    log(f"feedback_flags: {size[0]} with its indexes; the comparison's index {size[1]}")
    ok = True
    figures = in_process(env, args.samples)
    for days, r in figures.items():
        passed = r["p95"] < 200
        ok &= passed
        log(f"compare(), {days:>2} days (in process) : median {r['median']:6.1f} ms   p95 {r['p95']:6.1f} ms"
            f"   (on {r['on']:,}, off {r['off']:,})  {'PASS' if passed else 'FAIL'} (p95 < 200 ms);"
            f" first call {r['first']:.0f} ms (sums the period's days not summed yet)")
    log(f"  reading: {figures[30]['reading']}")
    web = Gunicorn(env, free_port())
    try:
        cookie, token = admin_cookie_and_token(env)
        for days in (30, 90):
            page = timed_gets(web.url, f"/admin/beta/feedback/by-flag/{FLAG}?env=production&days={days}", cookie,
                              args.samples, {"HX-Request": "true"})
            api = timed_gets(web.url, f"/api/admin/v1/flags/{FLAG}/feedback-comparison?days={days}", None,
                             args.samples, {"Authorization": f"Bearer {token}"})
            for name, r in ((f"console fragment, {days} days", page), (f"admin API, {days} days", api)):
                passed = r["p95_ms"] < 200
                ok &= passed
                log(f"{name:<26}: p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms   max {r['max_ms']:6.1f} ms"
                    f"  {'PASS' if passed else 'FAIL'}")
        listed = timed_gets(web.url, f"/admin/beta/feedback?flag={FLAG}&flag_env=production&variant=teal", cookie,
                            args.samples, {"HX-Request": "true"})
        log(f"feedback list, flag+variant filter: p50 {listed['p50_ms']:.1f} ms   p95 {listed['p95_ms']:.1f} ms"
            f"  {'PASS' if listed['p95_ms'] < 100 else 'FAIL'} (p95 < 100 ms, the list's target)")
    finally:
        web.stop()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per ingest measurement (default 10)")
    ap.add_argument("--connections", default="8", help="wrk connection counts, comma separated (default 8)")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--flags", type=int, default=20, help="flags defined for the second ingest run (default 20)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="feedback rows for the comparison (default 1 000 000)")
    ap.add_argument("--recorded-flags", type=int, default=5,
                    help="flags recorded with each of those rows (default 5: the compared one and four others)")
    ap.add_argument("--samples", type=int, default=50, help="calls per measurement (default 50)")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgresql", "postgres")):
        print("DATABASE_URL must point at a PostgreSQL server", file=sys.stderr)
        return 2
    if not args.skip_ingest and shutil.which("wrk") is None:
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    url, name = create_database(server)
    workdir, env = app_env(url, redis_url)
    log(f"scratch database {name}; redis {redis_url}; {os.cpu_count()} CPUs; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    ok = True
    try:
        flask(env, "db", "upgrade")
        flask(env, "nous", "settings", "set", "feedback.rate_limit", "100000000/minute")
        import redis as redis_lib

        redis_lib.Redis.from_url(redis_url).flushdb()
        if not args.skip_ingest:
            web = Gunicorn(env, free_port())
            try:
                ingest(url, web.url, env, args, workdir)
            finally:
                web.stop()
        elif not args.skip_compare:
            create_flags(env, max(args.recorded_flags, 1))
        if not args.skip_compare:
            ok = compare_phase(url, env, args)
    finally:
        if args.keep:
            log(f"kept {url}")
        else:
            drop_database(server, name)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
