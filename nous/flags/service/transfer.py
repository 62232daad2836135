"""Export and import: every flag and segment in Unleash's formats. Two documents:

- one environment (`export_document(environment=…)`): the client-API format, {"version": 2, "environment",
  "features", "segments"}, each feature with that environment's `enabled`, `strategies` and schedule;
- every environment (`export_document(environment=None)`): Unleash's full export, {"version": 4,
  "environments", "features", "featureStrategies", "featureEnvironments", "segments", "dependencies",
  "tagTypes"}, each strategy and switch naming its environment, as Unleash's own export does.

An import reads either (and Unleash's own exports) through one rule, `_parts`: the document becomes, per
flag, its shared fields and one state per environment, mapped to environments here — every environment
of a full document to the one of the same name (an environment this server lacks refuses the document,
naming it: nothing is dropped, nothing created behind the admin's back), or, when the admin names one,
the document's only environment (or its part of that name) to it. `impressionData` travels, a `project`
other than "default" is refused rather than dropped, and what NOUS has no place for (tags, context field
definitions) is named in the report. An import is checked as a whole first — any invalid part refuses
the whole document, with messages naming the feature and field — and then stored in one transaction."""

from __future__ import annotations

import itertools
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
from nous.flags.service.environments import check_environment, environment_names, hold, writing_in
from nous.flags.service.errors import FlagError
from nous.flags.service.overview import stale_days
from nous.flags.service.validation import check_key, children_of, constraint_problems, normalize, validate
from nous.flags.service.versions import apply, commit, new_flag, record

EXPORT_VERSION = 2
FULL_VERSION = 4  # Unleash's full export with variants on featureEnvironments (its state export's version 4)
PROJECT = "default"  # Unleash's project of every flag here (there is one)
_FEATURE_FIELDS = {"name", "description", "type", "enabled", "strategies", "variants", "dependencies", "stale",
                   "impressionData", "project", "archived", "enableAt", "disableAt", "createdAt", "lastSeenAt",
                   "tags", "favorite"}
# the full document: what a feature, a strategy and a switch may say (Unleash's fields; the rest is refused)
_FULL_FEATURE_FIELDS = {"name", "description", "type", "variants", "dependencies", "stale", "impressionData",
                        "project", "archived", "archivedAt", "createdAt", "createdBy", "lastSeenAt", "tags",
                        "favorite"}
_STRATEGY_META = {"featureName", "environment", "sortOrder", "projectId", "projectName", "createdAt", "strategyName",
                  "milestoneId"}
_STRATEGY_FIELDS = {"id", "name", "title", "disabled", "segments", "constraints", "variants", "parameters"}
_SWITCH_FIELDS = {"name", "featureName", "environment", "enabled", "variants", "enableAt", "disableAt", "type",
                  "sortOrder", "lastSeenAt", "variantCount", "hasStrategies", "hasEnabledStrategies"}
_FULL_KEYS = ("featureStrategies", "featureEnvironments")  # a document with either is a full one
_UNDERSTOOD = {"version", "environment", "features", "segments", "featureStrategies", "featureEnvironments",
               "environments", "dependencies", "featureStrategySegments", "projects"}
SEGMENT_ID_MAX = 2**31 - 1  # a segment id is a database integer (PostgreSQL's Integer)
ERRORS_MAX = 100  # problems a refused import names, then how many more (a huge bad document, a bounded answer)
SORT_ORDER_MAX = 2**31 - 1
_NO_PLACE = {"tagTypes": "tag types (NOUS has no tags)", "featureTags": "feature tags (NOUS has no tags)",
             "tags": "tags (NOUS has no tags)", "contextFields": "context field definitions (constraints name "
                                                                 "any context field here)",
             "strategies": "strategy definitions (NOUS knows Unleash's built-in strategies)",
             "links": "feature links"}
ALL_ENVIRONMENTS = "*"  # what an export or import names for every environment (Unleash's full export)
IMPORT_MAX_BYTES = 5 * 1024 * 1024  # the largest document an import reads (a full export of ~1,700 flags: 2 MB)


def transfer_environment(raw: object, default: str | None = None) -> str | None:
    """The environment an export or import names: `default` when it names none (None), None for every
    environment (`*`), else one of the environments (an unknown one is check_environment's FlagError)."""
    if raw is None:
        return default
    if raw == ALL_ENVIRONMENTS:
        return None
    return check_environment(raw)


