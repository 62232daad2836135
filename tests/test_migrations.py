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


# Indexes that only PostgreSQL gets, made with raw SQL in their migration (no model can declare them).
ENGINE_SPECIFIC_INDEXES = {"ix_feedback_message_trgm", "ix_beta_users_email_trgm", "ix_beta_users_notes_trgm",
                           "ix_feedback_attachments_text_trgm"}


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in ENGINE_SPECIFIC_INDEXES)


def test_models_match_the_migrated_schema(ctx) -> None:
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": False, "render_as_batch": True,
                                                    "include_object": _include})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
