"""Every runtime setting with its type, default, bounds and meaning.

A parser takes what a person typed (or a value from YAML/JSON) and returns the typed value or raises
`SettingError` with the reason. Adding a setting is one `Definition` line here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many


class SettingError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _number(kind: type, lo: float, hi: float) -> Callable[[Any], Any]:
    def parse(raw: Any) -> Any:
        if isinstance(raw, bool):
            raise ValueError(f"expected a {'whole ' if kind is int else ''}number")
        try:
            value = kind(str(raw).strip()) if isinstance(raw, str) else kind(raw)
        except (TypeError, ValueError):
            raise ValueError(f"expected a {'whole ' if kind is int else ''}number, got {raw!r}") from None
        if kind is int and isinstance(raw, float) and raw != int(raw):
            raise ValueError(f"expected a whole number, got {raw!r}")
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g}")
        return value

    return parse


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _str_list(raw: Any) -> list[str]:
    if isinstance(raw, str):
        items = [p.strip() for p in raw.replace("\n", ",").split(",")]
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        items = [p.strip() for p in raw]
    else:
        raise ValueError("expected a list of text values")
    return [p for p in items if p]


def _origins(raw: Any) -> list[str]:
    out = []
    for origin in _str_list(raw):
        if origin == "*":
            out.append(origin)
            continue
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"} or parts.query:
            raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        out.append(f"{parts.scheme}://{parts.netloc}".lower())
    return out


def _rate(raw: Any) -> str:
    text = str(raw).strip()
    try:
        if not parse_many(text):
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not a rate like '10/minute' or '5 per second; 100 per hour'") from None
    return text


def _probes(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ValueError("expected a list of {name, url, expect_status}")
    out, names = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValueError(f"[{i}]: expected an object with name, url, expect_status")
        name = str(item.get("name", "")).strip()
        url = str(item.get("url", "")).strip()
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"[{i}].name: letters, digits, - and _ only")
        if name in names:
            raise ValueError(f"[{i}].name: {name!r} appears twice")
        names.add(name)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"[{i}].url: expected an http(s) URL")
        try:
            expect = int(item.get("expect_status", 200))
            timeout = float(item.get("timeout", 3))
        except (TypeError, ValueError):
            raise ValueError(f"[{i}]: expect_status and timeout must be numbers") from None
        if not 100 <= expect <= 599:
            raise ValueError(f"[{i}].expect_status: must be an HTTP status")
        if not 0.1 <= timeout <= 30:
            raise ValueError(f"[{i}].timeout: must be between 0.1 and 30 seconds")
        out.append({"name": name, "url": url, "expect_status": expect, "timeout": timeout})
    return out


def _hosts(raw: Any) -> list[str]:
    out = []
    for host in _str_list(raw):
        host = host.lower()
        try:
            ipaddress.ip_network(host, strict=False)
        except ValueError:
            if not all(part.replace("-", "").isalnum() for part in host.removeprefix("*.").split(".")):
                raise ValueError(f"{host!r} is not a host name, IP or network") from None
        out.append(host)
    return out


def _networks(raw: Any) -> list[str]:
    try:
        return [str(ipaddress.ip_network(n, strict=False)) for n in _str_list(raw)]
    except ValueError as exc:
        raise ValueError(f"expected IP addresses or networks like 10.0.0.0/8 ({exc})") from None


@dataclass(frozen=True)
class Definition:
    key: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    kind: str


def _d(key: str, default: Any, parse: Callable[[Any], Any], kind: str, help: str) -> Definition:
    return Definition(key, default, parse, help, kind)


DEFINITIONS: dict[str, Definition] = {d.key: d for d in [
    _d("alerts.cpu_percent", 95.0, _number(float, 1, 100), "float",
       "Alert when CPU use stays above this percentage."),
    _d("alerts.memory_percent", 95.0, _number(float, 1, 100), "float",
       "Alert when memory use is above this percentage."),
    _d("alerts.disk_percent", 90.0, _number(float, 1, 100), "float",
       "Alert when the data disk is fuller than this percentage."),
    _d("alerts.error_rate", 0.05, _number(float, 0, 1), "float",
       "Alert when this share of requests fail with a 5xx (0.05 = 5 %)."),
    _d("alerts.queue_backlog", 1000, _number(int, 1, 10_000_000), "int",
       "Alert when more jobs than this wait in the queues."),
    _d("alerts.email", True, _bool, "bool",
       "Email the admin when an alert is raised."),
    _d("metrics.collector_interval_seconds", 30, _number(int, 5, 3600), "int",
       "How often the collector samples system metrics."),
    _d("metrics.raw_retention_days", 7, _number(int, 1, 365), "int",
       "Days raw samples are kept before only hourly roll-ups remain."),
    _d("metrics.rollup_retention_days", 180, _number(int, 1, 3650), "int",
       "Days hourly roll-ups are kept."),
    _d("health.cache_seconds", 5, _number(int, 0, 300), "int",
       "Seconds the results of slow health checks are reused."),
    _d("health.probes", [], _probes, "probes",
       "External services NOUS depends on: name, url, expect_status, timeout."),
    _d("db.slow_query_ms", 100, _number(int, 1, 600_000), "int",
       "Statements slower than this are logged with their plan."),
    _d("db.large_table_rows", 10_000, _number(int, 1, 10**12), "int",
       "Tables at least this large get index suggestions."),
    _d("feedback.widget_origins", [], _origins, "origins",
       "Origins allowed to post feedback from the widget (CORS)."),
    _d("feedback.rate_limit", "10/minute;100/hour", _rate, "rate",
       "Feedback submissions allowed per client IP."),
    _d("feedback.min_submit_ms", 1500, _number(int, 0, 600_000), "int",
       "Forms submitted faster than this after opening are dropped as bots."),
    _d("auth.rate_limit", "10/minute", _rate, "rate",
       "Sign-in attempts allowed per client IP."),
    _d("auth.session_idle_minutes", 60, _number(int, 5, 1440), "int",
       "Sign the admin out after this long without a request."),
    _d("auth.session_absolute_hours", 12, _number(int, 1, 720), "int",
       "Sign the admin out this long after sign-in, active or not."),
    _d("api.rate_limit", "600/minute", _rate, "rate",
       "Client API calls allowed per token or IP."),
    _d("flags.stale_days", 30, _number(int, 1, 3650), "int",
       "Flags unchanged for this many days are marked stale (kill switches never)."),
    _d("jobs.history_retention_days", 30, _number(int, 1, 3650), "int",
       "Days finished jobs stay in the history."),
    _d("workflows.http_allowed_hosts", [], _hosts, "hosts",
       "Hosts the workflow HTTP step may call (names, IPs or networks)."),
    _d("outbound.allowed_networks", [], _networks, "hosts",
       "Private or loopback networks that workflow HTTP steps and health probes may call, such as 10.0.0.0/8."),
]}


def parse(key: str, raw: Any) -> Any:
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise SettingError(key, "no such setting")
    try:
        return definition.parse(raw)
    except ValueError as exc:
        raise SettingError(key, str(exc)) from None
