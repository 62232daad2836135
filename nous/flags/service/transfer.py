"""Export and import: every flag and segment in Unleash's client-API format, one environment's switches,
strategies and schedules at a time (the document names it; `impressionData` travels, a `project`
other than "default" is refused rather than dropped). An import is checked as a whole first — any
invalid part refuses the whole document, with messages naming the feature and field — and then stored
in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nous import inputs
from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.extensions import db
from nous.flags.cache import client_feature, is_stale
from nous.flags.models import PRODUCTION, Flag, FlagIn, Segment
from nous.flags.service.environments import check_environment
from nous.flags.service.errors import FlagError
from nous.flags.service.overview import stale_days
from nous.flags.service.validation import check_key, constraint_problems, normalize, validate
from nous.flags.service.versions import apply, commit, new_flag, record

EXPORT_VERSION = 2
PROJECT = "default"  # Unleash's project of every flag here (there is one)
_FEATURE_FIELDS = {"name", "description", "type", "enabled", "strategies", "variants", "dependencies", "stale",
                   "impressionData", "project", "archived", "enableAt", "disableAt", "createdAt", "lastSeenAt",
                   "tags", "favorite"}


def export_document(include_archived: bool = False, environment: str = PRODUCTION) -> dict[str, Any]:
    """Every flag and segment in Unleash's client-API format as `environment` has them:
    {"version", "environment", "features", "segments"}."""
    environment = check_environment(environment)
    stmt = select(Flag).order_by(Flag.key)
    if not include_archived:
        stmt = stmt.where(Flag.archived.is_(False))
    days = stale_days()
    now = utcnow()
    features = []
    for f in (row.in_(environment) for row in db.session.scalars(stmt)):
        row = client_feature({"key": f.key, "type": f.type, "description": f.description, "enabled": f.enabled,
                              "strategies": [s for s in f.strategies or []], "variants": f.variants,
                              "dependencies": f.dependencies, "impression_data": f.impression_data},
                             is_stale(f.type, aware(f.updated_at), days, now))
        # keep disabled strategies in an export (client_feature leaves them out for SDKs)
        row["strategies"] = list(f.strategies or [])
        if f.archived:
            row["archived"] = True
        if f.enable_at:
            row["enableAt"] = aware(f.enable_at).isoformat()  # type: ignore[union-attr]
        if f.disable_at:
            row["disableAt"] = aware(f.disable_at).isoformat()  # type: ignore[union-attr]
        features.append(row)
    segments = [s.as_dict() for s in db.session.scalars(select(Segment).order_by(Segment.id))]
    return {"version": EXPORT_VERSION, "environment": environment, "features": features, "segments": segments}


def parse_document(text: str | bytes) -> dict[str, Any]:
    """The JSON document of an import; FlagError when it cannot be read."""
    try:
        doc = inputs.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlagError(f"Nothing imported: the file is not valid JSON ({exc}).",
                        {"document": "not valid JSON"}) from None
    if not isinstance(doc, dict):
        raise FlagError("Nothing imported: expected an object {\"version\", \"features\", \"segments\"}.",
                        {"document": "expected an object"})
    return doc


@dataclass
class ImportReport:
    mode: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    segments: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "archived": self.archived, "segments": self.segments}


@dataclass
class _Plan:
    """A checked document and what it meets in the database."""

    mode: str
    segments: list[dict[str, Any]]  # the document's segments, checked
    current_segments: dict[int, Segment]  # the stored ones, by id
    environment: str  # whose switches, strategies and schedules the document sets
    existing: dict[str, FlagIn]  # every stored flag, by key
    states: list[dict[str, Any]] = field(default_factory=list)  # the document's flags, checked
    seen: set[str] = field(default_factory=set)  # every key the document names


def import_document(doc: Mapping[str, Any], *, mode: str = "merge", actor: str, ip: str = "",
                    environment: str | None = None) -> ImportReport:
    """Apply an export: `merge` creates and updates the flags in it and leaves the others; `replace`
    also archives the flags that are not in it (and removes segments not in it). Switches, strategies
    and schedules go to `environment`, by default the one the document names (its "environment"),
    else production. Everything is checked first: any invalid part refuses the whole document, with
    messages naming the feature and field."""
    if mode not in ("merge", "replace"):
        raise FlagError("The import mode is merge or replace.", {"mode": "merge or replace"})
    if not isinstance(doc, Mapping):
        raise FlagError("Nothing imported: expected an object.", {"document": "expected an object"})
    named = doc.get("environment")
    if environment is None and named is not None:
        try:
            environment = check_environment(named)
        except FlagError:
            raise FlagError(f"Nothing imported: the document is for the environment {named!r}, which does not "
                            "exist here; name one to import into.", {"environment": "unknown environment"},
                            status=422) from None
    plan = _check_document(doc, mode, check_environment(environment or PRODUCTION))
    report = ImportReport(mode)
    _store_segments(plan, report)
    _store_flags(plan, report, actor, ip)
    if mode == "replace":
        _archive_missing(plan, report, actor, ip)
    audit.record(actor, "flags.import", "", None, report.as_dict(), ip=ip, commit=False)
    commit()
    return report


# --------------------------------------------------------------------------- checking


def _check_document(doc: Mapping[str, Any], mode: str, environment: str) -> _Plan:
    """Every part of the document checked against itself and the database; FlagError (422) naming
    each problem when anything is wrong."""
    errors: dict[str, str] = {}
    if doc.get("version", EXPORT_VERSION) not in (1, 2):
        errors["version"] = "this server reads versions 1 and 2 of the format"
    features = doc.get("features")
    if not isinstance(features, list):
        errors["features"] = "required list of flags"
        features = []
    plan = _Plan(mode, _check_segments(doc.get("segments"), errors),
                 current_segments={s.id: s for s in db.session.scalars(select(Segment))}, environment=environment,
                 existing={f.key: f.in_(environment) for f in db.session.scalars(select(Flag).order_by(Flag.key))})
    for i, raw in enumerate(features):
        state = _check_feature(i, raw, plan.seen, errors)
        if state is not None:
            plan.states.append(state)
    _check_definitions(plan, errors)
    if errors:
        first = next(iter(errors))
        raise FlagError(f"Nothing imported: {len(errors)} problem(s), the first in {first}.", errors, status=422)
    return plan


def _check_segments(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors["segments"] = "must be a list"
        return []
    out, ids, names = [], set(), set()
    for i, s in enumerate(raw):
        p = f"segments[{i}]"
        if not isinstance(s, Mapping):
            errors[p] = "must be an object"
            continue
        sid = s.get("id")
        if isinstance(sid, bool) or not isinstance(sid, int) or sid < 1:
            errors[f"{p}.id"] = "required whole number ≥ 1"
            continue
        if sid in ids:
            errors[f"{p}.id"] = f"segment {sid} appears twice"
        ids.add(sid)
        name = s.get("name") or f"segment-{sid}"
        if not isinstance(name, str) or len(name) > 200:
            errors[f"{p}.name"] = "text of at most 200 characters"
            continue
        if name in names:
            errors[f"{p}.name"] = f'"{name}" appears twice'
        names.add(name)
        cons = s.get("constraints") or []
        constraint_problems(cons, errors, prefix=f"{p}.")
        out.append({"id": sid, "name": name, "description": str(s.get("description") or ""), "constraints": cons})
    return out


def _check_feature(i: int, raw: Any, seen: set[str], errors: dict[str, str]) -> dict[str, Any] | None:
    """One feature of the document as a state to store (None when its fields cannot be read)."""
    label = f"features[{i}]"
    if not isinstance(raw, Mapping):
        errors[label] = "must be an object"
        return None
    try:
        key = check_key(raw.get("name"))
    except FlagError as exc:
        errors[f"{label}.name"] = exc.errors.get("key", exc.message)
        return None
    label = f'features[{i}] "{key}"'
    if key in seen:
        errors[f"{label}.name"] = "appears twice"
    seen.add(key)
    for k in sorted(set(raw) - _FEATURE_FIELDS):
        errors[f"{label}.{k}"] = "unknown field"
    if raw.get("project", PROJECT) != PROJECT:  # refused rather than dropped: one project here
        errors[f"{label}.project"] = f'only the project "{PROJECT}" exists here'
    state = {"key": key, "description": raw.get("description", ""), "type": raw.get("type") or "release",
             "enabled": raw.get("enabled"), "impression_data": raw.get("impressionData", False),
             "strategies": raw.get("strategies"), "variants": raw.get("variants"),
             "dependencies": raw.get("dependencies"), "enable_at": raw.get("enableAt"),
             "disable_at": raw.get("disableAt"), "archived": raw.get("archived", False) is True,
             "label": label}
    own: dict[str, str] = {}
    normalize(state, own)
    for k, v in own.items():
        errors[f"{label}.{k}"] = v
    return None if own else state


def _check_definitions(plan: _Plan, errors: dict[str, str]) -> None:
    """The engine's checks of each active flag, against the segments and parents there will be after the import."""
    segment_ids = {s["id"] for s in plan.segments} | (set() if plan.mode == "replace" else set(plan.current_segments))
    # the flags after the import (for parent checks): imported ones, plus the kept ones when merging
    after = {s["key"]: s["dependencies"] for s in plan.states if not s["archived"]}
    if plan.mode == "merge":
        for key, f in plan.existing.items():
            if key not in after and key not in plan.seen and not f.archived:
                after[key] = f.dependencies or []
    for state in plan.states:
        if state["archived"]:
            continue
        own: dict[str, str] = {}
        validate(state, segment_ids, {k: v for k, v in after.items() if k != state["key"]}, own)
        for k, v in own.items():
            errors[f'{state["label"]}.{k}'] = v


