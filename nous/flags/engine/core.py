"""`Engine`: a set of compiled flags, swapped whole by `load()`, evaluated without any I/O."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from nous.flags.engine import codegen
from nous.flags.engine import explain as explaining
from nous.flags.engine.context import Check, normalize_context
from nous.flags.engine.features import Flag, deps_ok, override, resolve, variant_of, variant_text
from nous.flags.engine.problems import Problems
from nous.flags.engine.strategies import Segment, seg_key
from nous.flags.engine.variants import disabled


def _private_copy(v: Mapping) -> Mapping:
    """The engine keeps its own copy, so later edits of the caller's dicts change nothing."""
    try:
        return copy.deepcopy(v)
    except Exception:  # noqa: BLE001 - an uncopyable object: compile from the original
        return v


def _as_list(v: Any) -> list:
    if v is None:
        return []
    if isinstance(v, Mapping):
        return [v]
    try:
        return list(v)
    except TypeError:
        return []


def _compile(raw: Mapping, segments: Mapping) -> Flag:
    # a stored flag that breaks a rule still evaluates: its problems are for validate_feature to tell
    return Flag(raw, segments, Problems())


class Engine:
    """Compiled flags; `load()` swaps the whole set atomically, evaluation never touches I/O."""

    def __init__(self, features: Iterable[Mapping] = (), segments: Iterable[Mapping] = ()) -> None:
        self._flags: dict[str, Flag] = {}
        # {key: check(context) -> bool}: the whole answer for a plain dict context and no overrides,
        # for flags without dependencies (the rest are not in it). A check may raise on strange
        # input, which callers must treat as off, as is_enabled() does.
        self.direct: dict[str, Check] = {}
        # evaluate_all_json without overrides: generated functions, each answering a run of flags in order
        self._fused: list[Any] | None = None
        self._keys: tuple[str, ...] = ()
        self.load(features, segments)

    def load(self, features: Iterable[Mapping], segments: Iterable[Mapping] = ()) -> None:
        """Compile `features` (Unleash client-API format) and `segments` ([{id, constraints}])."""
        segs: dict[Any, Segment] = {}
        for s in _as_list(segments):
            if isinstance(s, Mapping) and seg_key(s.get("id")) is not None:
                segs[seg_key(s.get("id"))] = Segment(_private_copy(s))
        flags: dict[str, Flag] = {}
        for f in _as_list(features):
            if not isinstance(f, Mapping) or not isinstance(f.get("name"), str):
                continue
            try:
                flags[f["name"]] = _compile(_private_copy(f), segs)
            except Exception:  # noqa: BLE001 - a flag that cannot be compiled is off, never an error
                flags[f["name"]] = _compile({"name": f["name"], "enabled": False}, {})
        self._flags = flags
        self.direct = {key: flag.fast for key, flag in flags.items() if flag.fast is not None}
        self._fused, self._keys = _fuse(flags), tuple(flags)

    def keys(self) -> list[str]:
        return list(self._flags)

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._flags
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self._flags)

    # -- evaluation

    def is_enabled(self, key: str, context: Mapping | None = None,
                   overrides: Mapping[str, bool] | None = None) -> bool:
        """True when the flag is on for this context; a tester override (True/False) wins."""
        if overrides is not None:
            o = override(overrides, key)
            if o is not None:
                return o
        try:
            flags = self._flags
            flag = flags.get(key)
            if flag is None:
                return False
            fast = flag.fast
            if fast is not None and context.__class__ is dict:
                return fast(context)
            if not flag.enabled:
                return False
            ctx = context if context.__class__ is dict else normalize_context(context)
            if flag.deps and not deps_ok(flags, flag, ctx, overrides):
                return False
            return flag.fn(ctx)
        except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
            return False

    def get_variant(self, key: str, context: Mapping | None = None,
                    overrides: Mapping[str, bool] | None = None) -> dict:
        """{"name", "enabled", "payload"?, "feature_enabled"}; "disabled" when off or no variants."""
        try:
            flags = self._flags
            ctx = normalize_context(context)
            flag = flags.get(key)
            if flag is None:
                return disabled(override(overrides, key) is True)
            enabled, strategy = resolve(flags, flag, ctx, overrides)
            return variant_of(flag, enabled, strategy, ctx)
        except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
            return disabled(False)

    def evaluate_all(self, context: Mapping | None = None,
                     overrides: Mapping[str, bool] | None = None) -> dict[str, dict]:
        """{key: {"enabled": bool, "variant": {...}}} for every flag, each evaluated once."""
        flags = self._flags
        ctx = normalize_context(context)
        kept: dict[str, bool] = {}  # constraint answers for this context, shared by the flags (fn_shared)
        out: dict[str, dict] = {}
        for key, flag in flags.items():
            try:
                if flag.simple and (overrides is None or override(overrides, key) is None):
                    enabled = bool(flag.fn_shared(ctx, kept))
                    variant = disabled(enabled)
                else:
                    enabled, strategy = resolve(flags, flag, ctx, overrides)
                    variant = variant_of(flag, enabled, strategy, ctx)
            except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
                enabled, variant = False, disabled(False)
            out[key] = {"enabled": enabled, "variant": variant}
        return out

    def evaluate_all_json(self, context: Mapping | None = None,
                          overrides: Mapping[str, bool] | None = None) -> tuple[str, tuple[str, ...], tuple[bool, ...]]:
        """evaluate_all() as compact JSON text — each variant with "payload" (null when none) — with the
        flags' keys and their answers (enabled or not) in the same order. The text is joined from pieces
        made at load time, so no dict is built and nothing is encoded per call. Without overrides the
        flags are answered by the functions `_fuse` generated (the same answers, fewer calls)."""
        flags = self._flags
        ctx = normalize_context(context)
        fused = self._fused
        if overrides is None and fused is not None:
            try:
                if len(fused) == 1:
                    texts, answers = fused[0](ctx)
                    return "{" + ",".join(texts) + "}", self._keys, answers
                all_texts: list[str] = []
                all_answers: list[bool] = []
                for answer in fused:
                    texts, answers = answer(ctx)
                    all_texts += texts
                    all_answers += answers
                return "{" + ",".join(all_texts) + "}", self._keys, tuple(all_answers)
            except Exception:  # noqa: BLE001, S110 - never expected (each flag's failure is caught inside): the loop answers
                pass
        kept: dict[str, bool] = {}  # as in evaluate_all
        parts: list[str] = []
        found: list[bool] = []
        for key, flag in flags.items():
            try:
                if flag.simple and (overrides is None or override(overrides, key) is None):
                    enabled = bool(flag.fn_shared(ctx, kept))
                    parts.append(flag.json_on if enabled else flag.json_off)
                else:
                    enabled, text = _answer_text(flags, flag, ctx, overrides)
                    parts.append(text)
            except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
                enabled = False
                parts.append(flag.json_off)
            found.append(enabled)
        return "{" + ",".join(parts) + "}", self._keys, tuple(found)

    # -- explanation for the admin preview

    def explain(self, key: str, context: Mapping | None = None,
                overrides: Mapping[str, bool] | None = None) -> dict:
        """Why the flag is on or off for this context (see `explain.explain`)."""
        return explaining.explain(self._flags, key, context, overrides)


