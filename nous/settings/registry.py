"""Every runtime setting with its type, default, bounds and meaning.

A parser takes what a person typed (or a value from YAML/JSON) and returns the typed value or raises
`SettingError` with the reason. Adding a setting is one `Definition` line here.
"""

from __future__ import annotations

import ipaddress
import re
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


_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _number(kind: type, lo: float, hi: float) -> Callable[[Any], Any]:
    written = _WHOLE if kind is int else _DECIMAL  # ASCII digits, as every number the app reads

    def parse(raw: Any) -> Any:
        if isinstance(raw, bool):
            raise ValueError(f"expected a {'whole ' if kind is int else ''}number")
        if isinstance(raw, str) and not written.fullmatch(raw.strip()):
            raise ValueError(f"expected a {'whole ' if kind is int else ''}number, got {raw!r}")
        try:
            value = kind(str(raw).strip()) if isinstance(raw, str) else kind(raw)
        except (TypeError, ValueError):
            raise ValueError(f"expected a {'whole ' if kind is int else ''}number, got {raw!r}") from None
        if kind is int and isinstance(raw, float) and raw != int(raw):
            raise ValueError(f"expected a whole number, got {raw!r}")
        if not lo <= value <= hi:
            raise ValueError(f"must be between {_figure(lo)} and {_figure(hi)}")
        return value

    return parse


def _figure(n: float) -> str:
    """A bound as people write it: 50,000,000 rather than 5e+07, 0.5 as 0.5."""
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,g}"


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


def _environment(raw: Any) -> str:
    """A flag environment's name, written as environments are (the flags service checks it exists)."""
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,49}", text):
        raise ValueError("expected an environment name such as production (1 to 50 of a-z, 0-9, - and _)")
    return text


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
    """One setting: what the console shows (label, help, input) comes from here and nowhere else."""
    key: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    kind: str  # int | float | bool | rate | origins | hosts | probes: also picks the console's input
    label: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None

    @property
    def is_list(self) -> bool:
        return self.kind in LIST_KINDS


LIST_KINDS = ("origins", "hosts", "probes")


def _d(key: str, default: Any, parse: Callable[[Any], Any], kind: str, label: str, help: str) -> Definition:
    return Definition(key, default, parse, help, kind, label)


def _n(key: str, default: float, kind: type, lo: float, hi: float, label: str, help: str,
       unit: str = "") -> Definition:
    """A number setting: its bounds are the parser's and the console input's."""
    return Definition(key, default, _number(kind, lo, hi), help, kind.__name__, label, unit, lo, hi)