# --------------------------------------------------------------------------- storing


def _store_segments(plan: _Plan, report: ImportReport) -> None:
    for s in plan.segments:
        row = plan.current_segments.get(s["id"])
        if row is None:
            db.session.add(Segment(id=s["id"], name=s["name"], description=s["description"],
                                   constraints=s["constraints"], created_at=utcnow(), updated_at=utcnow()))
        elif (row.name, row.description, row.constraints) != (s["name"], s["description"], s["constraints"]):
            row.name, row.description, row.constraints, row.updated_at = (s["name"], s["description"],
                                                                          s["constraints"], utcnow())
        report.segments += 1
    if plan.mode == "replace":
        keep = {s["id"] for s in plan.segments}
        for sid, row in plan.current_segments.items():
            if sid not in keep:
                db.session.delete(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagError("Nothing imported: a segment name in the file is already used by another segment.",
                        {"segments": "name already used"}, status=409) from None


def _store_flags(plan: _Plan, report: ImportReport, actor: str, ip: str) -> None:
    note = f"import ({plan.mode})"
    for state in plan.states:
        flag = plan.existing.get(state["key"])
        archived = state.pop("archived")
        state.pop("label")
        if flag is None:
            flag = new_flag(state["key"], plan.environment, state["strategies"])
            apply(flag, state)
            flag.archived = archived
            db.session.flush()
            record(flag, "import", None, actor, ip, note=note)
            report.created.append(flag.key)
            continue
        before = flag.state()
        apply(flag, state)
        flag.archived = archived
        if flag.state() == before:
            report.unchanged.append(flag.key)
            continue
        record(flag, "import", before, actor, ip, note=note)
        report.updated.append(flag.key)


def _archive_missing(plan: _Plan, report: ImportReport, actor: str, ip: str) -> None:
    """`replace`: the active flags the document does not name are archived."""
    for key, flag in plan.existing.items():
        if key not in plan.seen and not flag.archived:
            before = flag.state()
            flag.archived = True
            for row in flag.states:  # archived flags have no schedule, in any environment
                row.enable_at = row.disable_at = None
            record(flag, "archive", before, actor, ip, note="not in the imported document (replace)",
                   audit_action="flags.archive")
            report.archived.append(key)
