"""Reading an evaluation context, and parsing the values that flags compare.

A field is looked up at the top level first, then in `properties`; None and "" mean missing. Scalars
compare as the strings a JSON client would send. The parsers below serve both sides, context values
and the values written in a flag's definition, so that both are read by the same rule; the dear ones
are memoised per string (caches that are safe to lose).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import semver

CACHE_LIMIT = 4096  # entries per memo (answers per context value, parsed values); cleared when full

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Check = Callable[[dict], bool]


def always_false(_ctx: dict) -> bool:
    return False


def always_true(_ctx: dict) -> bool:
    return True


# --------------------------------------------------------------------------- context fields


def props_get(ctx: dict, name: str) -> Any:
    props = ctx.get("properties")
    if props.__class__ is dict:
        return props.get(name)
    if props is None or not isinstance(props, Mapping):
        return None
    return props.get(name)


def lookup(ctx: dict, name: str) -> Any:
    """The context value for `name`: top level first, then `properties`; None and "" mean missing."""
    v = ctx.get(name)
    if v is None or (v.__class__ is str and not v):
        v = props_get(ctx, name)
        if v is None or (v.__class__ is str and not v):
            return None
    return v


def to_str(v: Any) -> str | None:
    """Scalars as the strings a JSON client would send; anything else is not a usable value."""
    if isinstance(v, str):
        return str(v) or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    return None


def resolve_str(ctx: dict, name: str, v: Any) -> str | None:
    """Slow path of a string lookup, given `v = ctx.get(name)` that was not a non-empty str."""
    if v is None or v.__class__ is str:  # absent or "": look in properties
        v = props_get(ctx, name)
        if v.__class__ is str:
            return v or None
        if v is None:
            return None
    return to_str(v)


def lookup_str(ctx: dict, name: str) -> str | None:
    v = ctx.get(name)
    if v.__class__ is str and v:
        return v
    return resolve_str(ctx, name, v)


def normalize_context(context: Any) -> dict:
    if context.__class__ is dict:
        return context
    if isinstance(context, Mapping):
        try:
            return dict(context)
        except Exception:  # noqa: BLE001 - a broken mapping is an empty context, never an error
            return {}
    return {}


def plain(v: Any) -> Any:
    """A context value as JSON can carry it, for explain()."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, datetime):
        return v.isoformat()
    return repr(v)


# --------------------------------------------------------------------------- lists of strings


def string_list(values: Any) -> list[str] | None:
    """Usable string values, trimmed, empty ones dropped (as Unleash does); None if not a list."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        return None
    out = []
    for v in values:
        s = to_str(v)
        if s is not None:
            s = s.strip()
            if s:
                out.append(s)
    return out


def split_list(v: Any) -> list[str] | None:
    """A strategy parameter's comma-separated list (or a list)."""
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    return string_list(v)


# --------------------------------------------------------------------------- numbers and dates


def finite(x: float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer past the float range
        return False


@lru_cache(maxsize=CACHE_LIMIT)
def parse_number(s: str) -> float | None:
    s = s.strip()
    if not s or "_" in s:
        return None
    try:
        x = float(s)
    except ValueError:
        return None
    return None if math.isnan(x) else x


def number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else v
    if isinstance(v, str):
        return parse_number(v)
    return None


def _datetime_micros(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=CACHE_LIMIT)
def parse_date(s: str) -> int | None:
    """ISO 8601 → microseconds since the epoch (UTC); a date or time without a zone is UTC."""
    try:
        return _datetime_micros(datetime.fromisoformat(s.strip()))
    except (ValueError, OverflowError):
        return None


def date(v: Any) -> int | None:
    if isinstance(v, datetime):
        try:
            return _datetime_micros(v)
        except (ValueError, OverflowError):
            return None
    if isinstance(v, str):
        return parse_date(v)
    return None


def now_micros() -> int:
    return time.time_ns() // 1000


# --------------------------------------------------------------------------- versions


@lru_cache(maxsize=CACHE_LIMIT)
def semver_key(s: str) -> tuple | None:
    """A sort key with SemVer 2.0 precedence (pre-releases before the release, build ignored)."""
    try:
        v = semver.Version.parse(s.strip())
    except (ValueError, TypeError):
        return None
    if not v.prerelease:
        return (v.major, v.minor, v.patch, 1, ())
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in v.prerelease.split("."))
    return (v.major, v.minor, v.patch, 0, ids)


# --------------------------------------------------------------------------- IP addresses


@lru_cache(maxsize=CACHE_LIMIT)
def parse_ip(s: str) -> tuple[tuple[int, int], ...]:
    """(version, integer) of the address, plus its IPv4 form when IPv4-mapped; () when invalid."""
    try:
        ip = ipaddress.ip_address(s.strip())
    except ValueError:
        return ()
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return ((6, int(ip)), (4, int(mapped)))
    return ((ip.version, int(ip)),)


def parse_network(s: Any) -> tuple[int, int, int] | None:
    """An IP or CIDR as (version, network integer, netmask integer); None when invalid."""
    if not isinstance(s, str) or not s.strip():
        return None
    try:
        net = ipaddress.ip_network(s.strip(), strict=False)
    except ValueError:
        return None
    return (net.version, int(net.network_address), int(net.netmask))


def in_networks(value: str, networks: tuple[tuple[int, int, int], ...]) -> bool:
    for version, address in parse_ip(value):
        for net_version, network, mask in networks:
            if version == net_version and address & mask == network:
                return True
    return False
