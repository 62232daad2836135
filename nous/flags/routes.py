"""Console pages for feature flags at /admin/beta/flags: thin — parse, call the service, render.

Flag pages live at /admin/beta/flags/<key>; everything else under /admin/beta/flags/-/… (a key can
never be "-/…" because keys have no "/"), so no flag name can shadow a page.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Response, abort, flash, g, has_request_context, jsonify, redirect, render_template, request, url_for

from nous import inputs, web
from nous.auth import admin_required, client_ip, current_actor
from nous.changes import mark_changed
from nous.flags import bp
from nous.flags import service as flags
from nous.flags.engine import OPERATORS
from nous.flags.models import FLAG_TYPES
from nous.humanize import flag_changes
from nous.inputs import form_int, parse_int
from nous.web import body_limit, is_fragment_request, render

CONTEXT_NAMES = ("userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime")
MAX_UPLOAD = flags.IMPORT_MAX_BYTES



def _fragment(template: str, status: int = 200, toast: str = "", kind: str = "success", **ctx: Any) -> Response:
    resp = Response(render_template(template, **ctx), status=status)
    return web.toast(resp, toast, kind) if toast else resp


def _go(endpoint: str, message: str = "", kind: str = "success", **values: Any) -> Response:
    """After a change: HTMX follows HX-Redirect, a plain form a 303; the message as a flash."""
    if message:
        flash(message, kind)
    url = url_for(endpoint, **values)
    if request.headers.get("HX-Request"):
        resp = Response(status=204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, 303)  # type: ignore[return-value]


def _default_env() -> str:
    """flags.default_environment(), once per request (every link of a page asks: _keep_env)."""
    if "flags_default_env" not in g:
        g.flags_default_env = flags.default_environment()
    return g.flags_default_env


def _env() -> str:
    """The environment a flag page shows and edits: `?env=` (when absent, the default one: production at
    first, by its name now if it was renamed). An unknown one (a tab left open on an environment since
    renamed or removed, an old bookmark) takes a page to the same page in the default environment with a
    notice; anything else is a 404 that names the environments there are."""
    raw = request.args.get("env") or _default_env()
    try:
        return flags.check_environment(raw)
    except flags.FlagError as exc:
        if request.method == "GET" and not is_fragment_request():
            flash(f"{exc.message} It may have been renamed or removed; this is {_default_env()}.", "warning")
            values = {**request.args.to_dict(), **(request.view_args or {}), "env": None}  # None: left out
            abort(redirect(url_for(request.endpoint or "flags.index", **values), 303))
        abort(404, description=exc.message)


def _env_arg(name: str) -> str | None:
    """`?env=` for a link to `name`'s page: left out for the default environment (None), as _keep_env does."""
    return None if name == _default_env() else name


@bp.url_defaults
def _keep_env(endpoint: str, values: dict[str, Any]) -> None:
    """Every link and form of the flag pages stays in the environment being looked at (`?env=`)."""
    if "env" not in values and has_request_context() and request.blueprint == "flags":
        env = request.args.get("env")
        if env and env != _default_env():
            values["env"] = env


def _flag_or_404(key: str) -> Any:
    try:
        return flags.get_flag(key, environment=_env())
    except flags.FlagNotFound:
        abort(404, description=f"There is no flag named {key!r}.")


def _expected_version() -> int | None:
    return form_int("version")


# --------------------------------------------------------------------------- list


@bp.get("/")
@admin_required
def index() -> str:
    q = request.args.get("q", "").strip()[:200]
    archived = request.args.get("archived") == "1"
    rows = flags.overview(q, archived)
    return render("flags/index.html", "flags/_rows.html", rows=rows, q=q, archived=archived, active="flags",
                  counted_in=_default_env())


def _changed(resp: Response, flag: Any) -> Response:
    """Every fragment showing the flag follows (this page now, other pages through /ws/live)."""
    return mark_changed(resp, "flag", flag.id, flag.version)