# --------------------------------------------------------------------------- export


def _flags(include_archived: bool) -> list[Flag]:
    stmt = select(Flag).order_by(Flag.key)
    if not include_archived:
        stmt = stmt.where(Flag.archived.is_(False))
    return list(db.session.scalars(stmt))


def _segments() -> list[dict[str, Any]]:
    return [s.as_dict() for s in db.session.scalars(select(Segment).order_by(Segment.id))]


def export_document(include_archived: bool = False, environment: str | None = PRODUCTION) -> dict[str, Any]:
    """Every flag and segment in Unleash's client-API format as `environment` has them:
    {"version", "environment", "features", "segments"}; with `environment=None`, every environment's
    switches, strategies and schedules in Unleash's full export (`export_environments`)."""
    if environment is None:
        return export_environments(include_archived)
    environment = check_environment(environment)
    days = stale_days()
    now = utcnow()
    features = []
    for f in (row.in_(environment) for row in _flags(include_archived)):
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
    return {"version": EXPORT_VERSION, "environment": environment, "features": features, "segments": _segments()}


def export_environments(include_archived: bool = False) -> dict[str, Any]:
    """Every flag, in every environment, in Unleash's full export: the shared fields in `features`, each
    environment's switch (with the flag's variants, and NOUS's schedule as `enableAt`/`disableAt`) in
    `featureEnvironments`, its strategies in order in `featureStrategies`, parents in `dependencies`."""
    names = environment_names()
    days = stale_days()
    now = utcnow()
    features: list[dict[str, Any]] = []
    switches: list[dict[str, Any]] = []
    strategies: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    for flag in _flags(include_archived):
        features.append({"name": flag.key, "description": flag.description or "", "type": flag.type,
                         "project": PROJECT, "stale": is_stale(flag.type, aware(flag.updated_at), days, now),
                         "impressionData": bool(flag.impression_data), "archived": bool(flag.archived)})
        if flag.dependencies:
            dependencies.append({"feature": flag.key, "dependencies": list(flag.dependencies)})
        for name in names:
            f = flag.in_(name)
            switch = {"name": flag.key, "featureName": flag.key, "environment": name, "enabled": bool(f.enabled),
                      "variants": list(flag.variants or [])}
            if f.enable_at:
                switch["enableAt"] = aware(f.enable_at).isoformat()  # type: ignore[union-attr]
            if f.disable_at:
                switch["disableAt"] = aware(f.disable_at).isoformat()  # type: ignore[union-attr]
            switches.append(switch)
            strategies += [{**s, "featureName": flag.key, "environment": name, "sortOrder": i}
                           for i, s in enumerate(f.strategies or [])]
    default = check_environment(None)  # Unleash's type "production": the one NOUS runs in (production at first)
    return {"version": FULL_VERSION,
            "environments": [{"name": name, "type": "production" if name == default else "development",
                              "sortOrder": i, "enabled": True, "protected": False} for i, name in enumerate(names)],
            "features": features, "featureStrategies": strategies, "featureEnvironments": switches,
            "segments": _segments(), "dependencies": dependencies, "tagTypes": []}


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
    environments: list[str] = field(default_factory=list)  # whose switches and strategies the import set
    ignored: list[str] = field(default_factory=list)  # parts of the document NOUS has no place for

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "archived": self.archived, "segments": self.segments, "environments": self.environments,
                "ignored": self.ignored}


@dataclass
class _Entry:
    """One flag of the document: its label for messages, archive state, and a state per environment here."""

    key: str
    label: str
    archived: bool
    envs: dict[str, dict[str, Any]]


@dataclass
class _Plan:
    """A checked document and what it meets in the database."""

    mode: str
    segments: list[dict[str, Any]]  # the document's segments, checked
    current_segments: dict[int, Segment]  # the stored ones, by id
    environments: list[str]  # the environments here the document sets
    existing: dict[str, Flag]  # every stored flag, by key
    here: list[str] = field(default_factory=list)  # the environments here, in order (read once per import)
    entries: list[_Entry] = field(default_factory=list)  # the document's flags, checked
    seen: set[str] = field(default_factory=set)  # every key the document names
    ignored: list[str] = field(default_factory=list)


