"""The database report: statement statistics across processes, slow queries with plans, index hints."""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from nous.dbmonitor.models import SlowQuery
from nous.dbmonitor.monitor import SAMPLES_KEY, SLOW_KEY, STATS_KEY, TEXT_KEY, quiet, statement_type
from nous.extensions import db
from nous.settings import service as settings

log = logging.getLogger("nous.dbmonitor")


def _p95(samples: list[int]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] / 1000, 3)


def statement_stats(conn: redis.Redis, limit: int = 50) -> list[dict[str, Any]]:
    """Per normalized statement: count, mean, p95, max (ms), slowest total first."""
    raw = conn.hgetall(STATS_KEY)
    stats: dict[str, dict[str, int]] = {}
    for field, value in raw.items():
        digest, name = field.decode().split("|", 1)
        stats.setdefault(digest, {})[name] = int(value)
    ranked = sorted(stats.items(), key=lambda kv: kv[1].get("sum_us", 0), reverse=True)[:limit]
    if not ranked:
        return []
    pipe = conn.pipeline(transaction=False)
    for digest, _ in ranked:
        pipe.hget(TEXT_KEY, digest)
        pipe.lrange(SAMPLES_KEY.format(digest), 0, -1)
    fetched = pipe.execute()
    out = []
    for i, (digest, s) in enumerate(ranked):
        statement = (fetched[2 * i] or b"").decode()
        count = s.get("count", 0)
        out.append({
            "digest": digest, "statement": statement, "type": statement_type(statement), "count": count,
            "mean_ms": round(s.get("sum_us", 0) / count / 1000, 3) if count else None,
            "p95_ms": _p95([int(x) for x in fetched[2 * i + 1]]),
            "max_ms": round(s.get("max_us", 0) / 1000, 3), "total_ms": round(s.get("sum_us", 0) / 1000, 1),
        })
    return out


