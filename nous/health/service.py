"""Health checks in the IETF health-check response format (draft-inadarei-api-health-check).

`readiness()` asks only what routing needs (database, Redis); `detailed()` adds queues, workers,
host resources, SMTP and the external probes configured in the settings. Checks that are slow or
costly are cached for `health.cache_seconds`.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psutil
import redis
from flask import current_app
from rq import Worker
from sqlalchemy import text

from nous import __version__, outbound
from nous.extensions import db, get_redis
from nous.settings import service as settings

QUEUES = ("high", "default", "low")
DRAINING = threading.Event()  # set when this process received SIGTERM and is finishing its work
_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_cache_lock = threading.Lock()
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="nous-health")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _result(component_type: str, value: Any, unit: str, status: str = "pass", output: str = "",
            **extra: Any) -> dict[str, Any]:
    out = {"componentType": component_type, "observedValue": value, "observedUnit": unit,
           "status": status, "time": _now(), **extra}
    if output:
        out["output"] = output
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return round((time.perf_counter() - started) * 1000, 2), value


def _reason(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text_}"[:300]


def check_database() -> dict[str, Any]:
    try:
        with db.engine.connect() as conn:
            ms, _ = _timed(lambda: conn.execute(text("SELECT 1")).scalar())
        return _result("datastore", ms, "ms")
    except Exception as exc:  # any driver error means "not reachable"  # noqa: BLE001
        db.session.remove()
        return _result("datastore", None, "ms", "fail", _reason(exc))


def check_redis() -> dict[str, Any]:
    try:
        ms, _ = _timed(get_redis().ping)
        return _result("datastore", ms, "ms")
    except (redis.RedisError, OSError) as exc:
        return _result("datastore", None, "ms", "fail", _reason(exc))


def queue_depths() -> dict[str, int]:
    conn = get_redis()
    pipe = conn.pipeline(transaction=False)
    for name in QUEUES:
        pipe.llen(f"rq:queue:{name}")
    return dict(zip(QUEUES, pipe.execute(), strict=True))


def check_queue() -> dict[str, Any]:
    try:
        depths = queue_depths()
    except (redis.RedisError, OSError) as exc:
        return _result("component", None, "jobs", "fail", _reason(exc))
    total = sum(depths.values())
    limit = settings.get("alerts.queue_backlog")
    status = "warn" if total > limit else "pass"
    output = f"{total} jobs waiting (limit {limit})" if status != "pass" else ""
    return _result("component", total, "jobs", status, output, queues=depths)


def check_workers() -> dict[str, Any]:
    try:
        count = Worker.count(connection=get_redis())
    except (redis.RedisError, OSError) as exc:
        return _result("component", None, "workers", "fail", _reason(exc))
    return _result("component", count, "workers", "pass" if count else "warn",
                   "" if count else "no worker is running: jobs and emails wait in the queue")


def _resource(kind: str, percent: float, limit_key: str, what: str) -> dict[str, Any]:
    limit = settings.get(limit_key)
    status = "warn" if percent > limit else "pass"
    return _result("system", round(percent, 1), "percent", status,
                   f"{what} at {percent:.1f} % (limit {limit:g} %)" if status != "pass" else "")


_cpu_lock = threading.Lock()
_cpu_read_at = 0.0


def cpu_percent() -> float:
    """System CPU use since this process's previous reading when that is 0.5 s to 1 min old; measured
    over 0.2 s otherwise (psutil answers 0.0 to a first reading, and a stale one averages hours)."""
    global _cpu_read_at
    with _cpu_lock:
        age = time.monotonic() - _cpu_read_at
        value = psutil.cpu_percent(interval=None if 0.5 <= age <= 60 else 0.2)
        _cpu_read_at = time.monotonic()
        return value


def check_host() -> dict[str, list[dict[str, Any]]]:
    disk = psutil.disk_usage(current_app.config["INSTANCE_PATH"]).percent
    return {
        "cpu:utilization": [_resource("system", cpu_percent(), "alerts.cpu_percent", "CPU")],
        "memory:utilization": [_resource("system", psutil.virtual_memory().percent, "alerts.memory_percent", "memory")],
        "disk:utilization": [_resource("system", disk, "alerts.disk_percent", "disk")],
    }


def smtp_probe(host: str, port: int, use_ssl: bool, timeout: float = 3) -> float:
    """Connect and say EHLO; returns milliseconds. Raises OSError/SMTPException."""
    started = time.perf_counter()
    cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with cls(host, port, timeout=timeout) as conn:
        conn.ehlo()
    return round((time.perf_counter() - started) * 1000, 2)


def check_smtp(config: dict[str, Any]) -> dict[str, Any]:
    host = config["EMAIL_HOST"]
    if not host:
        return _result("component", None, "ms", "pass", "not configured: mail is kept in the outbox and the log")
    try:
        ms = smtp_probe(host, config["EMAIL_PORT"], config["EMAIL_USE_SSL"])
        return _result("component", ms, "ms")
    except (OSError, smtplib.SMTPException) as exc:
        return _result("component", None, "ms", "warn", f"{host}:{config['EMAIL_PORT']}: {_reason(exc)}")


def check_probe(probe: dict[str, Any]) -> dict[str, Any]:
    """GET the probe's URL through the outbound guard (public addresses, or networks on
    outbound.allowed_networks); its own answer counts, a redirect is not followed."""
    url = probe["url"]
    try:
        resp = outbound.request("GET", url, policy=outbound.Policy.current(), timeout=probe["timeout"],
                                follow_redirects=False, read_body=False)
    except outbound.OutboundRefused as exc:
        return _result("component", None, "ms", "warn", f"refused: {exc}"[:300], componentId=url)
    except outbound.OutboundError as exc:
        return _result("component", None, "ms", "warn", str(exc)[:300], componentId=url)
    if resp.status != probe["expect_status"]:
        return _result("component", resp.elapsed_ms, "ms", "warn",
                       f"answered {resp.status}, expected {probe['expect_status']}", componentId=url)
    return _result("component", resp.elapsed_ms, "ms", componentId=url)


def _cached(name: str, seconds: float, fn: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    now = time.monotonic()
    hit = _cache.get(name)
    if hit and now - hit[0] < seconds:
        return hit[1]
    value = fn()
    with _cache_lock:
        _cache[name] = (now, value)
    return value


def overall(checks: dict[str, list[dict[str, Any]]]) -> str:
    statuses = {c["status"] for results in checks.values() for c in results}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"


def readiness() -> dict[str, dict[str, Any]]:
    checks = {"database": check_database(), "redis": check_redis()}
    if DRAINING.is_set():
        checks["shutdown"] = _result("component", None, "", "fail", "draining: this process is shutting down")
    return checks


def detailed() -> dict[str, Any]:
    """The full health document; slow checks run in parallel and are cached briefly."""
    app = current_app._get_current_object()
    config = dict(app.config)
    try:
        ttl = settings.get("health.cache_seconds")
        probes = settings.get("health.probes")
    except Exception:  # database down: still report the rest  # noqa: BLE001
        ttl, probes = 5, []

    def in_app(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        def run() -> Any:
            with app.app_context():
                return fn(*args)
        return run

    smtp = _pool.submit(_cached, "smtp", ttl, in_app(lambda: [check_smtp(config)]))
    probe_futures = {
        f"probe:{p['name']}": _pool.submit(_cached, f"probe:{p['name']}:{p['url']}", ttl,
                                           in_app(lambda p=p: [check_probe(p)]))
        for p in probes
    }
    checks: dict[str, list[dict[str, Any]]] = {
        "database:responseTime": [check_database()],
        "redis:responseTime": [check_redis()],
    }
    redis_ok = checks["redis:responseTime"][0]["status"] == "pass"
    if redis_ok:
        checks["queue:depth"] = [check_queue()]
        checks["workers:count"] = _cached("workers", ttl, lambda: [check_workers()])
    else:
        why = "Redis is not reachable"
        checks["queue:depth"] = [_result("component", None, "jobs", "fail", why)]
        checks["workers:count"] = [_result("component", None, "workers", "fail", why)]
    checks.update(check_host())
    checks["smtp:responseTime"] = smtp.result()
    for name, future in probe_futures.items():
        checks[f"{name}:responseTime"] = future.result()
    if DRAINING.is_set():
        checks["shutdown:draining"] = [_result("component", True, "", "fail", "this process is shutting down")]
    return {
        "status": overall(checks),
        "version": __version__.split(".")[0],
        "releaseId": config.get("RELEASE_ID", "dev"),
        "serviceId": "nous-beta-console",
        "description": "NOUS Beta Console",
        "checks": checks,
    }