def import_document(doc: Mapping[str, Any], *, mode: str = "merge", actor: str, ip: str = "",
                    environment: str | None = None) -> ImportReport:
    """Apply an export: `merge` creates and updates the flags in it and leaves the others; `replace`
    also archives the flags that are not in it (and removes segments not in it). Switches, strategies
    and schedules go to `environment` when one is named; else a one-environment document's go to the
    environment it names (else the default one, default_environment()) and a full document's each to the
    environment of its name.
    Everything is checked first: any invalid part refuses the whole document, with messages naming the
    feature and field."""
    if mode not in ("merge", "replace"):
        raise FlagError("The import mode is merge or replace.", {"mode": "merge or replace"})
    if not isinstance(doc, Mapping):
        raise FlagError("Nothing imported: expected an object.", {"document": "expected an object"})
    hold()  # the environments named are the ones written to
    if environment is not None:
        environment = check_environment(environment)
    plan = _check_document(doc, mode, environment)
    writing_in(plan.environments)
    report = ImportReport(mode, environments=list(plan.environments), ignored=plan.ignored)
    _store_segments(plan, report)
    _store_flags(plan, report, actor, ip)
    if mode == "replace":
        _archive_missing(plan, report, actor, ip)
    audit.record(actor, "flags.import", "", None, report.as_dict(), ip=ip, commit=False)
    commit()
    return report


# --------------------------------------------------------------------------- the one rule: environments


def _single_target(doc: Mapping[str, Any], environment: str | None) -> str:
    """Where a one-environment document goes: the environment named, else the document's, else the default
    one (default_environment)."""
    if environment is not None:
        return environment
    named = doc.get("environment")
    if named is None:
        return check_environment(None)
    try:
        return check_environment(named)
    except FlagError as exc:
        raise FlagError(f"Nothing imported: the document is for the environment {named!r}, which does not "
                        "exist here; name one to import into.", exc.errors, status=422) from None


def _mapping(sources: list[str], environment: str | None, here: list[str]) -> dict[str, str]:
    """A full document's environments → the environments here they set (see the module's docstring)."""
    if environment is not None:
        if len(sources) <= 1:
            return {(sources[0] if sources else environment): environment}
        if environment in sources:
            return {environment: environment}
        raise FlagError(f"Nothing imported: the document has the environments {', '.join(sources)}, not "
                        f"{environment}; name one of them, or none to import every one.",
                        {"environment": f"one of {', '.join(sources)}, or none"}, status=422)
    unknown = [s for s in sources if s not in here]
    if unknown:
        raise FlagError(f"Nothing imported: the document's environment(s) {', '.join(unknown)} do not exist "
                        "here. Add them first, or name one environment to import into.",
                        {"environments": f"unknown here: {', '.join(unknown)}"}, status=422)
    if not sources:
        return {(here := check_environment(None)): here}
    return {s: s for s in sources}


# --------------------------------------------------------------------------- checking


