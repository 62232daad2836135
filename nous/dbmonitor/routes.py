"""The database report in the console: a panel of the System page, and a page of its own."""

from __future__ import annotations

from nous.auth import admin_required
from nous.dbmonitor import bp, service
from nous.extensions import get_redis
from nous.inputs import arg_int
from nous.web import render


@bp.get("/system/db-report")
@admin_required
def report() -> str:
    data = service.report(get_redis(), limit=arg_int("limit", 25, minimum=1, maximum=1000))
    return render("dbmonitor/report.html", block="report", report=data, active="system")
