"""The console page of the admin API tokens: create (the token is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, request, url_for

from nous.adminapi import tokens
from nous.auth import admin_required, client_ip, current_actor
from nous.web import render

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")

PAGE = "adminapi/tokens.html"
EXPIRY_CHOICES = (("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"),
                  ("365", "In a year"))


def _page(status: int = 200, *, created: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          form: dict[str, Any] | None = None) -> Any:
    body = render(PAGE, block="tokens", tokens=tokens.list_tokens(), areas=tokens.AREAS, help=tokens.SCOPE_HELP,
                  expiry_choices=EXPIRY_CHOICES, created=created, errors=errors or {}, form=form or {},
                  name_max=tokens.NAME_MAX, active="api_tokens")
    resp = Response(body, status=status)
    if created:
        resp.headers["Cache-Control"] = "no-store"  # the token is in this answer only: it is stored hashed
    return resp


@bp.get("/")
@admin_required
def index() -> Any:
    return _page()


@bp.post("/")
@admin_required
def create_token() -> Any:
    form = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scope"),
            "expires_in_days": request.form.get("expires_in_days", "")}
    try:
        row, raw = tokens.create(form["name"], form["scopes"], expires_in_days=form["expires_in_days"] or None,
                                 actor=current_actor(), ip=client_ip())
    except tokens.TokenError as exc:
        return _page(422, errors=exc.errors, form=form)  # each refusal names its field: shown in the form
    return _page(created={"name": row.name, "token": raw})


@bp.post("/<name>/revoke")
@admin_required
def revoke_token(name: str) -> Any:
    try:
        row = tokens.revoke(name, actor=current_actor(), ip=client_ip())
    except tokens.TokenError as exc:
        abort(404, description=exc.message)
    flash(f"Revoked {row.name}: requests with it are refused within a second.", "success")
    url = url_for("api_tokens.index")
    if request.headers.get("HX-Request"):
        resp = Response(status=204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
