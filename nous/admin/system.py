"""The integration status shown on the system page: what this console is connected to, and how well."""

from __future__ import annotations

from typing import Any

import redis
import requests
from flask import current_app

from nous import ocr
from nous.admin import oidc
from nous.extensions import db, get_redis
from nous.health import service as health


def _oidc_status() -> dict[str, Any]:
    if not oidc.configured():
        return {"name": "Sign-in provider", "status": "warn",
                "detail": "GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET not set: only login links work"}
    url = current_app.config["OIDC_METADATA_URL"]
    try:
        resp = requests.get(url, timeout=3)
        issuer = resp.json().get("issuer", "?") if resp.ok else None
    except (requests.RequestException, ValueError) as exc:
        return {"name": "Sign-in provider", "status": "fail", "detail": f"{url}: {type(exc).__name__}"}
    if issuer is None:
        return {"name": "Sign-in provider", "status": "fail", "detail": f"{url} answered {resp.status_code}"}
    return {"name": "Sign-in provider", "status": "pass", "detail": f"issuer {issuer}"}


def _ocr_status() -> dict[str, Any]:
    """Whether this web process can read text in images (the workers run the same check when they read)."""
    found = ocr.available()
    return {"name": "Text recognition (Tesseract)", "status": "pass" if found.available else "warn",
            "detail": found.detail if found.available else f"{ocr.UNAVAILABLE}: {found.detail}"}


def _redis_detail() -> str:
    try:
        info = get_redis().info("server")
    except (redis.RedisError, OSError) as exc:
        return str(exc)
    url = current_app.config["REDIS_URL"]
    where = "embedded (unix socket)" if url.startswith("unix://") else url.split("@")[-1]
    return f"Redis {info.get('redis_version')} · {where}"


def integrations() -> list[dict[str, Any]]:
    doc = health.detailed()
    checks = doc["checks"]

    def first(name: str) -> dict[str, Any]:
        return checks[name][0]

    database = first("database:responseTime")
    redis_check = first("redis:responseTime")
    workers = first("workers:count")
    smtp = first("smtp:responseTime")
    url = db.engine.url
    rows = [
        {"name": "Database", "status": database["status"],
         "detail": database.get("output")
                   or f"{url.get_backend_name()} · {url.database} · {database['observedValue']} ms"},
        {"name": "Redis", "status": redis_check["status"], "detail": redis_check.get("output") or _redis_detail()},
        {"name": "Workers", "status": workers["status"],
         "detail": workers.get("output") or f"{workers['observedValue']} running"},
        {"name": "Email (SMTP)", "status": smtp["status"],
         "detail": smtp.get("output")
                   or f"{current_app.config['EMAIL_HOST']}:{current_app.config['EMAIL_PORT']}"
                      f" · {smtp['observedValue']} ms"},
        _oidc_status(),
        _ocr_status(),
    ]
    for name, results in checks.items():
        if name.startswith("probe:"):
            r = results[0]
            rows.append({"name": f"Probe {name.split(':')[1]}", "status": r["status"],
                         "detail": r.get("output") or f"{r.get('componentId')} · {r['observedValue']} ms"})
    return rows