def type_stats(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        t = out.setdefault(row["type"], {"count": 0, "total_ms": 0.0, "max_ms": 0.0})
        t["count"] += row["count"]
        t["total_ms"] = round(t["total_ms"] + row["total_ms"], 1)
        t["max_ms"] = max(t["max_ms"], row["max_ms"])
    for t in out.values():
        t["mean_ms"] = round(t["total_ms"] / t["count"], 3) if t["count"] else None
    return out


def summary(conn: redis.Redis) -> dict[str, Any]:
    rows = statement_stats(conn, limit=200)
    means = [r["p95_ms"] for r in rows if r["p95_ms"] is not None]
    return {
        "statements": sum(r["count"] for r in rows),
        "by_type": type_stats(rows),
        "p95_ms_worst_statement": max(means) if means else None,
        "slowest": rows[:5],
    }


# --- plans and index suggestions -------------------------------------------------------------

_FILTER_COLUMN = re.compile(r"\(?\(?(?:\w+\.)?\"?(\w+)\"?\)?(?:::\w+)?\s*(?:=|<>|<=|>=|<|>|~~\*?|!~~)")
_WHERE_COLUMN = re.compile(r"(?:WHERE|AND|OR)\s+\(?(?:\w+\.)?\"?(\w+)\"?\s*(?:=|<|>|<=|>=|LIKE|IN)", re.I)


def explain(statement: str, params: Any) -> Any:
    """The plan of one statement; on PostgreSQL `EXPLAIN (FORMAT JSON)`, with ANALYZE for SELECT."""
    dialect = db.engine.dialect.name
    with quiet(), db.engine.connect() as conn:
        if dialect == "postgresql":
            analyze = "ANALYZE, " if statement_type(statement) == "SELECT" else ""
            tx = conn.begin()
            try:
                row = conn.exec_driver_sql(f"EXPLAIN ({analyze}FORMAT JSON) {statement}", params or {}).scalar()
            finally:
                tx.rollback()  # ANALYZE of a statement with side effects is never kept
            return row if not isinstance(row, str) else json.loads(row)
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", tuple(params or ())).fetchall()
        return [{"id": r[0], "parent": r[1], "detail": r[3]} for r in rows]


def _indexed_first_columns(table: str) -> set[str]:
    insp = inspect(db.engine)
    cols = {idx["column_names"][0] for idx in insp.get_indexes(table) if idx.get("column_names")}
    pk = insp.get_pk_constraint(table).get("constrained_columns") or []
    cols.update(pk[:1])
    for uq in insp.get_unique_constraints(table):
        cols.update(uq["column_names"][:1])
    return cols


def _table_rows(table: str) -> int:
    with quiet(), db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            return int(conn.execute(text("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE relname = :t"),
                                    {"t": table}).scalar() or 0)
        return int(conn.exec_driver_sql(f'SELECT COALESCE(MAX(rowid), 0) FROM "{table}"').scalar() or 0)


def _seq_scans(plan: Any) -> list[tuple[str, str]]:
    """(table, filter) for every sequential scan with a filter in a PostgreSQL JSON plan."""
    found: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Filter"):
            found.append((node.get("Relation Name", ""), node["Filter"]))
        for child in node.get("Plans", []):
            walk(child)

    for item in plan if isinstance(plan, list) else [plan]:
        if isinstance(item, dict) and "Plan" in item:
            walk(item["Plan"])
    return found


def suggest_indexes(statement: str, plan: Any) -> list[str]:
    """`CREATE INDEX` statements for filtered sequential scans of large tables on unindexed columns."""
    candidates: list[tuple[str, list[str]]] = []
    if db.engine.dialect.name == "postgresql":
        for table, filt in _seq_scans(plan):
            candidates.append((table, _FILTER_COLUMN.findall(filt)))
    else:
        for step in plan or []:
            m = re.match(r"SCAN (?:TABLE )?(\w+)", step.get("detail", ""))
            if m:
                candidates.append((m.group(1), _WHERE_COLUMN.findall(statement)))
    threshold = settings.get("db.large_table_rows")
    out = []
    for table, columns in candidates:
        if not table or not columns:
            continue
        try:
            known = {c["name"] for c in inspect(db.engine).get_columns(table)}
            if _table_rows(table) < threshold:
                continue
            indexed = _indexed_first_columns(table)
        except SQLAlchemyError as exc:  # a table that went away
            log.debug("no index suggestion for table %s: %s", table, exc)
            continue
        for col in dict.fromkeys(columns):
            if col in known and col not in indexed:
                out.append(f"CREATE INDEX ix_{table}_{col} ON {table} ({col});")
    return list(dict.fromkeys(out))


def capture_plans(conn: redis.Redis, limit: int = 100) -> int:
    """Take queued slow statements from Redis, explain them and store them. Returns how many."""
    done = 0
    for _ in range(limit):
        raw = conn.rpop(SLOW_KEY)
        if raw is None:
            break
        item = json.loads(raw)
        plan, error, hints = None, "", []
        try:
            plan = explain(item["statement"], item.get("params"))
            hints = suggest_indexes(item["statement"], plan)
        except Exception as exc:  # a plan that cannot be taken is recorded, never fatal  # noqa: BLE001
            error = str(exc).splitlines()[0][:500]
        db.session.add(SlowQuery(
            at=datetime.fromtimestamp(item["at"], UTC), digest=item["digest"], statement=item["text"],
            duration_ms=item["ms"], plan=plan, plan_error=error, suggestions=hints,
        ))
        done += 1
    if done:
        db.session.commit()
    return done


def pool_stats(pool: Any) -> dict[str, Any]:
    """The connection pool in words an operator reads: connections in use, idle, and the most it opens."""
    out: dict[str, Any] = {"class": type(pool).__name__}
    for name, attr in (("in_use", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        fn = getattr(pool, attr, None)
        if callable(fn):
            out[name] = fn()
    max_overflow = getattr(pool, "_max_overflow", None)
    if isinstance(max_overflow, int) and "size" in out:
        out["max_overflow"] = max_overflow
    parts = [f"{out['in_use']} in use" if "in_use" in out else "", f"{out['idle']} idle" if "idle" in out else ""]
    if "max_overflow" in out:
        parts.append(f"size {out['size']} + {out['max_overflow']} overflow")
    out["summary"] = " · ".join(p for p in parts if p) or out["class"]
    return out


def report(conn: redis.Redis, limit: int = 20) -> dict[str, Any]:
    """The report; with Redis unreachable, what the database holds (pool, slow queries) and `unavailable`
    saying why the statement counts, which Redis holds, are missing."""
    unavailable = ""
    try:
        capture_plans(conn)
        rows = statement_stats(conn, limit=limit)
        by_type = type_stats(statement_stats(conn, limit=1000))
    except (redis.RedisError, OSError):
        rows, by_type = [], {}
        unavailable = ("Redis cannot be reached: the statement counts it keeps are not shown until it is back. "
                       "The slow queries below come from the database.")
    slow = list(db.session.scalars(db.select(SlowQuery).order_by(SlowQuery.id.desc()).limit(limit)))
    suggestions = sorted({s for q in slow for s in (q.suggestions or [])})
    pool = db.engine.pool
    return {
        "dialect": db.engine.dialect.name,
        "pool": pool_stats(pool),
        "slow_query_ms": settings.get("db.slow_query_ms"),
        "by_type": by_type,
        "statements": rows,
        "unavailable": unavailable,
        "slow_queries": [{"at": q.at.isoformat(), "statement": q.statement, "duration_ms": q.duration_ms,
                          "plan": q.plan, "plan_error": q.plan_error, "suggestions": q.suggestions or []}
                         for q in slow],
        "index_suggestions": suggestions,
    }
