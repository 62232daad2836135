"""Admin API list endpoints on PostgreSQL at scale: p50/p95 per page (target p95 < 50 ms), deep cursors included.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python benchmarks/adminapi.py [--feedback 1000000] [--testers 100000]

In a scratch database next to DATABASE_URL's (dropped at the end; `--keep` keeps it): 1 000 000 feedback rows
(COPY, as benchmarks/feedback.py loads them, tags on every tenth) and 100 000 testers, then the app under
gunicorn (gunicorn.conf.py) answering GET /api/admin/v1/testers, /feedback and /audit pages with an admin
token made by `flask nous tokens create`, one request at a time over one keep-alive connection: first pages,
pages deep in the list (cursor at 90 %), filters and search. The token check alone is measured in process by
benchmarks/adminapi_tokens.py.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feedback import (
    Gunicorn,
    app_env,  # benchmarks/ is the script's folder, on the path when run
    bulk_load,
    create_database,
    deep_cursor,
    drop_database,
    flask,
    free_port,
    libpq,
    log,
    timed_gets,
)

from nous.adminapi.conventions import encode_cursor

TARGET_MS = 50.0


def load_testers(url: str, n: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(
            "INSERT INTO beta_users (id, email, invite_code, role, is_active, source, created_at, invite_sent_count, "
            "notes, flag_set, invited_at, joined_at) "
            "SELECT gen_random_uuid(), 'tester' || lpad(i::text, 7, '0') || '@example.com', md5(i::text) || i, "
            "(ARRAY['TESTER','TESTER','TESTER','ADMIN'])[1 + i %% 4], i %% 13 <> 0, 'import', "
            "now() - (i || ' minutes')::interval, i %% 3, CASE WHEN i %% 50 = 0 THEN 'likes charts' ELSE '' END, "
            "'{}', CASE WHEN i %% 3 > 0 THEN now() END, CASE WHEN i %% 5 = 0 THEN now() END "
            "FROM generate_series(1, %s) AS i", (n,))
        conn.commit()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE beta_users")
    return time.perf_counter() - started


def tester_cursor(url: str, offset: int) -> str:
    with psycopg.connect(libpq(url)) as conn:
        (email,) = conn.execute("SELECT lower(email) FROM beta_users ORDER BY lower(email) OFFSET %s LIMIT 1",
                                (offset,)).fetchone()
    return encode_cursor(email)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feedback", type=int, default=1_000_000)
    ap.add_argument("--testers", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=200, help="requests per measurement (default 200)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--reuse", metavar="NAME", help="measure again on a scratch database kept by --keep")
    args = ap.parse_args()
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgresql", "postgres")):
        print("DATABASE_URL must point at a PostgreSQL server", file=sys.stderr)
        return 2
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    if args.reuse:
        url, name = make_url(server).set(drivername="postgresql+psycopg", database=args.reuse).render_as_string(
            hide_password=False), args.reuse
    else:
        url, name = create_database(server)
    workdir, env = app_env(url, redis_url)
    log(f"scratch database {name}; redis {redis_url}; {os.cpu_count()} CPUs; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    web = None
    failed = False
    try:
        flask(env, "db", "upgrade")
        flask(env, "nous", "settings", "set", "adminapi.rate_limit", "100000000/minute")
        token = flask(env, "nous", "tokens", "create", f"bench-{secrets.token_hex(3)}", "--scope",
                      "admin").strip().splitlines()[-1]
        if not args.reuse:
            log(f"COPY {args.feedback:,} feedback + tags on every tenth: {bulk_load(url, args.feedback):.1f} s")
            log(f"{args.testers:,} testers: {load_testers(url, args.testers):.1f} s")
        web = Gunicorn(env, free_port())
        deep_fb = encode_cursor(deep_cursor(url, int(args.feedback * 0.9)))
        deep_t = tester_cursor(url, int(args.testers * 0.9))
        v1 = "/api/admin/v1"
        pages = [
            ("testers, first page", f"{v1}/testers"),
            ("testers, deep page (90 % in)", f"{v1}/testers?cursor={deep_t}"),
            ("testers, state=joined", f"{v1}/testers?state=joined"),
            ("testers, search q=charts", f"{v1}/testers?q=charts"),
            ("feedback, first page", f"{v1}/feedback"),
            ("feedback, deep page (90 % in)", f"{v1}/feedback?cursor={deep_fb}"),
            ("feedback, status=new", f"{v1}/feedback?status=new"),
            ("feedback, rating=1", f"{v1}/feedback?rating=1"),
            ("feedback, tag=crash", f"{v1}/feedback?tag=crash"),
            ("feedback, category+rating+feature", f"{v1}/feedback?category=idea&rating=5&feature=voice"),
            ("feedback, 200 a page", f"{v1}/feedback?limit=200"),
            ("audit, first page", f"{v1}/audit"),
        ]
        log(f"\n{'GET (50 a page unless said)':40} {'p50 ms':>8} {'p95 ms':>8}")
        for label, path in pages:
            r = timed_gets(web.url, path, None, args.samples, {"Authorization": f"Bearer {token}"})
            ok = r["p95_ms"] < TARGET_MS
            failed |= not ok
            log(f"{label:40} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f}  {'PASS' if ok else 'FAIL'} (p95 < {TARGET_MS:.0f})")
        log(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        if web is not None:
            web.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep or args.reuse:
            log(f"kept: --reuse {name}")
        else:
            drop_database(server, name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
