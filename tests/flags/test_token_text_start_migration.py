"""Migration 0015: tokens made before it keep the start they were listed by; a token of before
environments (`nous_…`) keeps its own. Runs on the suite's engine (SQLite here, PostgreSQL in CI)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from nous.extensions import db
from nous.flags import service

TOKENS = sa.table("flag_client_tokens", sa.column("name", sa.String), sa.column("token_hash", sa.String),
                  sa.column("prefix", sa.String), sa.column("environment", sa.String),
                  sa.column("created_at", sa.DateTime(timezone=True)), sa.column("created_by", sa.String))


def test_tokens_made_before_keep_the_start_they_were_listed_by(app, ctx) -> None:
    db.session.remove()
    downgrade(revision="0014")
    try:
        with db.engine.begin() as conn:
            conn.execute(TOKENS.insert(), [
                {"name": "staging app", "token_hash": "a" * 64, "prefix": "0123abcd", "environment": "staging",
                 "created_at": datetime.now(UTC), "created_by": "seed"},
                {"name": "legacy", "token_hash": "b" * 64, "prefix": "nous_9f8e7d", "environment": "production",
                 "created_at": datetime.now(UTC), "created_by": "seed"}])
    finally:
        upgrade(revision="heads")
    starts = {t["name"]: t["prefix"] for t in service.list_tokens()}
    assert starts == {"staging app": "default:staging.0123abcd", "legacy": "nous_9f8e7d"}
    service.rename_environment("staging", "stage", actor="test")
    assert {t["name"]: t["prefix"] for t in service.list_tokens()}["staging app"] == "default:staging.0123abcd"
