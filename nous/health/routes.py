"""Health endpoints for balancers and monitoring; kept free of sessions and templates."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os

from flask import Response, current_app, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from nous.dbmonitor import service as dbmonitor
from nous.extensions import get_redis
from nous.health import bp, liveness, service
from nous.inputs import arg_int
from nous.telemetry import requests as request_metrics


def _json(data: object, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(json.dumps(data, default=str) + "\n", status=status, mimetype=mimetype,
                    headers={"Cache-Control": "no-store"})


def can_see_details() -> bool:
    """The admin, a monitor with the bearer HEALTH_TOKEN, or anyone on loopback when no token is set."""
    token = current_app.config["HEALTH_TOKEN"]
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), token.encode()):
        return True
    if getattr(current_user, "is_authenticated", False):
        return True
    if not token:
        try:
            return ipaddress.ip_address(request.remote_addr or "").is_loopback
        except ValueError:
            return False
    return False


@bp.get("/healthz")
def healthz() -> Response:
    """Documents the path and answers its other methods; GET and HEAD are answered by
    `nous.health.liveness` in front of Flask (nous.front)."""
    return Response(liveness.BODY, mimetype="application/json", headers={"Cache-Control": "no-store"})


@bp.get("/readyz")
def readyz() -> Response:
    checks = service.readiness()
    ok = all(c["status"] == "pass" for c in checks.values())
    status = 200 if ok else 503
    if "verbose" in request.args:
        lines = [f"[+]{name} ok" if c["status"] == "pass" else f"[-]{name} failed: {c.get('output', 'failed')}"
                 for name, c in checks.items()]
        lines.append("readyz check passed" if ok else "readyz check failed")
        return Response("\n".join(lines) + "\n", status=status, mimetype="text/plain",
                        headers={"Cache-Control": "no-store"})
    return _json({"status": "pass" if ok else "fail"}, status)


@bp.get("/health/detailed")
def health_detailed() -> Response:
    doc = service.detailed()
    status = 503 if doc["status"] == "fail" else 200
    if not can_see_details():
        doc = {"status": doc["status"]}
    return _json(doc, status, "application/health+json")


@bp.get("/health/metrics")
def health_metrics() -> Response:
    if not can_see_details():
        return _json({"error": "forbidden", "message": "send Authorization: Bearer <HEALTH_TOKEN>"}, 403)
    conn = get_redis()
    window_s = arg_int("window", 300, minimum=10, maximum=3600)
    return _json({
        "requests": request_metrics.summary(conn, window_s),
        "database": dbmonitor.summary(conn),
        "queues": service.queue_depths(),
    })


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    if not can_see_details():
        return _json({"error": "forbidden", "message": "send Authorization: Bearer <HEALTH_TOKEN>"}, 403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
