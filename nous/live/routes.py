"""Live routes: the `/ws/live` socket, the dashboard's chart and alert panels, the metrics history."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import Response, current_app, g, jsonify, request, session
from flask_login import current_user
from simple_websocket import ConnectionClosed

from nous import held
from nous.admin import service as sessions
from nous.admin.auth import GENERATION, SESSION_ID, session_expired
from nous.auth import admin_required
from nous.errors import error_response
from nous.extensions import db, get_redis, sock
from nous.health.service import DRAINING
from nous.inputs import arg_choice
from nous.live import alerts, bp, service
from nous.live.events import parse_after, parse_topics
from nous.live.hub import Hub, serve
from nous.web import is_fragment_request, render

log = logging.getLogger("nous.live")

SOCKET = "live.live_socket"
HEARTBEAT_SECONDS = 20

CHARTS: tuple[dict[str, Any], ...] = (
    {"id": "resources", "title": "CPU and memory", "series": ("cpu_percent", "memory_percent")},
    {"id": "traffic", "title": "Requests and errors", "series": ("requests_per_second", "error_rate")},
    {"id": "latency", "title": "Latency p95", "series": ("latency_p95_ms", "db_p95_ms")},
    {"id": "queue", "title": "Queue depth", "series": ("queue_depth",)},
)


def _hub() -> Hub:
    return current_app.extensions["nous.live.hub"]


def max_sockets() -> int:
    """This process's cap on live sockets (LIVE_MAX_SOCKETS, else the budget they share with the flag
    streams: nous.held)."""
    configured = current_app.config.get("LIVE_MAX_SOCKETS")
    return int(configured) if configured else held.budget(current_app)


def _refuse(status: int, title: str, why: str) -> Response:
    log.warning("live socket refused", extra={"status": status, "reason": why, "ip": request.remote_addr,
                                              "origin": (request.headers.get("Origin") or "")[:200]})
    resp = error_response(status, title, why)
    if status == 503:
        resp.headers["Retry-After"] = "10"
    return resp


@bp.before_request
def _gate_socket() -> Response | None:
    """Refuse before the WebSocket handshake: wrong Origin, no admin session, or no room."""
    if request.endpoint != SOCKET:
        return None
    own = f"{request.scheme}://{request.host}"
    if not service.origin_allowed(request.headers.get("Origin"), own, current_app.config.get("SYSTEM_BASE_URL", "")):
        return _refuse(403, "Forbidden", "This socket only accepts pages of this site (Origin).")
    if not getattr(current_user, "is_authenticated", False) or session_expired():
        return _refuse(401, "Unauthorized", "Sign in as the admin first.")
    if DRAINING.is_set():
        return _refuse(503, "Service Unavailable", "This process is shutting down; retrying elsewhere.")
    if not held.room(current_app, "live sockets", max_sockets()):
        return _refuse(503, "Service Unavailable", "Too many live viewers (or flag streams) on this process; "
                                                   "retrying shortly.")
    g.live_deadline = service.session_deadline(session.get("signed_in_at"))
    return None


@sock.route("/ws/live", bp=bp)
def live_socket(ws: Any) -> None:
    topics = parse_topics(request.args.get("topics"))
    after = parse_after(request.args.get("after"))
    heartbeat = float(current_app.config.get("LIVE_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    deadline = g.get("live_deadline")
    sid, generation = session.get(SESSION_ID), session.get(GENERATION, 0)
    generation = generation if isinstance(generation, int) else 0

    def signed_in() -> bool:
        """Signed out on the server (here, in another process, "sign out everywhere") ends the socket."""
        try:
            return sessions.session_live(sid, generation)
        finally:
            db.session.remove()  # a reload of the sign-outs gives its connection back at once

    db.session.remove()  # an open socket holds no database connection
    try:
        why = serve(ws, _hub(), get_redis(), topics, after, heartbeat, deadline, stopping=DRAINING,
                    signed_in=signed_in)
    except (ConnectionClosed, OSError):
        why = "connection lost"
    except redis.RedisError:
        why = "Redis unreachable"
        try:
            ws.close(1013, "live updates unavailable; retrying")
        except (ConnectionClosed, OSError):
            pass
    log.info("live socket closed", extra={"reason": why, "topics": list(topics)})
    # The socket's lifetime is not a request latency: keep it out of the p95 the alerts watch.
    g.started = time.perf_counter()


# --- dashboard panels --------------------------------------------------------------------------

@bp.get("/admin/live/panel/charts")
@admin_required
def panel_charts() -> str:
    return render("live/charts.html", block="panel", charts=CHARTS, ranges=list(service.RANGES),
                  default_range=service.DEFAULT_RANGE, active="dashboard")


@bp.get("/admin/live/panel/alerts")
@admin_required
def panel_alerts() -> str:
    return render("live/alerts_panel.html", block="panel", alerts=alerts.open_alerts(),
                  active="dashboard")


@bp.get("/admin/live/alerts")
@admin_required
def list_alerts() -> str:
    # The open list refreshes itself (every minute, on each alert event); the history is the page's alone.
    recent = [] if is_fragment_request() else alerts.recent_alerts(100)
    return render("live/alerts.html", "live/_open_alerts.html", alerts=alerts.open_alerts(), recent=recent,
                  active="dashboard")


@bp.get("/admin/live/metrics.json")
@admin_required
def metrics_history() -> Response:
    return jsonify(service.history(arg_choice("range", service.RANGES, service.DEFAULT_RANGE)))