def _check_document(doc: Mapping[str, Any], mode: str, environment: str | None) -> _Plan:
    """Every part of the document checked against itself and the database; FlagError (422) naming
    each problem when anything is wrong."""
    errors: dict[str, str] = {}
    full = any(k in doc for k in _FULL_KEYS)
    version = doc.get("version", FULL_VERSION if full else EXPORT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version not in ((2, 3, 4) if full else (1, 2)):
        errors["version"] = ("this server reads versions 2 to 4 of Unleash's full export" if full
                             else "this server reads versions 1 and 2 of the format")
    features = doc.get("features")
    if not isinstance(features, list):
        errors["features"] = "required list of flags"
        features = []
    existing = {f.key: f for f in db.session.scalars(select(Flag).order_by(Flag.key))}
    current = {s.id: s for s in db.session.scalars(select(Segment))}
    plan = _Plan(mode, _check_segments(doc.get("segments"), current, errors), current_segments=current,
                 environments=[], existing=existing, here=environment_names())
    plan.ignored = [f"{k}: {len(v)} {_NO_PLACE[k]}" for k, v in doc.items()
                    if k in _NO_PLACE and isinstance(v, list) and v]
    plan.ignored += [f"{k}: not part of the format" for k in doc if k not in _UNDERSTOOD and k not in _NO_PLACE]
    if full:
        _check_full(doc, features, plan, environment, errors)
    else:
        target = _single_target(doc, environment)
        plan.environments = [target]
        for i, raw in enumerate(features):
            state = _check_feature(i, raw, plan.seen, errors)
            if state is not None:
                plan.entries.append(_Entry(state["key"], state.pop("label"), state.pop("archived"), {target: state}))
    _check_definitions(plan, errors)
    refusal = _replace_refusal(plan) if mode == "replace" else None
    if refusal is not None:
        errors = {"mode": refusal[1], **errors}
        others = len(errors) - 1
        more = f" The document has {others} other problem(s)." if others else ""
        raise FlagError(f"Nothing imported: {refusal[0]}{more}", _capped(errors), status=422)
    if errors:
        first = next(iter(errors))
        raise FlagError(f"Nothing imported: {len(errors)} problem(s), the first in {first}.", _capped(errors),
                        status=422)
    return plan


def _capped(errors: dict[str, str]) -> dict[str, str]:
    """The first ERRORS_MAX problems, then one entry "…" saying how many more there are."""
    if len(errors) <= ERRORS_MAX:
        return errors
    kept = dict(itertools.islice(errors.items(), ERRORS_MAX))
    kept["…"] = f"and {len(errors) - ERRORS_MAX} more problem(s)"
    return kept


def _replace_refusal(plan: _Plan) -> tuple[str, str] | None:
    """`replace` archives the flags and removes the segments the document lacks, and flags and segments are
    shared by every environment: a document that sets only some environments cannot say what the others
    keep. (message, field message) when the document does not set every environment here."""
    here = plan.here
    missing = [name for name in here if name not in plan.environments]
    if not missing:
        return None
    return (f"replace needs a document of every environment ({', '.join(here)}); this import sets only "
            f"{', '.join(plan.environments) or 'none'}. Flags and segments are shared by every environment, "
            "so replace would archive flags and remove segments that the others still use. Use merge to "
            "import one environment, or import a full export of every environment.",
            f"replace needs a document of every environment (this import does not set {', '.join(missing)}); "
            "use merge to import one environment")


def _check_segments(raw: Any, current: Mapping[int, Segment], errors: dict[str, str]) -> list[dict[str, Any]]:
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
        if isinstance(sid, bool) or not isinstance(sid, int) or not 1 <= sid <= SEGMENT_ID_MAX:
            errors[f"{p}.id"] = f"required whole number from 1 to {SEGMENT_ID_MAX}"
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
        if "constraints" not in s:  # Unleash's export names its segments only: the one here stays as it is
            if sid in current:
                row = current[sid]
                out.append({"id": sid, "name": row.name, "description": row.description or "",
                            "constraints": row.constraints or []})
            else:
                errors[f"{p}.constraints"] = (f'required: there is no segment {sid} here (Unleash\'s export names '
                                              "segments without their constraints; create it here first)")
            continue
        description = s.get("description")
        if description is None:
            description = ""
        elif not isinstance(description, str):
            errors[f"{p}.description"] = "must be text"
        cons = s.get("constraints") or []
        constraint_problems(cons, errors, prefix=f"{p}.")
        out.append({"id": sid, "name": name, "description": description, "constraints": cons})
    return out


def _check_feature(i: int, raw: Any, seen: set[str], errors: dict[str, str]) -> dict[str, Any] | None:
    """One feature of a one-environment document as a state to store (None when its fields cannot be read)."""
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
             "disable_at": raw.get("disableAt"), "archived": _archived(raw, label, errors),
             "label": label}
    own: dict[str, str] = {}
    normalize(state, own)
    _segment_refs(state, own)
    for k, v in own.items():
        errors[f"{label}.{k}"] = v
    return None if own else state


def _archived(raw: Mapping[str, Any], label: str, errors: dict[str, str]) -> bool:
    """A feature's `archived`: absent (or null) is not archived; anything else must be true or false."""
    value = raw.get("archived")
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[f"{label}.archived"] = "must be true or false"
        return False
    return value