def _conflict(exc: flags.FlagConflict, template: str, **extra: Any) -> Response:
    """409: the fragment as the flag is now, with what changed since the version the admin saw."""
    flag = exc.current or flags.get_flag(extra.pop("key"), environment=_env())
    extra.pop("key", None)
    resp = _fragment(template, status=409, toast=exc.message, kind="error",
                     **_show_context(flag, conflict=exc, **extra))
    return _changed(resp, flag)


@bp.post("/<key>/switch")
@admin_required
def switch_flag(key: str) -> Any:
    """Switch on or off as the button said (`to`), for the version the page showed (`version`)."""
    _flag_or_404(key)
    wanted = request.form.get("to", "")
    from_list = request.args.get("from") == "list"
    if wanted not in ("on", "off"):
        return web.toast(Response("to: on or off", status=400, mimetype="text/plain"), "Say on or off.", "error")
    try:
        flag = flags.set_enabled(key, wanted == "on", actor=current_actor(), ip=client_ip(),
                                 expected_version=_expected_version(), environment=_env())
    except flags.FlagConflict as exc:
        if from_list and is_fragment_request():
            flag = exc.current or flags.get_flag(key, environment=_env())
            row = next(r for r in flags.overview(key, False) if r["key"] == key)
            return _changed(_fragment("flags/_row.html", status=409, toast=exc.message, kind="error", row=row,
                                      conflict=exc), flag)
        if is_fragment_request():
            return _conflict(exc, "flags/_header.html", key=key)
        current = exc.current or flags.get_flag(key, environment=_env())
        return render_template("flags/show.html", **_show_context(current, conflict=exc)), 409
    except flags.FlagError as exc:
        if is_fragment_request():
            return web.toast(Response(status=204), exc.message, "error")
        return _go("flags.show_flag", exc.message, "error", key=key)
    message = f"{key} is {'on' if flag.enabled else 'off'} in {flag.environment}"
    if not is_fragment_request():
        return _go("flags.show_flag", message, key=key)
    if from_list:
        row = next(r for r in flags.overview(key, False) if r["key"] == key)
        return _changed(_fragment("flags/_row.html", toast=message, row=row), flag)
    return _changed(_fragment("flags/_header.html", toast=message, **_show_context(flag)), flag)


# --------------------------------------------------------------------------- create


@bp.get("/-/new")
@admin_required
def new_flag() -> str:
    return render_template("flags/new.html", form={}, errors={}, types=FLAG_TYPES, active="flags")


