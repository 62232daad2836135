"""Constraints: one `{contextName, operator, values | value, inverted, caseInsensitive}` → a check.

`compile_constraint` reads the constraint once, per operator family, and for each field states its
rule once: what makes it usable for evaluation and, in words, what makes the definition wrong. An
unusable constraint is always false, even when inverted; a missing or unparsable context value gives
false, which `inverted` then negates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from operator import eq, ge, gt, le, lt
from typing import Any

import re2

from nous.flags.engine.context import (
    CACHE_LIMIT,
    Check,
    always_false,
    context_date,
    context_number,
    date,
    finite,
    in_networks,
    lookup,
    now_micros,
    number,
    parse_network,
    props_get,
    resolve_str,
    semver_key,
    string_list,
)
from nous.flags.engine.problems import Problems

# with a list of `values`:
#   IN, NOT_IN, STR_CONTAINS, STR_STARTS_WITH, STR_ENDS_WITH, IN_CIDR
# with one `value`:
#   NUM_EQ, NUM_GT, NUM_GTE, NUM_LT, NUM_LTE, DATE_AFTER, DATE_BEFORE,
#   SEMVER_EQ, SEMVER_GT, SEMVER_GTE, SEMVER_LT, SEMVER_LTE, REGEX
# (`OPERATORS`, at the end, is the set of names that `_COMPILERS` knows)
CASE_SENSITIVE = frozenset({"IN", "NOT_IN"})  # operators that ignore `caseInsensitive` (see _compile_in)

_COMPARE = {"EQ": eq, "GT": gt, "GTE": ge, "LT": lt, "LTE": le}
_SYMBOL = {"EQ": "==", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}


def compile_constraint(c: Any, at: Problems) -> Check:
    """One constraint as `check(context) -> bool`; its problems are added to `at`."""
    if not isinstance(c, Mapping):
        at.add("", "must be an object")
        return always_false
    name, op = c.get("contextName"), c.get("operator")
    if not isinstance(name, str) or not name.strip():
        at.add("contextName", "required non-empty string")
    if not isinstance(op, str) or op not in OPERATORS:
        at.add("operator", f'unknown operator "{op}"')
        return always_false
    inv = at.boolean(c, "inverted")
    ci = at.boolean(c, "caseInsensitive")
    if ci and op in CASE_SENSITIVE:
        at.note(f'"ignore case" is set on {op}, which always compares exactly (as the Unleash SDKs do)')
    check = _COMPILERS[op](name, op, c, inv, ci, at)
    return check if isinstance(name, str) and name else always_false


# --------------------------------------------------------------------------- values of the definition


def _values(c: Mapping, at: Problems) -> tuple[bool, list[str] | None]:
    """(whether `values` is the list of strings it must be, the usable values): `values`, else a
    `value`, trimmed, empty ones dropped (as Unleash does); None when there is no list at all."""
    raw = c.get("values")
    shaped = isinstance(raw, list) and all(isinstance(v, str) for v in raw)
    if not shaped:
        at.add("values", "required list of strings")
    else:
        # the Python SDK compares values as written, the Node SDK trims them and drops empty ones: a
        # value that is exact either way is one they agree on
        for v in raw:
            if not _exact(v):
                at.add("values", f'"{v}" is empty or has spaces around it (the SDKs would not agree on it)')
    if raw is None:
        raw = c.get("value")
        if raw is None:
            return shaped, None
    return shaped, string_list(raw)


def _exact(v: str) -> bool:
    return bool(v) and v == v.strip()


def _value(c: Mapping, at: Problems) -> tuple[bool, Any]:
    """(whether `value` is given, the value to use): `value`, else the only one of `values`."""
    value = c.get("value")
    if value is not None and value != "":
        return True, value
    at.add("value", "required")
    values = c.get("values")
    if isinstance(values, (list, tuple)) and len(values) == 1:
        value = values[0]
    return False, value


def _text(given: bool, value: Any, at: Problems) -> bool:
    """A given value of these operators must be a string; True when it is one worth checking further."""
    if not given:
        return False
    if not isinstance(value, str):
        at.add("value", "must be a string")
        return False
    return True


# How the SDKs' engine reads a definition's number and date (its rule grammar): anything else turns
# the whole flag off in the Python SDK, so such values are refused here.
_SDK_NUMBER = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", re.ASCII)
_SDK_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)


def _sdk_number(value: str) -> bool:
    return _SDK_NUMBER.fullmatch(value.strip()) is not None


# --------------------------------------------------------------------------- string checks


def _string_check(name: str, pred: Callable[[str], bool], missing: bool, inv: bool,
                  memo: bool = False, inline: tuple[str, Any] | None = None, empty: bool = False) -> Check:
    """`pred` on the context value as a string (`missing` when the field is absent), then negated
    when inverted. With `memo`, answers are remembered per value (a cache that is safe to lose,
    cleared when full): only for dear predicates (RE2, CIDR), as a miss costs more than a cheap test.
    With `empty`, a field that is there but "" is tested as "" (a regex may match it, as in the SDKs)
    rather than counted as missing.
    `inline` = (expression over `v` and `K`, the constant K) is the same predicate as source text, so
    that `codegen.generate` can write it into a strategy's compiled function (see there)."""
    missing_result = missing is not inv
    # the lookup is written out in both closures: a shared helper would cost a call per evaluation
    if not memo:

        def check(ctx: dict) -> bool:
            v = ctx.get(name)
            if v is None:
                p = ctx.get("properties")
                v = p.get(name) if p.__class__ is dict else props_get(ctx, name)
            if v.__class__ is not str or not v:
                v = resolve_str(ctx, name, v)
                if v is None:
                    return missing_result
            return pred(v) is not inv

        if inline is not None:
            check.inline = ("string", name, inline[0], inline[1], missing_result, inv)  # type: ignore[attr-defined]
        return check

    results: dict[str, bool] = {}
    remembered = results.get

    def memo_check(ctx: dict) -> bool:
        v = ctx.get(name)
        if v is None:
            p = ctx.get("properties")
            v = p.get(name) if p.__class__ is dict else props_get(ctx, name)
        if v.__class__ is not str or not v:
            v = resolve_str(ctx, name, v)
            if v is None:
                if not (empty and _is_empty(ctx, name)):
                    return missing_result
                v = ""
        r = remembered(v)
        if r is None:
            r = pred(v) is not inv
            if len(results) >= CACHE_LIMIT:
                results.clear()
            results[v] = r
        return r

    return memo_check