DEFINITIONS: dict[str, Definition] = {d.key: d for d in [
    _n("alerts.cpu_percent", 95.0, float, 1, 100, "CPU alert threshold",
       "Alert when CPU use stays above this percentage.", "%"),
    _n("alerts.memory_percent", 95.0, float, 1, 100, "Memory alert threshold",
       "Alert when memory use is above this percentage.", "%"),
    _n("alerts.disk_percent", 90.0, float, 1, 100, "Disk alert threshold",
       "Alert when the data disk is fuller than this percentage.", "%"),
    _n("alerts.error_rate", 0.05, float, 0, 1, "Error rate alert threshold",
       "Alert when this share of requests fail with a 5xx (0.05 = 5 %)."),
    _n("alerts.queue_backlog", 1000, int, 1, 10_000_000, "Job backlog alert threshold",
       "Alert when more jobs than this wait in the queues.", "jobs"),
    _d("alerts.email", True, _bool, "bool", "Email alerts",
       "Email the admin when an alert is raised."),
    _n("metrics.collector_interval_seconds", 30, int, 5, 3600, "Sampling interval",
       "How often the collector samples system metrics.", "seconds"),
    _n("metrics.raw_retention_days", 7, int, 1, 365, "Keep raw samples",
       "Days raw samples are kept before only hourly roll-ups remain.", "days"),
    _n("metrics.rollup_retention_days", 180, int, 1, 3650, "Keep hourly roll-ups",
       "Days hourly roll-ups are kept.", "days"),
    _n("health.cache_seconds", 5, int, 0, 300, "Reuse slow health checks for",
       "Seconds the results of slow health checks are reused.", "seconds"),
    _d("health.probes", [], _probes, "probes", "External services",
       "External services NOUS depends on: a name, the URL to call, the status it should answer and a timeout."),
    _n("db.slow_query_ms", 100, int, 1, 600_000, "Slow query threshold",
       "Statements slower than this are logged with their plan.", "ms"),
    _n("db.large_table_rows", 10_000, int, 1, 10**12, "Large table size",
       "Tables at least this large get index suggestions.", "rows"),
    _d("feedback.widget_origins", [], _origins, "origins", "Sites allowed to send feedback",
       "Origins allowed to post feedback from the widget (CORS), such as https://app.example.com."),
    _d("feedback.rate_limit", "10/minute;100/hour", _rate, "rate", "Feedback rate limit",
       "Feedback submissions allowed per client IP, such as 10/minute;100/hour."),
    _n("feedback.min_submit_ms", 1500, int, 0, 600_000, "Minimum time to submit",
       "Forms submitted faster than this after opening are dropped as bots.", "ms"),
    _n("feedback.attachments_max", 5, int, 0, 20, "Files per feedback",
       "How many files (screenshots, logs) one feedback may carry; 0 accepts none.", "files"),
    _n("feedback.attachment_max_bytes", 10_000_000, int, 10_000, 50_000_000, "Largest file",
       "Bytes one attached file may have, as uploaded.", "bytes"),
    _n("feedback.attachments_max_total_bytes", 25_000_000, int, 10_000, 200_000_000, "Largest upload",
       "Bytes all the files of one feedback may have together.", "bytes"),
    _n("feedback.text_attachment_max_bytes", 1_000_000, int, 1000, 50_000_000, "Largest text file",
       "Bytes an attached plain-text file (a log) may have.", "bytes"),
    _n("feedback.image_max_side", 1920, int, 240, 8192, "Image size before upload",
       "The widget scales images down to this longest side, in pixels, before it sends them.", "px"),
    _n("feedback.image_quality", 0.85, float, 0.3, 1, "Image quality before upload",
       "The JPEG quality the widget scales images down with (0.3 to 1)."),
    _n("feedback.attachment_retention_days", 365, int, 1, 3650, "Keep files for",
       "Days attached files are kept; older ones are deleted (the feedback stays).", "days"),
    _d("feedback.upload_rate_limit", "100000000/hour", _rate, "rate", "Upload rate limit",
       "Bytes of feedback submissions accepted per client IP, such as 100000000/hour."),
    _d("auth.rate_limit", "10/minute", _rate, "rate", "Sign-in rate limit",
       "Sign-in attempts allowed per client IP, such as 10/minute."),
    _n("auth.session_idle_minutes", 60, int, 5, 1440, "Sign out when idle for",
       "Sign the admin out after this long without a request.", "minutes"),
    _n("auth.session_absolute_hours", 12, int, 1, 720, "Sign out after",
       "Sign the admin out this long after sign-in, active or not.", "hours"),
    _d("api.rate_limit", "600/minute", _rate, "rate", "Client API rate limit",
       "Client API calls allowed per token or IP, such as 600/minute."),
    _d("adminapi.rate_limit", "1200/minute", _rate, "rate", "Admin API rate limit",
       "Admin API calls allowed per token, such as 1200/minute."),
    _n("flags.stale_days", 30, int, 1, 3650, "Flags go stale after",
       "Flags unchanged for this many days are marked stale (kill switches never).", "days"),
    _d("flags.environment", "production", _environment, "text", "Environment of in-process flags",
       "The flag environment NOUS's own code evaluates in when it names none, such as production."),
    _n("jobs.history_retention_days", 30, int, 1, 3650, "Keep finished jobs",
       "Days finished jobs stay in the history.", "days"),
    _d("workflows.http_allowed_hosts", [], _hosts, "hosts", "Hosts workflows may call",
       "Hosts the workflow HTTP step may call: names, IPs or networks such as 10.0.0.0/8."),
    _d("outbound.allowed_networks", [], _networks, "hosts", "Private networks outbound requests may reach",
       "Private or loopback networks that workflow HTTP steps and health probes may call, such as 10.0.0.0/8."),
]}
GROUP_LABELS = {"alerts": "Alerts", "metrics": "Metrics", "health": "Health checks", "db": "Database",
                "feedback": "Feedback", "auth": "Sign-in", "api": "Client API", "adminapi": "Admin API",
                "flags": "Feature flags", "jobs": "Jobs", "workflows": "Workflows", "outbound": "Outbound requests"}


def parse(key: str, raw: Any) -> Any:
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise SettingError(key, "no such setting")
    try:
        return definition.parse(raw)
    except ValueError as exc:
        raise SettingError(key, str(exc)) from None