@bp.post("/-/new")
@admin_required
def create_flag() -> Any:
    form = {k: request.form.get(k, "") for k in ("key", "type", "description")}
    try:
        flag = flags.create_flag({"key": form["key"].strip(), "type": form["type"], "description": form["description"],
                                  "enabled": request.form.get("enabled") == "on"},
                                 actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        return render_template("flags/new.html", form=form, errors=exc.errors, message=exc.message,
                               types=FLAG_TYPES, active="flags"), exc.status
    return _go("flags.show_flag", f"Created {flag.key}. Choose who gets it below.", key=flag.key)


# --------------------------------------------------------------------------- one flag


def _show_context(flag: Any, **extra: Any) -> dict[str, Any]:
    model = flags.simple_model(flag)
    counts = flags.flag_counts(flag.key, flag.environment)  # the environment shown; None: Redis unreachable
    definition = {"strategies": flag.strategies or [], "variants": flag.variants or [],
                  "dependencies": flag.dependencies or []}
    ctx = {"flag": flag, "model": model, "counts": counts, "types": FLAG_TYPES, "operators": sorted(OPERATORS),
           "context_names": CONTEXT_NAMES, "definition_json": json.dumps(definition, indent=2, ensure_ascii=False),
           "versions": flags.history(flag.key, limit=5), "stale": flags.flag_is_stale(flag),
           "summary": flags.rollout_summary(flag), "errors": {}, "active": "flags",
           "new_row_id": secrets.token_hex(3), "overriding": flags.overriding_testers(flag.key),
           "environment": flag.environment, "environments": [
               {"name": name, "enabled": flag.flag.in_(name).enabled and not flag.archived}  # archived: off everywhere
               for name in flags.environment_names()]}
    ctx.update(extra)
    return ctx


@bp.get("/<key>")
@admin_required
def show_flag(key: str) -> str:
    flag = _flag_or_404(key)
    return render_template("flags/show.html", **_show_context(flag))


def _conditions_from_form() -> list[dict[str, Any]]:
    out = []
    for row_id in request.form.getlist("cond"):
        row_id = row_id[:20]
        name = request.form.get(f"cond_{row_id}_context", "").strip()
        if not name:
            continue  # an empty row is no condition
        out.append(flags.condition_from_form(
            name, request.form.get(f"cond_{row_id}_operator", "IN"), request.form.get(f"cond_{row_id}_values", ""),
            inverted=request.form.get(f"cond_{row_id}_inverted") == "on",
            case_insensitive=request.form.get(f"cond_{row_id}_ci") == "on"))
    return out


@bp.post("/<key>/simple")
@admin_required
def save_simple(key: str) -> Any:
    flag = _flag_or_404(key)
    users = request.form.get("user_ids", "").replace("\n", ",").split(",")
    try:
        strategies = flags.strategies_from_simple(key, request.form.get("rollout", "0"), users,
                                                  _conditions_from_form())
        flag = flags.update_flag(key, {"enabled": request.form.get("enabled") == "on", "strategies": strategies},
                                 actor=current_actor(), ip=client_ip(), expected_version=_expected_version(),
                                 environment=_env())
    except flags.FlagConflict as exc:
        return _conflict(exc, "flags/_simple.html", key=key)
    except flags.FlagError as exc:
        ctx = _show_context(flags.get_flag(key, environment=_env()), errors=exc.errors, message=exc.message)
        return _fragment("flags/_simple.html", status=exc.status, **ctx)
    if not is_fragment_request():
        return _go("flags.show_flag", f"Saved {key}", key=key)
    return _changed(_fragment("flags/_simple.html", toast=f"Saved {key} (version {flag.version})",
                              **_show_context(flag, saved=True)), flag)


@bp.get("/-/condition-row")
@admin_required
def condition_row() -> Any:
    """One empty condition for the simple form ("Add condition"); alone it is no page, so a direct
    visit goes to the flag list."""
    if not is_fragment_request():
        return redirect(url_for("flags.index"))
    return render_template("flags/_condition.html", row_id=secrets.token_hex(3), cond={},
                           operators=sorted(OPERATORS), context_names=CONTEXT_NAMES)


@bp.post("/<key>/definition")
@admin_required
def save_definition(key: str) -> Any:
    _flag_or_404(key)
    text = request.form.get("definition", "")
    try:
        try:
            data = inputs.loads(text)
        except ValueError as exc:
            raise flags.FlagError("The full model is not valid JSON.", {"definition": str(exc)}, status=422) from None
        if not isinstance(data, dict):
            raise flags.FlagError("The full model is an object.", {"definition": "expected {\"strategies\": […], "
                                                                                  "\"variants\": […], "
                                                                                  "\"dependencies\": […]}"},
                                  status=422)
        unknown = sorted(set(data) - {"strategies", "variants", "dependencies"})
        if unknown:
            raise flags.FlagError("The full model has unknown fields.", {k: "unknown field" for k in unknown},
                                  status=422)
        flag = flags.update_flag(key, data, actor=current_actor(), ip=client_ip(),
                                 expected_version=_expected_version(), environment=_env())
    except flags.FlagConflict as exc:
        return _conflict(exc, "flags/_definition.html", key=key)
    except flags.FlagError as exc:
        ctx = _show_context(flags.get_flag(key, environment=_env()), errors=exc.errors, message=exc.message,
                            definition_json=text)
        return _fragment("flags/_definition.html", status=exc.status, **ctx)
    if not is_fragment_request():
        return _go("flags.show_flag", f"Saved {key}", key=key)
    return _changed(_fragment("flags/_definition.html", toast=f"Saved {key} (version {flag.version})",
                              **_show_context(flag, saved=True)), flag)


@bp.post("/<key>/details")
@admin_required
def save_details(key: str) -> Any:
    _flag_or_404(key)
    changes = {"description": request.form.get("description", ""), "type": request.form.get("type", ""),
               "enable_at": request.form.get("enable_at", "").strip() or None,
               "disable_at": request.form.get("disable_at", "").strip() or None}
    if request.form.get("impression_data_shown"):  # the form has the box (a form without it leaves it alone)
        changes["impression_data"] = request.form.get("impression_data") == "on"
    try:
        flag = flags.update_flag(key, changes, actor=current_actor(), ip=client_ip(),
                                 expected_version=_expected_version(), environment=_env())
    except flags.FlagConflict as exc:
        return _conflict(exc, "flags/_details.html", key=key)
    except flags.FlagError as exc:
        ctx = _show_context(flags.get_flag(key, environment=_env()), errors=exc.errors, message=exc.message)
        return _fragment("flags/_details.html", status=exc.status, **ctx)
    if not is_fragment_request():
        return _go("flags.show_flag", f"Saved {key}", key=key)
    return _changed(_fragment("flags/_details.html", toast=f"Saved {key} (version {flag.version})",
                              **_show_context(flag, saved=True)), flag)


PREVIEW_FIELDS = (("userId", "User id or email"), ("sessionId", "Session id"), ("remoteAddress", "IP address"),
                  ("environment", "Environment"), ("appName", "App name"), ("currentTime", "Time (UTC)"))
PROPERTY_ROWS = 4


@bp.context_processor
def _preview_form() -> dict[str, Any]:
    """The preview form's fields, for every flag page that shows it."""
    return {"preview_fields": PREVIEW_FIELDS, "property_rows": PROPERTY_ROWS}


def _preview_context() -> tuple[dict[str, Any], dict[str, str]]:
    """The context the preview form describes: its named fields, and its property rows (name and value);
    a `properties` JSON object is still read for scripts that send one."""
    context: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in CONTEXT_NAMES:
        value = request.form.get(name, "").strip()
        if value:
            context[name] = value
    if "currentTime" in context:
        try:
            moment = inputs.parse_datetime(context["currentTime"], "currentTime")
            context["currentTime"] = moment.isoformat().replace("+00:00", "Z") if moment else ""
        except inputs.InputError as exc:
            errors["currentTime"] = exc.message
    props: dict[str, Any] = {}
    names, values = request.form.getlist("prop_name"), request.form.getlist("prop_value")
    for i, (name, value) in enumerate(zip(names, values, strict=False), start=1):
        name, value = name.strip(), value.strip()
        if name:
            props[name] = value
        elif value:
            errors[f"property {i}"] = "give the property a name"
    props_text = request.form.get("properties", "").strip()
    if props_text:
        try:
            loaded = inputs.loads(props_text)
            if not isinstance(loaded, dict):
                raise ValueError("expected an object")
            props = {**loaded, **props}
        except ValueError as exc:
            errors["properties"] = f"a JSON object like {{\"plan\": \"pro\"}} ({exc})"
    if props:
        context["properties"] = props
    return context, errors


@bp.post("/<key>/preview")
@admin_required
def preview_flag(key: str) -> Any:
    _flag_or_404(key)
    context, errors = _preview_context()
    result = None if errors else flags.preview(key, context, environment=_env())
    return render("flags/preview.html", block="result", flag=flags.get_flag(key, environment=_env()), result=result,
                  context=context, errors=errors, active="flags"), 422 if errors else 200


@bp.post("/<key>/archive")
@admin_required
def archive_flag(key: str) -> Any:
    _flag_or_404(key)
    try:
        flags.archive_flag(key, actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        return _go("flags.show_flag", exc.message, "error", key=key)
    return _go("flags.show_flag", f"{key} is archived: off everywhere and hidden from clients.", key=key)


@bp.post("/<key>/unarchive")
@admin_required
def unarchive_flag(key: str) -> Any:
    _flag_or_404(key)
    try:
        flags.unarchive_flag(key, actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        return _go("flags.show_flag", exc.message, "error", key=key)
    return _go("flags.show_flag", f"{key} is back, switched off.", key=key)


@bp.get("/<key>/history")
@admin_required
def flag_history(key: str) -> str:
    flag = _flag_or_404(key)
    return render("flags/history.html", "flags/_history.html", flag=flag, versions=flags.history(key, limit=500),
                  active="flags")


@bp.post("/<key>/restore/<int:version>")
@admin_required
def restore_version(key: str, version: int) -> Any:
    _flag_or_404(key)
    try:
        flag = flags.restore_version(key, version, actor=current_actor(), ip=client_ip(),
                                     expected_version=_expected_version())  # in the version's environment
    except flags.FlagConflict as exc:
        current = exc.current or flags.get_flag(key, environment=_env())
        return render("flags/history.html", "flags/_history.html", flag=current, conflict=exc,
                      versions=flags.history(key, limit=500), active="flags"), 409
    except flags.FlagError as exc:
        return _go("flags.flag_history", exc.message, "error", key=key)
    return _go("flags.flag_history", f"Restored version {version} of {key} in {flag.environment} as version "
               f"{flag.version}.", key=key, env=_env_arg(flag.environment))


@bp.get("/<key>/copy")
@admin_required
def copy_preview(key: str) -> Any:
    """What copying this environment's rules to `to` would change there, before doing it."""
    flag = _flag_or_404(key)
    try:
        target = flags.check_environment(request.args.get("to", ""))
        changes = flags.rules_difference(key, flag.environment, target)
        there = flags.get_flag(key, environment=target).strategies or []
    except flags.FlagError as exc:
        return _go("flags.show_flag", exc.message, "error", key=key)
    return render_template("flags/copy.html", flag=flag, target=target, changes=changes, active="flags",
                           words=flag_changes({"strategies": there}, {"strategies": flag.strategies or []}))


@bp.post("/<key>/copy")
@admin_required
def copy_rules(key: str) -> Any:
    flag = _flag_or_404(key)
    target = request.form.get("to", "")
    try:
        copied = flags.copy_rules(key, flag.environment, target, actor=current_actor(), ip=client_ip(),
                                  expected_version=_expected_version())
    except flags.FlagError as exc:
        return _go("flags.show_flag", exc.message, "error", key=key)
    return _go("flags.show_flag", f"Copied the rules of {flag.environment} to {copied.environment}.", key=key,
               env=_env_arg(copied.environment))


# --------------------------------------------------------------------------- environments


def _environments_page(status: int = 200, **extra: Any) -> Any:
    rows = [{"name": e.name, **flags.environment_use(e.name)} for e in flags.environments()]
    ctx = {"rows": rows, "errors": {}, "message": "", "active": "flags", "form": {}}
    ctx.update(extra)
    return render_template("flags/environments.html", **ctx), status


@bp.get("/-/environments")
@admin_required
def environments() -> Any:
    return _environments_page()


@bp.post("/-/environments")
@admin_required
def change_environments() -> Any:
    """Add, rename, move or remove one environment (the button pressed says which: `do`)."""
    action, name = request.form.get("do", ""), request.form.get("name", "")
    kind = "success"
    try:
        if action == "add":
            flags.add_environment(name, actor=current_actor(), ip=client_ip())
            message = f"Added the environment {name.strip().lower()}: every flag is off there until switched on."
        elif action == "rename":
            new = flags.rename_environment(name, request.form.get("new_name", ""), actor=current_actor(),
                                           ip=client_ip())
            message = f"Renamed {name} to {new.name}."
            if not new.counts_moved:
                message += (f" Its evaluation counts and SDK metrics could not be moved (Redis cannot be reached):"
                            f" they stay under {name}.")
                kind = "warning"
        elif action in ("up", "down"):
            flags.move_environment(name, -1 if action == "up" else 1, actor=current_actor(), ip=client_ip())
            message = f"Moved {name} {action}."
        elif action == "remove":
            flags.remove_environment(name, actor=current_actor(), ip=client_ip())
            message = f"Removed the environment {name}."
        else:
            raise flags.FlagError("Say add, rename, up, down or remove.", {"do": "add, rename, up, down or remove"})
    except flags.FlagError as exc:
        return _environments_page(exc.status if exc.status >= 400 else 400, errors=exc.errors, message=exc.message,
                                  form={"do": action, "name": name, "new_name": request.form.get("new_name", "")[:200]})
    return _go("flags.environments", message, kind)


# --------------------------------------------------------------------------- tokens


def _tokens_page(created: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    tokens = flags.list_tokens()
    now_in = {t["id"]: t["environment"] for t in tokens}  # an SDK's token's environment now (renamed since)
    clients = [{**c, "flag_environment": now_in.get(c.get("token_id"), c.get("flag_environment"))}
               for c in flags.clients()]
    return render("flags/tokens.html", "flags/_tokens.html", tokens=tokens,
                  environment_names=flags.environment_names(), default_environment=_default_env(),
                  clients=clients, created=created, errors=errors or {}, active="flags")


@bp.get("/-/tokens")
@admin_required
def tokens() -> str:
    return _tokens_page()


@bp.post("/-/tokens")
@admin_required
def create_token() -> Any:
    try:
        row, raw = flags.create_token(request.form.get("name", ""), actor=current_actor(), ip=client_ip(),
                                      environment=request.form.get("environment") or None)
    except flags.FlagError as exc:
        return _tokens_page(errors=exc.errors), 422
    # The token is shown in this response only: it is stored hashed.
    resp = Response(_tokens_page(created={"name": row.name, "token": raw}))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/-/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int) -> Any:
    try:
        row = flags.revoke_token(token_id, actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        abort(404, description=exc.message)
    return _go("flags.tokens", f"Revoked {row.name}: clients using it are refused within a second.")


# --------------------------------------------------------------------------- segments


def _segments_page(status: int = 200, **extra: Any) -> Any:
    ctx = {"segments": flags.list_segments(), "errors": {}, "form": {}, "conditions": [], "active": "flags",
           "operators": sorted(OPERATORS), "context_names": CONTEXT_NAMES}
    ctx.update(extra)
    return render_template("flags/segments.html", **ctx), status


@bp.get("/-/segments")
@admin_required
def segments() -> Any:
    return _segments_page()


def _segment_constraints() -> list[dict[str, Any]]:
    """The segment's conditions from the same rows as the flag's simple form; a `constraints` JSON list is
    still read for scripts that send one."""
    if "cond" in request.form or not request.form.get("constraints", "").strip():
        return _conditions_from_form()
    try:
        return inputs.loads(request.form["constraints"])
    except ValueError as exc:
        raise flags.FlagError("The constraints are not valid JSON.", {"constraints": str(exc)}, status=422) \
            from None


@bp.post("/-/segments")
@admin_required
def save_segment() -> Any:
    form = {k: request.form.get(k, "") for k in ("id", "name", "description")}
    conditions: list[dict[str, Any]] = []
    try:
        conditions = _segment_constraints()
        row = flags.save_segment(parse_int(form["id"], "id", minimum=1), form["name"], conditions,
                                 description=form["description"], actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        return _segments_page(exc.status, errors=exc.errors, message=exc.message, form=form,
                              conditions=conditions if isinstance(conditions, list) else [])
    return _go("flags.segments", f"Saved segment {row.name}")


@bp.post("/-/segments/<int:segment_id>/delete")
@admin_required
def delete_segment(segment_id: int) -> Any:
    try:
        flags.delete_segment(segment_id, actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        return _go("flags.segments", exc.message, "error")
    return _go("flags.segments", "Segment deleted")


# --------------------------------------------------------------------------- import / export


def _transfer_page(status: int = 200, **extra: Any) -> Any:
    ctx: dict[str, Any] = {"report": None, "errors": {}, "message": "", "environment_names": flags.environment_names(),
                           "chosen": "", "active": "flags"}
    ctx.update(extra)
    return render_template("flags/transfer.html", **ctx), status


def _transfer_environment(raw: str | None, default: str | None) -> str | None:
    """The environment the transfer page's export or import names: None for every one (`*`); an unknown
    one a FlagError naming the field."""
    try:
        return flags.transfer_environment(raw or None, default)  # the form's "" is none named
    except flags.FlagError:
        raise flags.FlagError(f"There is no environment {raw!r}.", {
            "environment": f"one of {', '.join(flags.environment_names())}, or all"}, 400) from None


@bp.get("/-/transfer")
@admin_required
def transfer() -> Any:
    return _transfer_page()


@bp.get("/-/export.json")
@admin_required
def export_flags() -> Response:
    """The export: `?environment=` one environment's (the default one when absent), `*` every one's in Unleash's
    full export."""
    raw = request.args.get("environment")
    try:
        environment = _transfer_environment(raw, _default_env())
    except flags.FlagError:
        abort(404, description=f"There is no environment {raw!r}.")
    doc = flags.export_document(include_archived=request.args.get("archived") == "1", environment=environment)
    resp = jsonify(doc)
    resp.headers["Content-Disposition"] = f'attachment; filename="nous-flags-{environment or "all"}.json"'
    return resp


@bp.post("/-/import")
@body_limit(MAX_UPLOAD + 64 * 1024)  # the file and the form around it; the file's own limit is checked below
@admin_required
def import_flags() -> Any:
    upload = request.files.get("file")
    raw = upload.read(MAX_UPLOAD + 1) if upload else request.form.get("document", "").encode()
    mode = request.form.get("mode", "merge")
    chosen = request.form.get("environment", "")
    try:
        environment = _transfer_environment(chosen, None)
        if len(raw) > MAX_UPLOAD:
            raise flags.FlagError("Nothing imported: the file is larger than 5 MB.", {"file": "too large"}, 413)
        if not raw.strip():
            raise flags.FlagError("Nothing imported: choose a file.", {"file": "required"})
        report = flags.import_document(flags.parse_document(raw), mode=mode, actor=current_actor(), ip=client_ip(),
                                       environment=environment)
    except flags.FlagError as exc:
        return _transfer_page(exc.status if exc.status != 404 else 400, errors=exc.errors, message=exc.message,
                              chosen=chosen)
    return _transfer_page(report=report, chosen=chosen)


# --------------------------------------------------------------------------- dashboard panel


@bp.get("/-/panel/changes")
@admin_required
def panel_changes() -> str:
    return render("flags/changes.html", block="changes", changes=flags.recent_changes(8),
                  active="dashboard")


# --------------------------------------------------------------------------- per-tester overrides


def _tester_or_404(user_id: Any) -> Any:
    user = flags.get_tester(user_id)
    if user is None:
        abort(404, description="There is no such tester.")
    return user


def _overrides_context(user: Any, **extra: Any) -> dict[str, Any]:
    ctx = {"user": user, "rows": flags.tester_override_rows(user.flag_set or {}), "flags": flags.list_flags(),
           "form": {}, "errors": {}, "message": "", "active": "testers"}
    ctx.update(extra)
    return ctx


@bp.get("/-/testers/<uuid:user_id>")
@admin_required
def tester_overrides(user_id: Any) -> str:
    user = _tester_or_404(user_id)
    return render("flags/tester_overrides.html", "flags/_tester_overrides.html", **_overrides_context(user))


@bp.post("/-/testers/<uuid:user_id>")
@admin_required
def set_tester_override(user_id: Any) -> Any:
    user = _tester_or_404(user_id)
    form = {"flag": request.form.get("flag", ""), "value": request.form.get("value", "")}
    try:
        flags.set_tester_override(user.id, form["flag"], form["value"], actor=current_actor(), ip=client_ip())
    except flags.FlagError as exc:
        ctx = _overrides_context(user, form=form, errors=exc.errors, message=exc.message)
        return render("flags/tester_overrides.html", "flags/_tester_overrides.html", **ctx), exc.status
    key = form["flag"].strip()
    message = f"Override of {key} cleared" if form["value"] == "clear" else f"{key} forced {form['value']}"
    if not is_fragment_request():
        return _go("testers.show_tester", message, user_id=user.id)
    return _fragment("flags/_tester_overrides.html", toast=message + f" for {user.email}",
                     **_overrides_context(flags.get_tester(user.id)))  # as stored now
