"""The flag page's usage panel (/admin/beta/flags/<key>/usage): per environment, NOUS's own evaluation
counts beside what the SDKs reported, with the applications and SDK versions that sent them."""

from __future__ import annotations

from flask import abort

from nous.auth import admin_required
from nous.flags import bp
from nous.flags import service as flags
from nous.web import render


@bp.get("/<key>/usage")
@admin_required
def usage(key: str) -> str:
    try:
        flag = flags.get_flag(key)
    except flags.FlagNotFound:
        abort(404, description=f"There is no flag named {key!r}.")
    return render("flags/usage.html", block="usage", flag=flag, rows=flags.usage(flag.key))
