"""The database monitor: every statement timed, slow ones explained, index suggestions, the report."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from nous.dbmonitor import service
from nous.dbmonitor.monitor import STATS, normalize, statement_type
from nous.extensions import db
from tests.conftest import run_cli


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM t WHERE a = 5 AND b = 'x''y'", "SELECT * FROM t WHERE a = ? AND b = ?"),
    ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?, …)"),
    ("SELECT * FROM t WHERE id IN (%(a)s, %(b)s)", "SELECT * FROM t WHERE id IN (?, …)"),
    ("SELECT col1 FROM t2 WHERE x = :x_1 LIMIT 10", "SELECT col1 FROM t2 WHERE x = ? LIMIT ?"),
    ("UPDATE t SET a=$1\n   WHERE b=$2", "UPDATE t SET a=? WHERE b=?"),
])
def test_normalize_strips_literals_and_parameters(sql: str, expected: str) -> None:
    assert normalize(sql)[0] == expected
    assert normalize(sql)[1] == normalize(expected)[1] or normalize(sql)[0] != expected


def test_statement_types() -> None:
    assert [statement_type(s) for s in ("select 1", "INSERT INTO x", "(SELECT 1)", "VACUUM")] == [
        "SELECT", "INSERT", "SELECT", "OTHER"]


def test_statements_are_counted_across_processes(ctx, redis_conn) -> None:
    STATS.reset()
    for i in range(5):
        db.session.execute(text("SELECT :n + 1"), {"n": i})
    STATS.flush(redis_conn)
    proc = run_cli("nous", "db", "report", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = service.statement_stats(redis_conn)
    mine = next(r for r in rows if r["statement"] == "SELECT ? + ?")
    assert mine["count"] == 5 and mine["type"] == "SELECT"
    assert mine["max_ms"] >= mine["p95_ms"] >= 0 and mine["mean_ms"] is not None


def test_slow_queries_get_plans_and_index_suggestions(ctx, redis_conn) -> None:
    from nous.settings import service as settings

    db.session.execute(text("CREATE TABLE big_things (id INTEGER PRIMARY KEY, owner VARCHAR(40), n INTEGER)"))
    db.session.execute(text("INSERT INTO big_things (id, owner, n) VALUES (:i, :o, :n)"),
                       [{"i": i, "o": f"user{i % 500}", "n": i} for i in range(1, 12001)])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE big_things"))
        db.session.commit()
    try:
        settings.set_value("db.slow_query_ms", 1, actor="test")
        settings.set_value("db.large_table_rows", 10_000, actor="test")
        STATS.refresh_threshold()
        STATS.slow_ms = 0.0  # every statement counts as slow for this test
        db.session.execute(text("SELECT count(*) FROM big_things WHERE owner = :o"), {"o": "user7"}).scalar()
        STATS.flush(redis_conn)
        report = service.report(redis_conn)
        slow = [q for q in report["slow_queries"] if "big_things WHERE owner" in q["statement"]]
        assert slow, report["slow_queries"]
        assert slow[0]["plan"] and not slow[0]["plan_error"]
        assert "CREATE INDEX ix_big_things_owner ON big_things (owner);" in report["index_suggestions"]
        db.session.execute(text("CREATE INDEX ix_big_things_owner ON big_things (owner)"))
        db.session.commit()
        assert service.suggest_indexes("SELECT count(*) FROM big_things WHERE owner = %(o)s",
                                       slow[0]["plan"]) == []
    finally:
        STATS.slow_ms = 100.0
        db.session.rollback()
        db.session.execute(text("DROP TABLE big_things"))
        db.session.commit()


def test_pool_is_reported_in_plain_words(ctx) -> None:
    from nous.dbmonitor.service import pool_stats
    from nous.extensions import db

    with db.engine.connect():
        held = pool_stats(db.engine.pool)
    assert held["in_use"] >= 1 and held["summary"].startswith(f"{held['in_use']} in use")
    assert "Overflow: -" not in held["summary"]
    proc = run_cli("nous", "db", "report")
    assert proc.returncode == 0 and "pool: " in proc.stdout and " idle" in proc.stdout, (proc.stdout, proc.stderr)


def test_binary_parameters_are_logged_by_size_not_by_their_bytes() -> None:
    from psycopg import Binary  # how psycopg wraps bytes bound to a query

    from nous.dbmonitor.monitor import _jsonable

    two_mb = b"\x89PNG" + b"\x00" * 2_000_000
    assert _jsonable((two_mb, memoryview(two_mb), Binary(two_mb), "text", 3)) == [
        "<2,000,004 bytes>", "<2,000,004 bytes>", "<2,000,004 bytes>", "text", 3]
    assert _jsonable({"data": bytearray(b"abc")}) == {"data": "<3 bytes>"}