def _segment_refs(state: Mapping[str, Any], errors: dict[str, str]) -> None:
    """The segment ids a state's strategies name must be ids a segment can have (1 to SEGMENT_ID_MAX)."""
    strategies = state.get("strategies")
    for i, strategy in enumerate(strategies if isinstance(strategies, list) else []):
        refs = strategy.get("segments") if isinstance(strategy, Mapping) else None
        for j, sid in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(sid, bool) or not isinstance(sid, int) or not 1 <= sid <= SEGMENT_ID_MAX:
                if isinstance(sid, str) and sid.strip().isdecimal() and 1 <= int(sid.strip()) <= SEGMENT_ID_MAX:
                    continue  # the engine reads a numeric string as the id
                errors[f"strategies[{i}].segments[{j}]"] = f"a segment id from 1 to {SEGMENT_ID_MAX}"


def _sort_order(raw: Mapping[str, Any], label: str, errors: dict[str, str]) -> int:
    order = raw.get("sortOrder", 0)
    if order is None:
        return 0
    if isinstance(order, float) and order.is_integer():
        order = int(order)
    if isinstance(order, bool) or not isinstance(order, int) or not -SORT_ORDER_MAX <= order <= SORT_ORDER_MAX:
        errors[f"{label}.sortOrder"] = f"must be a whole number from {-SORT_ORDER_MAX} to {SORT_ORDER_MAX}"
        return 0
    return order


def _list(doc: Mapping[str, Any], name: str, errors: dict[str, str]) -> list[Mapping[str, Any]]:
    raw = doc.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors[name] = "must be a list"
        return []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors[f"{name}[{i}]"] = "must be an object"
    return [item for item in raw if isinstance(item, Mapping)]


def _env_of(item: Mapping[str, Any], label: str, errors: dict[str, str]) -> str | None:
    env = item.get("environment")
    if env is not None and not isinstance(env, str):
        errors[f"{label}.environment"] = "must be text"
        return None
    return env


