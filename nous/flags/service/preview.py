"""Would this context get the flag, and why: the engine's explanation for the console's preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from nous.extensions import db
from nous.flags.engine import Engine
from nous.flags.models import Flag, Segment
from nous.flags.service.environments import check_environment
from nous.flags.service.overrides import tester_overrides
from nous.flags.service.versions import get_flag


def preview(key: str, context: Mapping[str, Any], environment: str | None = None) -> dict[str, Any]:
    """The engine's explanation over the stored flags of `environment` (read fresh from the database)
    and the tester's overrides."""
    environment = check_environment(environment)
    flag = get_flag(key, environment=environment)
    features = [f.in_(environment).feature() for f in db.session.scalars(select(Flag).where(Flag.archived.is_(False)))]
    segments = [s.as_dict() for s in db.session.scalars(select(Segment))]
    engine = Engine(features, segments)
    overrides = tester_overrides(context.get("userId"))
    if flag.archived:
        return {"key": key, "found": False, "enabled": False, "reason": "the flag is archived", "strategies": [],
                "dependencies": [], "override": None, "variant": {"name": "disabled", "enabled": False}}
    return engine.explain(key, context, overrides or None)
