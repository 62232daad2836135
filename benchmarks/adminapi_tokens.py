"""What checking an admin API token adds to a request (the requirement: under 0.1 ms), in process.

Times, over many calls, the token check a request to /api/admin/v1 goes through before its handler:
`nous.adminapi.auth.authenticate(scope)` inside a request context (reading the `Authorization` header,
one SHA-256, a dict lookup, the expiry and the scope), with 100 tokens known; and
`nous.adminapi.tokens.check` alone. Each figure is the median of several runs. No SQL is sent: the
script counts the statements and fails if there is one. Runs on its own SQLite file and embedded Redis
in a temporary folder (or DATABASE_URL / REDIS_URL when BENCH_USE_ENV=1).

    .venv/bin/python benchmarks/adminapi_tokens.py [--runs 7] [--calls 100000]

The exit status is 1 when a check costs 0.1 ms or more, or sends SQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flags import setup_environment  # benchmarks/ is the script's folder, on the path when run
from flags_engine import load_note

REQUIRED_SECONDS = 0.0001


def timed(fn, calls: int, runs: int) -> float:
    """Median seconds per call over `runs` runs of `calls` calls."""
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter() - start) / calls)
    return statistics.median(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="nous-bench-adminapi-"))
    redis_proc = setup_environment(folder)
    try:
        from flask_migrate import upgrade
        from sqlalchemy import event

        from nous import create_app
        from nous.adminapi import auth, tokens
        from nous.extensions import db

        app = create_app()
        with app.app_context():
            upgrade(revision="heads")
            raws = [tokens.create(f"bench-{i}-{os.getpid()}", ["flags:write", "jobs:read"], expires_in_days=30,
                                  actor="benchmark")[1] for i in range(100)]
            raw = raws[50]
            statements: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            with app.test_request_context("/api/admin/v1/flags", headers={"Authorization": f"Bearer {raw}"}):
                assert auth.authenticate("flags:read") is None  # loads the copy, claims the last-use write
                statements.clear()
                full = timed(lambda: auth.authenticate("flags:read"), args.calls, args.runs)
                alone = timed(lambda: tokens.check(raw), args.calls, args.runs)
            sent = len(statements)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()  # type: ignore[attr-defined]
    print(f"python {sys.version.split()[0]}; median of {args.runs} runs of {args.calls:,} calls; {load_note()}")
    print(f"token check of a request (header, hash, lookup, expiry, scope): {full * 1e6:7.2f} µs")
    print(f"tokens.check alone:                                            {alone * 1e6:7.2f} µs")
    print(f"SQL statements sent while checking: {sent}")
    ok = full < REQUIRED_SECONDS and sent == 0
    print("OK" if ok else f"FAIL: the requirement is under {REQUIRED_SECONDS * 1e3:.1f} ms and no SQL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
