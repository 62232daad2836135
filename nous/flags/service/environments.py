"""Environments: the admin-defined, ordered list every flag has a switch, strategies and schedule in
(development, staging and production at first). The list is never empty: a database without one (a
new install's tables emptied) gets the defaults back on first use."""

from __future__ import annotations

from sqlalchemy import select

from nous.clock import utcnow
from nous.extensions import db
from nous.flags.models import DEFAULT_ENVIRONMENTS, Environment
from nous.flags.service.errors import FlagError


def environments() -> list[Environment]:
    """The environments in their order (the defaults made first when there are none)."""
    rows = list(db.session.scalars(select(Environment).order_by(Environment.position, Environment.id)))
    if rows:
        return rows
    now = utcnow()
    rows = [Environment(name=name, position=i, created_at=now) for i, name in enumerate(DEFAULT_ENVIRONMENTS)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def environment_names() -> list[str]:
    return [e.name for e in environments()]


def check_environment(name: object) -> str:
    """`name` when it is one of the environments, else a FlagError naming the field `environment`."""
    if isinstance(name, str) and name in environment_names():
        return name
    raise FlagError(f"There is no environment {name!r}.", {"environment": "unknown environment"}, status=404)