def _check_full(doc: Mapping[str, Any], features: list[Any], plan: _Plan, environment: str | None,
                errors: dict[str, str]) -> None:
    """Unleash's full export: `features` with `featureEnvironments` (switches), `featureStrategies` and
    `dependencies` gathered per flag and environment, mapped to the environments here."""
    strategies = _list(doc, "featureStrategies", errors)
    switches = _list(doc, "featureEnvironments", errors)
    # the document's environments, in its order: its list, then any its switches and strategies name
    named_envs: dict[str, None] = {}  # a dict keeps the order and looks each switch's and strategy's up at once
    for i, e in enumerate(_list(doc, "environments", errors)):
        if not isinstance(e.get("name"), str):
            errors[f"environments[{i}].name"] = "required text"
        else:
            named_envs.setdefault(e["name"])
    for name, items in (("featureEnvironments", switches), ("featureStrategies", strategies)):
        for i, item in enumerate(items):
            env = _env_of(item, f"{name}[{i}]", errors)
            if env is not None:
                named_envs.setdefault(env)
    sources = list(named_envs)
    unnamed = [i for i, s in enumerate(strategies) if s.get("environment") is None]
    if unnamed and len(sources) > 1:  # Unleash's own export of one environment leaves it out
        errors[f"featureStrategies[{unnamed[0]}].environment"] = "required: the document has several environments"
    mapping = _mapping(sources, environment, plan.here)
    plan.environments = list(dict.fromkeys(mapping.values()))
    only = sources[0] if len(sources) == 1 else None

    def env_here(item: Mapping[str, Any]) -> str | None:
        """The environment here an item of the document sets (None: not imported, the admin named another)."""
        env = item.get("environment")
        src = env if isinstance(env, str) else only
        return mapping.get(src) if src is not None else next(iter(mapping.values()))

    for i, p in enumerate(_list(doc, "projects", errors)):
        if p.get("id", p.get("name", PROJECT)) != PROJECT:
            errors[f"projects[{i}]"] = f'only the project "{PROJECT}" exists here'
    by_id: dict[Any, dict[str, Any]] = {}
    per_flag: dict[str, dict[str, dict[str, Any]]] = {}  # key → env here → {"enabled", "strategies", …}
    variants: dict[str, list[tuple[str, Any]]] = {}  # key → [(where, variants)]

    def part(key: str, env: str) -> dict[str, Any]:
        return per_flag.setdefault(key, {}).setdefault(env, {"enabled": False, "strategies": [], "order": []})

    for i, raw in enumerate(switches):
        label = f"featureEnvironments[{i}]"
        for k in sorted(set(raw) - _SWITCH_FIELDS):
            errors[f"{label}.{k}"] = "unknown field"
        key = raw.get("featureName", raw.get("name"))
        env = env_here(raw)
        if not isinstance(key, str):
            errors[f"{label}.featureName"] = "required: the flag's name"
            continue
        if env is None:  # an environment the admin did not name: not imported, its variants neither
            continue
        if "variants" in raw:
            variants.setdefault(key, []).append((f"{label} ({raw.get('environment')})", raw.get("variants")))
        target = part(key, env)
        if "switch" in target:
            errors[f"{label}"] = f'"{key}" has a second switch in {raw.get("environment") or env}'
        target["switch"] = label
        target["enabled"] = raw.get("enabled")
        target["enable_at"], target["disable_at"] = raw.get("enableAt"), raw.get("disableAt")
    for i, raw in enumerate(strategies):
        label = f"featureStrategies[{i}]"
        for k in sorted(set(raw) - _STRATEGY_FIELDS - _STRATEGY_META):
            errors[f"{label}.{k}"] = "unknown field"
        key = raw.get("featureName")
        if not isinstance(key, str):
            errors[f"{label}.featureName"] = "required: the flag's name"
            continue
        if raw.get("projectId", raw.get("projectName", PROJECT)) != PROJECT:
            errors[f"{label}.projectId"] = f'only the project "{PROJECT}" exists here'
        strategy = {k: v for k, v in raw.items() if k in _STRATEGY_FIELDS}
        if "name" not in strategy and "strategyName" in raw:  # Unleash's older exports
            strategy["name"] = raw["strategyName"]
        order = _sort_order(raw, label, errors)
        sid = raw.get("id")
        if isinstance(sid, bool) or (sid is not None and not isinstance(sid, str | int)):
            errors[f"{label}.id"] = "must be text or a whole number"
        elif sid is not None:
            by_id[sid] = strategy
        env = env_here(raw)
        if env is not None:
            target = part(key, env)
            target["strategies"].append(strategy)
            target["order"].append(order)
    linked: dict[Any, list[Any]] = {}  # strategy id → the segment ids its links add, in the document's order
    for i, link in enumerate(_list(doc, "featureStrategySegments", errors)):
        sid = link.get("featureStrategyId")
        if isinstance(sid, bool) or not isinstance(sid, str | int) or sid not in by_id:
            errors[f"featureStrategySegments[{i}].featureStrategyId"] = "no strategy of the document has this id"
            continue
        linked.setdefault(sid, []).append(link.get("segmentId"))
    for sid, segment_ids in linked.items():  # each strategy's list built once, not copied per link
        had = by_id[sid].get("segments")
        by_id[sid]["segments"] = [*(had if isinstance(had, list) else []), *segment_ids]
    parents: dict[str, Any] = {}
    for i, dep in enumerate(_list(doc, "dependencies", errors)):
        if not isinstance(dep.get("feature"), str):
            errors[f"dependencies[{i}].feature"] = "required: the flag's name"
        else:
            parents[dep["feature"]] = dep.get("dependencies")

    for i, raw in enumerate(features):
        _check_full_feature(i, raw, plan, per_flag, variants, parents, errors)
    named = set(per_flag) | set(variants) | set(parents)
    for key in sorted(named - plan.seen):
        errors[f'"{key}"'] = "named by a switch, strategy or dependency but not in features"


