"""Reading an evaluation context, and parsing the values that flags compare.

A field is looked up at the top level first, then in `properties`; None and "" mean missing. Scalars
compare as the strings a JSON client would send. The parsers below serve both sides, context values
and the values written in a flag's definition, so that both are read by the same rule; the dear ones
are memoised per string (caches that are safe to lose).
"""

from __future__ import annotations

import ipaddress
import math
import re
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
# a Check that also takes the answers of constraints kept for this context (codegen.generate, shared)
SharedCheck = Callable[[dict, dict], bool]


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
    """A number written in a flag's definition: surrounding spaces allowed."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else v
    if isinstance(v, str):
        return parse_number(v)
    return None


def context_number(v: Any) -> float | None:
    """A number in a context, read as the SDKs' engine reads it (Rust's `f64` parser): ASCII only, no
    surrounding spaces ("1e3", "+5", "inf" are numbers; " 5", "1_000", "١٢" are not)."""
    if v.__class__ is str:
        if not v or not v.isascii() or v[0].isspace() or v[-1].isspace():
            return None
        return parse_number(v)
    return number(v)


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
    """A date written in a flag's definition (ISO 8601)."""
    if isinstance(v, datetime):
        try:
            return _datetime_micros(v)
        except (ValueError, OverflowError):
            return None
    if isinstance(v, str):
        return parse_date(v)
    return None


# RFC 3339 as the SDKs' engine reads a context's date (chrono's relaxed parser): "T", "t" or a space
# between date and time, spaces between the parts, and a zone that must be there (Z, UTC, ±hh:mm, ±hhmm).
_CONTEXT_DATE = re.compile(
    r"\s*(\d{1,4}|[+-]\d+)\s*-\s*(\d{1,2})\s*-\s*(\d{1,2})[Tt ]\s*(\d{1,2})\s*:\s*(\d{1,2})\s*:\s*(\d{1,2})"
    r"(?:\.(\d+))?\s*(?:([Zz]|[Uu][Tt][Cc])|([+\-\u2212])(\d\d):?(\d\d))\s*", re.ASCII)


@lru_cache(maxsize=CACHE_LIMIT)
def parse_context_date(s: str) -> int | None:
    """A context's date and time → microseconds since the epoch; None unless it has a zone."""
    m = _CONTEXT_DATE.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, _utc, sign, zh, zm = m.groups()
    leap = second == "60"  # a leap second: after :59, before the next minute
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second),
                      tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    micros = _datetime_micros(dt) + (999_999 if leap else int((fraction or "0")[:6].ljust(6, "0")))
    if sign is not None:
        offset = (int(zh) * 60 + int(zm)) * 60_000_000
        micros += offset if sign != "+" else -offset
    return micros


def context_date(v: Any) -> int | None:
    if v.__class__ is str:
        return parse_context_date(v)
    return date(v)


def now_micros() -> int:
    return time.time_ns() // 1000


# --------------------------------------------------------------------------- versions


_U64 = 2**64  # a version's numbers are unsigned 64-bit in the SDKs (Rust's semver, node's safe integers)


@lru_cache(maxsize=CACHE_LIMIT)
def semver_key(s: str) -> tuple | None:
    """A sort key with SemVer 2.0 precedence (pre-releases before the release, build ignored); None
    for anything the SDKs refuse: spaces around it, a non-ASCII digit, a number past 2^64 - 1."""
    if not s.isascii():
        return None
    try:
        v = semver.Version.parse(s)
    except (ValueError, TypeError):
        return None
    if v.major >= _U64 or v.minor >= _U64 or v.patch >= _U64:
        return None
    if not v.prerelease:
        return (v.major, v.minor, v.patch, 1, ())
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in v.prerelease.split("."))
    return (v.major, v.minor, v.patch, 0, ids)


# --------------------------------------------------------------------------- IP addresses


@lru_cache(maxsize=CACHE_LIMIT)
def parse_ip(s: str) -> tuple[int, int] | None:
    """(version, integer) of an address written exactly (as Rust's `IpAddr` reads it: no spaces, no
    zone such as "%eth0"); None when invalid. "::ffff:10.0.0.1" is an IPv6 address, as in the SDKs."""
    if "%" in s:
        return None
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    return (ip.version, int(ip))


def _prefix(text: str, bits: int) -> int | None:
    """A prefix length as Rust's `u8` parser reads it ("8", "+8", "08"), at most `bits`."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or not digits.isascii() or not digits.isdigit() or int(digits) > min(bits, 255):
        return None
    return int(digits)


def parse_network(s: Any) -> tuple[int, int, int] | None:
    """An IP or CIDR as (version, network integer, netmask integer); None when invalid. The rules of
    the SDKs' engine (the `ipnetwork` crate): one "/", an IPv4 prefix or netmask ("/255.0.0.0"), an
    IPv6 prefix; host bits may be set."""
    if not isinstance(s, str) or not s.strip():
        return None
    address, slash, prefix = s.strip().partition("/")
    ip = parse_ip(address)
    if ip is None or "/" in prefix:
        return None
    version, value = ip
    width = 32 if version == 4 else 128
    bits: int | None = width
    if slash:
        netmask = parse_ip(prefix) if version == 4 else None
        if netmask is not None and netmask[0] == 4:
            ones = 32 - (~netmask[1] & 0xFFFFFFFF).bit_length()  # the mask's leading ones
            bits = ones if netmask[1] == 0xFFFFFFFF ^ ((1 << (32 - ones)) - 1) else None
        else:
            bits = _prefix(prefix, width)
    if bits is None:
        return None
    mask = ((1 << width) - 1) ^ ((1 << (width - bits)) - 1)
    return (version, value & mask, mask)


def in_networks(value: str, networks: tuple[tuple[int, int, int], ...]) -> bool:
    ip = parse_ip(value)
    if ip is None:
        return False
    version, address = ip
    for net_version, network, mask in networks:
        if version == net_version and address & mask == network:
            return True
    return False
