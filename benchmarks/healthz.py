"""/healthz against a bare Flask hello-world, both under the same gunicorn settings, side by side.

Usage: .venv/bin/python benchmarks/healthz.py [--rounds 3] [--seconds 8]
Target: ratio >= 0.90; web worker RSS < 256 MB.
"""

from __future__ import annotations

import argparse

from _common import Gunicorn, median, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()

    bare = Gunicorn("benchmarks.bare_app:app")
    app = Gunicorn("wsgi:app")
    try:
        results: dict[str, list[dict[str, float]]] = {"bare": [], "app": []}
        wrk(f"{bare.url}/healthz", seconds=2)  # warm up both
        wrk(f"{app.url}/healthz", seconds=2)
        for _ in range(args.rounds):  # alternate so drift hits both alike
            results["bare"].append(wrk(f"{bare.url}/healthz", seconds=args.seconds))
            results["app"].append(wrk(f"{app.url}/healthz", seconds=args.seconds))
        rss = app.worker_rss_mb()
    finally:
        bare.stop()
        app.stop()

    print(f"{'server':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}   "
          f"(median of {args.rounds} runs of {args.seconds}s, wrk -t2 -c32, gunicorn gthread 2 workers)")
    med = {}
    for name, runs in results.items():
        med[name] = {k: median([r[k] for r in runs]) for k in ("rps", "p50_ms", "p99_ms")}
        assert all(r["non2xx"] == 0 for r in runs), f"{name}: non-2xx responses"
        print(f"{name:<8} {med[name]['rps']:>10.0f} {med[name]['p50_ms']:>8.2f} {med[name]['p99_ms']:>8.2f}")
    ratio = med["app"]["rps"] / med["bare"]["rps"]
    print(f"ratio app/bare: {ratio:.3f}  (target >= 0.90: {'met' if ratio >= 0.90 else 'NOT met'})")
    print(f"web worker RSS after the run: {rss:.1f} MB  (target < 256 MB: {'met' if rss < 256 else 'NOT met'})")


if __name__ == "__main__":
    main()