def _check_full_feature(i: int, raw: Any, plan: _Plan, per_flag: Mapping[str, Mapping[str, dict[str, Any]]],
                        variants: Mapping[str, list[tuple[str, Any]]], parents: Mapping[str, Any],
                        errors: dict[str, str]) -> None:
    label = f"features[{i}]"
    if not isinstance(raw, Mapping):
        errors[label] = "must be an object"
        return
    try:
        key = check_key(raw.get("name"))
    except FlagError as exc:
        errors[f"{label}.name"] = exc.errors.get("key", exc.message)
        return
    label = f'features[{i}] "{key}"'
    if key in plan.seen:
        errors[f"{label}.name"] = "appears twice"
    plan.seen.add(key)
    for k in sorted(set(raw) - _FULL_FEATURE_FIELDS):
        errors[f"{label}.{k}"] = ("in this format, in featureEnvironments / featureStrategies"
                                  if k in ("enabled", "strategies", "enableAt", "disableAt") else "unknown field")
    if raw.get("project", PROJECT) != PROJECT:
        errors[f"{label}.project"] = f'only the project "{PROJECT}" exists here'
    # NOUS keeps one list of variants per flag: the document's lists of it must agree
    lists = [(f"{label}.variants", raw["variants"])] if "variants" in raw else []
    lists += variants.get(key, [])
    if any(v != lists[0][1] for _, v in lists[1:]):
        differ = next(where for where, v in lists if v != lists[0][1])
        errors[f"{label}.variants"] = (f"differ between {lists[0][0]} and {differ}: NOUS keeps one list of "
                                       "variants per flag, the same in every environment")
    shared = {"key": key, "description": raw.get("description", ""), "type": raw.get("type") or "release",
              "impression_data": raw.get("impressionData", False), "variants": lists[0][1] if lists else None,
              "dependencies": parents.get(key, raw.get("dependencies"))}
    envs: dict[str, dict[str, Any]] = {}
    bad = False
    for env in plan.environments:
        got = per_flag.get(key, {}).get(env, {"enabled": False, "strategies": [], "order": []})
        ordered = [s for _, s in sorted(zip(got["order"], range(len(got["order"])), strict=True))]
        state = {**shared, "enabled": got["enabled"], "strategies": [got["strategies"][j] for j in ordered],
                 "enable_at": got.get("enable_at"), "disable_at": got.get("disable_at")}
        own: dict[str, str] = {}
        normalize(state, own)
        _segment_refs(state, own)
        for k, v in own.items():
            errors[f"{label}.{k}" if k in ("description", "type", "impression_data", "variants", "dependencies")
                   else f"{label} in {env}.{k}"] = v
        bad = bad or bool(own)
        envs[env] = state
    archived = _archived(raw, label, errors)
    if not bad:  # as in a one-environment document: a flag whose fields cannot be read is not checked further
        plan.entries.append(_Entry(key, label, archived, envs))


def _check_definitions(plan: _Plan, errors: dict[str, str]) -> None:
    """The engine's checks of each active flag in each environment, against the segments and parents there
    will be after the import."""
    segment_ids = {s["id"] for s in plan.segments} | (set() if plan.mode == "replace" else set(plan.current_segments))
    # the flags after the import (for parent checks): imported ones, plus the kept ones when merging
    after = {e.key: next(iter(e.envs.values()))["dependencies"] for e in plan.entries if not e.archived and e.envs}
    if plan.mode == "merge":
        for key, f in plan.existing.items():
            if key not in after and key not in plan.seen and not f.archived:
                after[key] = f.dependencies or []
    children = children_of(after)  # built once: each flag's check looks its own key up
    for entry in plan.entries:
        if entry.archived:
            continue
        for env, state in entry.envs.items():
            own: dict[str, str] = {}
            validate(state, segment_ids, after, own, children=children)
            where = entry.label if len(plan.environments) == 1 else f"{entry.label} in {env}"
            for k, v in own.items():
                errors[f"{where}.{k}"] = v


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
    """Each flag, environment by environment: a version for each environment whose state changed."""
    note = f"import ({plan.mode})"
    for entry in plan.entries:
        row = plan.existing.get(entry.key)
        created = changed = False
        for env, state in entry.envs.items():
            if row is None:
                f = new_flag(entry.key, env, state["strategies"], plan.here)
                apply(f, state)
                f.archived = entry.archived
                db.session.flush()
                record(f, "import", None, actor, ip, note=note)
                row, created = f.flag, True
                continue
            f = row.in_(env)
            before = f.state()
            apply(f, state)
            f.archived = entry.archived
            if f.state() != before:
                record(f, "import", before, actor, ip, note=note)
                changed = True
        (report.created if created else report.updated if changed else report.unchanged).append(entry.key)


def _archive_missing(plan: _Plan, report: ImportReport, actor: str, ip: str) -> None:
    """`replace`: the active flags the document does not name are archived."""
    for key, row in plan.existing.items():
        if key not in plan.seen and not row.archived:
            flag: FlagIn = row.in_(plan.environments[0])
            before = flag.state()
            flag.archived = True
            for state in row.states:  # archived flags have no schedule, in any environment
                state.enable_at = state.disable_at = None
            record(flag, "archive", before, actor, ip, note="not in the imported document (replace)",
                   audit_action="flags.archive")
            report.archived.append(key)
