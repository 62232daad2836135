"""The settings page: every setting with its typed input, saved one row at a time; import and export."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from nous.auth import admin_required, client_ip, current_actor
from nous.settings import bp, service
from nous.settings.forms import setting_input
from nous.settings.registry import DEFINITIONS, SettingError
from nous.web import render, toast

ROW = "settings/_row.html"


def _rows(errors: dict[str, str] | None = None, raw: dict[str, str] | None = None) -> list[dict[str, Any]]:
    values = service.all_values()
    rows = []
    for key, definition in DEFINITIONS.items():
        rows.append({"key": key, "value": values[key], "default": definition.default, "help": definition.help,
                     "kind": definition.kind, "error": (errors or {}).get(key, ""),
                     "raw": (raw or {}).get(key)})
    return rows


def _row(key: str, errors: dict[str, str] | None = None, raw: dict[str, str] | None = None) -> dict[str, Any]:
    return next(r for r in _rows(errors, raw) if r["key"] == key)


@bp.get("/settings")
@admin_required
def index() -> str:
    return render("settings/index.html", rows=_rows(), history=service.history(limit=15), active="settings")


@bp.post("/settings/<key>")
@admin_required
def update(key: str) -> Any:
    if key not in DEFINITIONS:
        return render_template(ROW, row={"key": key, "error": "no such setting"}), 404
    raw = setting_input(DEFINITIONS[key], request.form)
    try:
        service.set_value(key, raw, actor=current_actor(), ip=client_ip(),
                          expected_version=request.form.get("version"))
    except service.SettingConflict as exc:
        return toast(Response(render_template(ROW, row=_row(key, {key: exc.message}), conflict=exc), status=409),
                     exc.message, "error")
    except SettingError as exc:
        return render_template(ROW, row=_row(key, {key: exc.message}, {key: request.form.get("value", "")})), 422
    return toast(Response(render_template(ROW, row=_row(key), saved=True)), f"Saved {key}")


@bp.get("/settings/export")
@admin_required
def export() -> Response:
    fmt = "json" if request.args.get("format") == "json" else "yaml"
    return Response(service.export(fmt), mimetype="application/json" if fmt == "json" else "application/yaml",
                    headers={"Content-Disposition": f"attachment; filename=nous-settings.{fmt}"})


@bp.post("/settings/import")
@admin_required
def import_document() -> Any:
    upload = request.files.get("file")
    text = upload.read().decode("utf-8", "replace") if upload else request.form.get("document", "")
    is_json = (upload and upload.filename and upload.filename.endswith(".json")) or text.lstrip().startswith("{")
    fmt = "json" if is_json else "yaml"
    try:
        changes = service.import_text(text, fmt, actor=current_actor(), ip=client_ip())
    except (SettingError, ValueError) as exc:
        flash(f"Nothing imported: {exc}", "error")
        return redirect(url_for("settings.index")), 303
    flash(f"Imported: {len(changes)} setting(s) changed.", "success")
    return redirect(url_for("settings.index")), 303
