"""Client tokens: stored hashed, shown once, revocable."""

from __future__ import annotations

import json

import pytest

from nous.audit import service as audit
from nous.flags import service

ACTOR = "admin@nous.test"


def test_tokens_are_stored_hashed_and_can_be_revoked(ctx) -> None:
    row, raw = service.create_token("web", actor=ACTOR)
    assert raw.startswith("default:production.") and len(raw) == len("default:production.") + 64
    from nous.extensions import db
    from nous.flags.models import ClientToken

    assert db.session.get(ClientToken, row.id).token_hash == service.token_hash(raw) != raw
    assert raw not in json.dumps(service.list_tokens())
    service.revoke_token(row.id, actor=ACTOR)
    assert service.list_tokens()[0]["revoked_at"] is not None
    assert [e.action for e in audit.query(action="flags.token")] == ["flags.token.revoke", "flags.token.create"]
    with pytest.raises(service.FlagError):
        service.create_token("  ", actor=ACTOR)


def test_a_token_name_with_control_characters_is_stored_inert(ctx) -> None:
    """PostgreSQL refuses a NUL in text: the name keeps its length with U+FFFD in its place."""
    row, _raw = service.create_token("ci\x00bot\x1b[2J", actor=ACTOR)
    assert row.name == "ci\ufffdbot\ufffd[2J"
    assert service.list_tokens()[0]["name"] == "ci\ufffdbot\ufffd[2J"
