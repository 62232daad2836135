"""The audit log page (filtered, paged backwards) and its CSV export."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, request

from nous.audit import bp, service
from nous.auth import admin_required
from nous.exports import csv_response
from nous.inputs import arg_int, parse_datetime
from nous.web import render

PAGE = 50


def _filters() -> dict[str, Any]:
    args = request.args
    out: dict[str, Any] = {k: args.get(k, "").strip()[:200] for k in ("actor", "action", "target")}
    for name in ("since", "until"):
        raw = args.get(name, "").strip()
        when = parse_datetime(raw, name)
        if when is not None:
            out[name] = when + (timedelta(days=1) if name == "until" and len(raw) == 10 else timedelta(0))
    return out


@bp.get("/audit")
@admin_required
def index() -> str:
    events = service.query(before_id=arg_int("before", minimum=1), limit=PAGE, **_filters())
    return render("audit/index.html", block="rows", events=events, filters=request.args, active="audit")


@bp.get("/audit/export.csv")
@admin_required
def export() -> Response:
    rows = ((e.id, e.at.isoformat(), e.actor, e.action, e.target, e.before, e.after, e.ip)
            for e in service.iter_all(**_filters()))
    return csv_response("nous-audit.csv", ["id", "at", "actor", "action", "target", "before", "after", "ip"], rows)
