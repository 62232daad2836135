"""Client tokens: what the SDKs and the evaluate API present. Stored as SHA-256 only; the token itself
is shown once, when created."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import select

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.flags.cache import TOKEN_SEEN_KEY
from nous.flags.models import ID_MAX, ClientToken
from nous.flags.service.environments import check_environment
from nous.flags.service.errors import FlagError
from nous.flags.service.versions import commit
from nous.text import clean_text

TOKEN_NAME_MAX = 100
TOKEN_PROJECT = "default"  # noqa: S105 - Unleash's project part of `project:environment.secret` (one project)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(name: Any, *, actor: str, ip: str = "", environment: str | None = None) -> tuple[ClientToken, str]:
    """A new client token for the flags of `environment`; returns the row and the token itself, which is
    shown this once. Its text has Unleash's shape, `default:<environment>.<secret>`, so tools that read
    the environment from a token read it from ours; the server goes by the stored row, not the text."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > TOKEN_NAME_MAX:
        raise FlagError("The token needs a name.", {"name": f"1 to {TOKEN_NAME_MAX} characters"})
    environment = check_environment(environment, writing=True)
    secret = secrets.token_hex(32)
    raw = f"{TOKEN_PROJECT}:{environment}.{secret}"
    row = ClientToken(name=clean_text(name.strip()), token_hash=token_hash(raw), prefix=secret[:8],
                      text_start=raw[:raw.index(".") + 9], environment=environment, created_at=utcnow(),
                      created_by=actor[:320])
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "flags.token.create", row.name, None, row.as_dict(), ip=ip, commit=False)
    commit()
    return row, raw


def list_tokens() -> list[dict[str, Any]]:
    try:
        seen = {int(k): int(v) for k, v in get_redis().hgetall(TOKEN_SEEN_KEY).items()}
    except (redis.RedisError, OSError, ValueError):
        seen = {}
    out = []
    for t in db.session.scalars(select(ClientToken).order_by(ClientToken.revoked_at.is_not(None),
                                                             ClientToken.id.desc())):
        d = t.as_dict()
        d["last_used_at"] = datetime.fromtimestamp(seen[t.id], UTC).isoformat() if t.id in seen else None
        out.append(d)
    return out


def revoke_token(token_id: int, *, actor: str, ip: str = "") -> ClientToken:
    row = db.session.get(ClientToken, token_id) if 1 <= token_id <= ID_MAX else None
    if row is None:
        raise FlagError(f"no token {token_id}", {"token": "not found"}, status=404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor, "flags.token.revoke", row.name, None, row.as_dict(), ip=ip, commit=False)
        commit()
    return row
