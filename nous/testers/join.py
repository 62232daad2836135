"""`/join/<code>`: the public page where an invited tester accepts the invite."""

from __future__ import annotations

from flask import render_template

from nous.auth import client_ip
from nous.extensions import limiter
from nous.testers import join_bp
from nous.testers import service as testers

JOIN_LIMIT = "30/minute"  # codes are unguessable; this only keeps scanners from hammering the database


def _unavailable(exc: testers.InviteError) -> tuple[str, int]:
    return render_template("join/unavailable.html", title=exc.title, message=exc.message, status=exc.status), exc.status


@join_bp.get("/join/<path:code>")
@limiter.limit(JOIN_LIMIT)
def show_invite(code: str) -> tuple[str, int] | str:
    try:
        user = testers.invite_for_code(code)
    except testers.InviteError as exc:
        return _unavailable(exc)
    return render_template("join/invite.html", user=user, code=code)


@join_bp.post("/join/<path:code>")
@limiter.limit(JOIN_LIMIT)
def accept_invite(code: str) -> tuple[str, int] | str:
    try:
        user = testers.accept_invite(code, ip=client_ip())
    except testers.InviteError as exc:
        return _unavailable(exc)
    return render_template("join/joined.html", user=user)
