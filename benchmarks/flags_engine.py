"""Throughput of the feature-flag evaluation engine, in process, no I/O.

Measures `Engine.is_enabled` on a flag with a flexibleRollout strategy and three constraints (the
requirement: at least 200,000 evaluations per second), plus a few other shapes for context. Each
figure is the median of several timed runs over a rotating set of testers.

    .venv/bin/python benchmarks/flags_engine.py [--runs 7] [--calls 200000]

"warm" rotates 1,000 testers, so the engine's per-value memos answer most calls (a beta population);
"cold" rotates 20,000, far more than the memos hold, so every rollout bucket and string test is
computed afresh. The exit status is 1 when either is below the requirement (wall-clock rates).
Beside each headline rate the rate per second of this process's CPU time is printed, with the load
average: on a busy machine the first falls with the share of a core the process gets, the second
shows what one evaluation costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nous.flags.engine import Engine

REQUIRED_RATE = 200_000

HEADLINE = {
    "name": "checkout.new-flow",
    "enabled": True,
    "strategies": [{
        "name": "flexibleRollout",
        "parameters": {"rollout": "50", "stickiness": "default", "groupId": "checkout.new-flow"},
        "constraints": [
            {"contextName": "environment", "operator": "IN", "values": ["production", "staging"]},
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"],
             "caseInsensitive": True},
            {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0"},
        ],
    }],
}

OTHERS = [
    {"name": "simple.default", "enabled": True, "strategies": [{"name": "default"}]},
    {"name": "rollout.only", "enabled": True, "strategies": [{
        "name": "flexibleRollout", "parameters": {"rollout": "25", "stickiness": "userId"}}]},
    {"name": "regex.and.cidr", "enabled": True, "strategies": [{
        "name": "flexibleRollout", "parameters": {"rollout": "100"},
        "constraints": [
            {"contextName": "email", "operator": "REGEX", "value": "^[a-z0-9.]+@example\\.com$",
             "caseInsensitive": True},
            {"contextName": "remoteAddress", "operator": "IN_CIDR",
             "values": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]},
            {"contextName": "currentTime", "operator": "DATE_AFTER",
             "value": "2024-01-01T00:00:00+01:00"},
        ]}]},
    {"name": "with.variants", "enabled": True, "strategies": [{
        "name": "flexibleRollout", "parameters": {"rollout": "100"},
        "variants": [{"name": "a", "weight": 500}, {"name": "b", "weight": 500,
                                                     "payload": {"type": "string", "value": "x"}}]}]},
]


def contexts(n: int) -> list[dict[str, Any]]:
    return [{
        "userId": f"user-{i}",
        "sessionId": f"session-{i}",
        "remoteAddress": f"10.1.{i % 250}.{i % 200}",
        "environment": "production",
        "appName": "nous",
        "properties": {"email": f"tester{i}@Example.com", "appVersion": f"2.{1 + i % 5}.{i % 3}"},
    } for i in range(n)]


def rates(fn: Any, key: str, ctxs: list[dict], calls: int) -> tuple[float, float]:
    """(calls per wall-clock second, calls per second of this process's CPU time)."""
    n = len(ctxs)
    rounds, rest = divmod(calls, n)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for ctx in ctxs:
            fn(key, ctx)
    for ctx in ctxs[:rest]:
        fn(key, ctx)
    return calls / (time.perf_counter() - start), calls / max(time.process_time() - cpu, 1e-9)


def rate(fn: Any, key: str, ctxs: list[dict], calls: int) -> float:
    return rates(fn, key, ctxs, calls)[0]


def median_rates(fn: Any, key: str, ctxs: list[dict], calls: int, runs: int) -> tuple[float, float]:
    """Medians of `runs` runs: (wall-clock rate, CPU-time rate). On a busy machine the first falls
    with the share of a core this process gets; the second shows the cost of one call regardless."""
    rate(fn, key, ctxs, min(calls, 20_000))  # warm up caches
    measured = [rates(fn, key, ctxs, calls) for _ in range(runs)]
    return statistics.median(m[0] for m in measured), statistics.median(m[1] for m in measured)


def median_rate(fn: Any, key: str, ctxs: list[dict], calls: int, runs: int) -> float:
    return median_rates(fn, key, ctxs, calls, runs)[0]


def load_note() -> str:
    load1, _load5, _load15 = os.getloadavg()
    return f"load average {load1:.2f} on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--testers", type=int, default=1_000, help="rotating testers in the warm runs")
    parser.add_argument("--cold-testers", type=int, default=20_000,
                        help="rotating testers in the cold runs (far more than the engine's memos hold)")
    args = parser.parse_args()

    engine = Engine([HEADLINE, *OTHERS])
    warm, cold = contexts(args.testers), contexts(args.cold_testers)
    print(f"python {sys.version.split()[0]}, median of {args.runs} runs of {args.calls:,} calls; {load_note()}")
    key = HEADLINE["name"]
    headline, headline_cpu = median_rates(engine.is_enabled, key, warm, args.calls, args.runs)
    headline_cold, headline_cold_cpu = median_rates(engine.is_enabled, key, cold, args.calls, args.runs)
    print(f"is_enabled  {key:<18} rollout + 3 constraints, {args.testers:,} testers (warm): "
          f"{headline:>10,.0f} evaluations/s  ({headline_cpu:,.0f} per CPU second)")
    print(f"is_enabled  {key:<18} rollout + 3 constraints, {args.cold_testers:,} testers (cold): "
          f"{headline_cold:>10,.0f} evaluations/s  ({headline_cold_cpu:,.0f} per CPU second)")
    for flag in OTHERS:
        r = median_rate(engine.is_enabled, flag["name"], warm, args.calls, args.runs)
        print(f"is_enabled  {flag['name']:<18} {'':42}{r:>10,.0f} evaluations/s")
    r = median_rate(engine.get_variant, "with.variants", warm, args.calls, args.runs)
    print(f"get_variant {'with.variants':<18} {'':42}{r:>10,.0f} evaluations/s")
    worst = min(headline, headline_cold)
    ok = worst >= REQUIRED_RATE
    print(f"requirement >= {REQUIRED_RATE:,}/s (flexibleRollout + 3 constraints, warm and cold): "
          f"{'MET' if ok else 'NOT MET'}, worst median {worst:,.0f}/s; {load_note()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