def _is_empty(ctx: dict, name: str) -> bool:
    """The field is given, as "" (at the top level or in `properties`)."""
    return ctx.get(name) == "" or props_get(ctx, name) == ""


def _re2_options(case_insensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    options.case_sensitive = not case_insensitive
    return options


def compile_regex(pattern: str, case_insensitive: bool) -> Callable[[str], bool] | None:
    """An RE2 search (unanchored, like Unleash) as a boolean function; None when RE2 refuses it."""
    try:
        re2.compile(pattern, _re2_options(case_insensitive))  # validates, with RE2's error on refusal
        regex_set = re2.Set.SearchSet(_re2_options(case_insensitive))
        regex_set.Add(pattern)
        regex_set.Compile()
    except (re2.error, TypeError, ValueError):
        return None
    match = regex_set.Match
    return lambda s: bool(match(s))


# --------------------------------------------------------------------------- operator families
# Each takes (contextName, operator, constraint, inverted, caseInsensitive, problems) and returns the
# check, adding the problems of its values as it reads them.


def _compile_in(name: str, op: str, c: Mapping, inv: bool, _ci: bool, at: Problems) -> Check:
    # `caseInsensitive` is ignored: IN and NOT_IN always compare exactly, as in both official SDKs and
    # Unleash's documentation (the client specification's case-insensitive IN test was withdrawn, #53)
    _shaped, values = _values(c, at)
    if values is None:
        return always_false
    member = frozenset(values)
    pred = member.__contains__
    expr = "v in K"
    if op == "IN":
        return _string_check(name, pred, False, inv, inline=(expr, member))
    return _string_check(name, lambda s: not pred(s), True, inv, inline=(f"not ({expr})", member))


def _compile_str(name: str, op: str, c: Mapping, inv: bool, ci: bool, at: Problems) -> Check:
    _shaped, values = _values(c, at)
    if values is None:
        return always_false
    needles = tuple(v.lower() for v in values) if ci else tuple(values)
    subject = "v.lower()" if ci else "v"
    inline: tuple[str, Any] | None = None
    if op == "STR_STARTS_WITH":
        pred = (lambda s: s.lower().startswith(needles)) if ci else (lambda s: s.startswith(needles))
        inline = (f"{subject}.startswith(K)", needles)
    elif op == "STR_ENDS_WITH":
        pred = (lambda s: s.lower().endswith(needles)) if ci else (lambda s: s.endswith(needles))
        inline = (f"{subject}.endswith(K)", needles)
    else:
        if ci:
            pred = lambda s: any(n in s.lower() for n in needles)  # noqa: E731
        else:
            pred = lambda s: any(n in s for n in needles)  # noqa: E731
        if len(needles) == 1:
            inline = (f"K in {subject}", needles[0])
    return _string_check(name, pred, False, inv, inline=inline)


def _compile_cidr(name: str, _op: str, c: Mapping, inv: bool, _ci: bool, at: Problems) -> Check:
    shaped, values = _values(c, at)
    networks = []
    for v in c["values"] if shaped else values or ():  # the raw entries, when they can be named
        n = parse_network(v)
        if n is not None:
            networks.append(n)
        elif shaped and _exact(v):
            at.add("values", f'invalid IP address or CIDR "{v}"')
    if values is None:
        return always_false
    found = tuple(networks)
    return _string_check(name, lambda s: in_networks(s, found), False, inv, memo=True)


def _compile_num(name: str, op: str, c: Mapping, inv: bool, _ci: bool, at: Problems) -> Check:
    given, value = _value(c, at)
    target = number(value)
    # a string, as in Unleash's client API: a JSON number there makes the Python SDK refuse every flag
    if _text(given, value, at) and (target is None or not finite(target) or not _sdk_number(value)):
        at.add("value", f'not a number "{value}"')
    if target is None:
        return always_false
    cmp = _COMPARE[op[4:]]

    def num_check(ctx: dict) -> bool:
        v = lookup(ctx, name)
        x = None if v is None else context_number(v)
        if x is None:
            return inv
        return cmp(x, target) is not inv

    return num_check


def _compile_date(name: str, op: str, c: Mapping, inv: bool, _ci: bool, at: Problems) -> Check:
    given, value = _value(c, at)
    target = date(value)
    if _text(given, value, at) and (target is None or not _SDK_DATE.fullmatch(value.strip())):
        at.add("value", f'not an ISO 8601 date and time "{value}" (write it as the SDKs read it: '
                        "2024-05-01T00:00:00Z, 2024-05-01T00:00:00.000+02:00)")
    if target is None:
        return always_false
    after = op == "DATE_AFTER"
    now_if_missing = name == "currentTime"

    def date_check(ctx: dict) -> bool:
        v = lookup(ctx, name)
        if v is None:
            if not now_if_missing:
                return inv
            t = now_micros()
        else:
            t = context_date(v)
            if t is None:
                return inv
        return (t > target if after else t < target) is not inv

    return date_check


def _compile_semver(name: str, op: str, c: Mapping, inv: bool, _ci: bool, at: Problems) -> Check:
    given, value = _value(c, at)
    target = semver_key(value.strip()) if isinstance(value, str) else None
    if _text(given, value, at) and target is None:
        at.add("value", f'not a semantic version "{value}"')
    if target is None:
        return always_false
    cmp = _COMPARE[op[7:]]

    def semver_pred(s: str) -> bool:
        k = semver_key(s)
        return k is not None and cmp(k, target)

    return _string_check(name, semver_pred, False, inv,
                         inline=(f"(k := _semver_key(v)) is not None and k {_SYMBOL[op[7:]]} K", target))


def _compile_regex(name: str, _op: str, c: Mapping, inv: bool, ci: bool, at: Problems) -> Check:
    given, value = _value(c, at)
    search = compile_regex(value, ci) if isinstance(value, str) and value else None
    if _text(given, value, at) and search is None:
        at.add("value", f'not a valid RE2 regular expression "{value}"')
    if search is None:
        return always_false
    return _string_check(name, search, False, inv, memo=True, empty=True)


_COMPILERS: dict[str, Callable[[str, str, Mapping, bool, bool, Problems], Check]] = {
    "IN": _compile_in, "NOT_IN": _compile_in, "IN_CIDR": _compile_cidr,
    "STR_CONTAINS": _compile_str, "STR_STARTS_WITH": _compile_str, "STR_ENDS_WITH": _compile_str,
    **dict.fromkeys(("NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE"), _compile_num),
    "DATE_AFTER": _compile_date, "DATE_BEFORE": _compile_date,
    **dict.fromkeys(("SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE", "SEMVER_LT", "SEMVER_LTE"), _compile_semver),
    "REGEX": _compile_regex,
}
OPERATORS = frozenset(_COMPILERS)
