"""Feature flags, their environments, versions, segments and client tokens (SPEC section 7), and the
testers' overrides.

A flag's key, description, type, variants, parents and archive state are shared; its switch, strategies
and schedule belong to one environment (`FlagState`, one row per flag and environment). The service
hands out a flag looked at in one environment (`FlagIn`, from `Flag.in_`): its `enabled`,
`strategies`, `enable_at` and `disable_at` read and write that environment's row, so everything that
edits a flag edits it in the environment it was opened in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    column,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nous.clock import aware, utcnow
from nous.extensions import db
from nous.flags.engine import FLAG_TYPES as FLAG_TYPES  # the engine's, re-exported for the store and console


def iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat() if value else None


DEFAULT_ENVIRONMENTS = ("development", "staging", "production")
ID_MAX = 2**31 - 1  # ids and version numbers are database integers (PostgreSQL's Integer): past it, none exists
PRODUCTION = "production"  # where every definition made before environments existed lives, and tokens default


class Environment(db.Model):
    """One environment of the admin-defined, ordered list (development, staging, production at first).
    Flag states and client tokens name it; a rename renames them too (nous.flags.service.environments)."""

    __tablename__ = "flag_environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    counts_moved = True  # not stored: False after a rename that could not take the counts along (Redis away)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "position": self.position}


class FlagState(db.Model):
    """What one flag does in one environment: its switch, strategies and schedule."""

    __tablename__ = "flag_states"

    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    environment: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    strategies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    disable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class Flag(db.Model):
    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint("type IN ('release', 'experiment', 'operational', 'kill-switch', 'permission')",
                        name="type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(20), default="release")
    # Unleash client-API shapes: variants and parent-flag dependencies (strategies are per environment).
    variants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dependencies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    impression_data: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    states: Mapped[list[FlagState]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                   order_by=FlagState.environment)

    def state_in(self, environment: str) -> FlagState | None:
        return next((s for s in self.states if s.environment == environment), None)

    def in_(self, environment: str) -> FlagIn:
        """This flag looked at (and edited) in `environment`."""
        return FlagIn(self, environment)


class FlagIn:
    """A flag looked at in one environment: `enabled`, `strategies`, `enable_at` and `disable_at` are
    that environment's (FlagState), every other attribute the flag's own, read and written through.
    Everything that shows or edits one flag works on one of these, so it cannot mix environments up;
    two views of the same flag in two environments are independent."""

    __slots__ = ("environment", "flag")
    HERE = frozenset({"enabled", "strategies", "enable_at", "disable_at"})

    def __init__(self, flag: Flag, environment: str) -> None:
        object.__setattr__(self, "flag", flag)
        object.__setattr__(self, "environment", environment)

    def __getattr__(self, name: str) -> Any:
        if name in FlagIn.HERE:  # an environment without a state yet: off, no strategies, no schedule
            found = self.flag.state_in(self.environment)
            return getattr(found, name) if found is not None else ([] if name == "strategies" else
                                                                   False if name == "enabled" else None)
        return getattr(self.flag, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.here() if name in FlagIn.HERE else self.flag, name, value)

    def __repr__(self) -> str:
        return f"<Flag {self.flag.key!r} in {self.environment}>"

    def here(self) -> FlagState:
        """This environment's state; one switched off with no strategies when it has none yet (an
        environment added after the flag), made on the first change."""
        found = self.flag.state_in(self.environment)
        if found is None:
            found = FlagState(environment=self.environment, enabled=False, strategies=[])
            self.flag.states.append(found)
        return found

    def state(self) -> dict[str, Any]:
        """Everything a version records: the definition, archive state, and the bound environment's switch,
        strategies and schedule (JSON-ready)."""
        return {
            "key": self.key, "environment": self.environment, "description": self.description or "",
            "type": self.type, "enabled": bool(self.enabled), "strategies": list(self.strategies or []),
            "variants": list(self.variants or []), "dependencies": list(self.dependencies or []),
            "impression_data": bool(self.impression_data),
            "archived": bool(self.archived), "enable_at": iso(self.enable_at), "disable_at": iso(self.disable_at),
        }

    def feature(self) -> dict[str, Any]:
        """The flag in Unleash's client-API feature format (what the engine compiles), in this environment."""
        return {
            "name": self.key, "description": self.description or "", "type": self.type,
            "enabled": bool(self.enabled), "strategies": list(self.strategies or []),
            "variants": list(self.variants or []), "dependencies": list(self.dependencies or []),
        }


class FlagVersion(db.Model):
    """One change of one flag: the state before and after and the computed diff."""

    __tablename__ = "flag_versions"
    __table_args__ = (UniqueConstraint("flag_id", "version", name="uq_flag_versions_flag_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    environment: Mapped[str] = mapped_column(String(100), default=PRODUCTION)  # whose switch/strategies it shows
    action: Mapped[str] = mapped_column(String(30))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON)
    diff: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.flag_key, "version": self.version, "environment": self.environment, "action": self.action,
            "note": self.note,
            "actor": self.actor, "at": iso(self.created_at), "diff": self.diff, "before": self.before,
            "after": self.after,
        }


class Segment(db.Model):
    """A named, reusable list of constraints that strategies refer to by id (Unleash segments)."""

    __tablename__ = "flag_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    constraints: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description or "",
                "constraints": list(self.constraints or [])}


class ClientToken(db.Model):
    """A client-API token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "flag_client_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str] = mapped_column(String(100), default=PRODUCTION)  # the flags it answers with
    # how its text begins, `default:<environment>.<8 hex>` as made: a rename of the environment leaves the text
    text_start: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def start(self) -> str:
        """How the token begins, to recognise it: `default:<environment it was made for>.<8 hex>`, or for a
        token made before environments the stored start of its text (`nous_…`)."""
        if self.prefix.startswith("nous_"):
            return self.prefix
        return self.text_start or f"default:{self.environment}.{self.prefix}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "prefix": self.start, "environment": self.environment,
                "created_at": iso(self.created_at),
                "created_by": self.created_by, "revoked_at": iso(self.revoked_at)}


Index("ix_flag_versions_flag_key", FlagVersion.flag_key)


# Per-tester overrides {flag key: on/off} win over every strategy. They are stored in the tester's row
# (`beta_users.flag_set`, a table of the testers area) and belong to the flags area, which reads and
# writes them through these columns alone: nothing of flags imports the testers area.
tester_flags = table("beta_users", column("id", Uuid), column("email", String), column("flag_set", JSON))


def forced(flag_set: Any) -> dict[str, bool]:
    """The overrides in a stored `flag_set`: {flag key: on/off}, anything else left out."""
    return {str(k): v for k, v in (flag_set or {}).items() if isinstance(v, bool)}
