"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from config import ROOT
from nous.extensions import db


def test_one_linear_history() -> None:
    script = ScriptDirectory(str(ROOT / "migrations"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    revisions = list(script.walk_revisions())
    assert all(r.revision.isdigit() and len(r.revision) == 4 for r in revisions)


def test_models_match_the_migrated_schema(ctx) -> None:  # noqa: ANN001
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": False, "render_as_batch": True})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