def _answer_text(flags: dict[str, Flag], flag: Flag, ctx: dict,
                 overrides: Mapping[str, bool] | None) -> tuple[bool, str]:
    """(enabled, the flag's JSON member) for a flag that evaluate_all_json answers in full."""
    enabled, strategy = resolve(flags, flag, ctx, overrides)
    variant = variant_text(flag, enabled, strategy, ctx)
    return enabled, f'{flag.key_json}:{{"enabled":{"true" if enabled else "false"},"variant":{variant}}}'


def _fuse(flags: dict[str, Flag]) -> list[Any] | None:
    """evaluate_all_json's generated functions for `flags` in order, FUSED_MAX flags each; None when they
    cannot be generated (never expected: the loop gives the same answers)."""
    def spec(flag: Flag) -> tuple[Any, Any, str, str]:
        if flag.simple:
            return tuple(s.parts for s in flag.strategies), None, flag.json_on, flag.json_off
        return None, lambda ctx: _answer_text(flags, flag, ctx, None), flag.json_on, flag.json_off

    run = list(flags.values())
    try:
        return [codegen.generate_all([spec(flag) for flag in run[i:i + codegen.FUSED_MAX]])
                for i in range(0, len(run), codegen.FUSED_MAX)]
    except Exception:  # noqa: BLE001
        return None
