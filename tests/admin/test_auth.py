"""The console's gates: every admin route refuses strangers; login links; CSRF; headers; `next`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter, UUIDConverter
from werkzeug.routing.converters import NumberConverter

from nous.admin import service
from nous.admin.models import LoginToken
from nous.extensions import db
from tests.conftest import ADMIN_EMAIL, run_cli

SAMPLE = {"token": "x" * 20, "key": "db.slow_query_ms"}
PUBLIC_ADMIN_ENDPOINTS = {"admin.index", "admin.login", "admin.login_start", "admin.auth_callback",
                          "admin.login_link", "admin.use_login_link", "admin.logout"}


def sample_value(rule, arg: str) -> str:
    converter = rule._converters.get(arg)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000000"
    if isinstance(converter, (IntegerConverter, NumberConverter)):
        return "1"
    return SAMPLE.get(arg, "nope")


def console_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) for every console route, with sample values for its arguments."""
    out = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in PUBLIC_ADMIN_ENDPOINTS:
            continue
        url = adapter.build(rule.endpoint, {a: sample_value(rule, a) for a in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url, rule.endpoint))
    return out


def test_every_console_route_refuses_anonymous_requests(app, client) -> None:
    routes = console_routes(app)
    assert len(routes) >= 10
    for method, url, endpoint in routes:
        view = app.view_functions[endpoint]
        assert getattr(view, "admin_only", False), f"{endpoint} is not guarded by admin_required"
        with client.session_transaction() as s:
            s["_csrf"] = "t"
        resp = client.open(url, method=method, headers={"X-CSRF-Token": "t"})
        assert resp.status_code in {302, 401}, f"{method} {url} answered {resp.status_code}"
        if resp.status_code == 302:
            assert "/admin/login" in resp.headers["Location"]


def test_console_routes_answer_the_admin_without_server_errors(admin_client, app) -> None:
    for method, url, _ in console_routes(app):
        if method == "GET":
            resp = admin_client.get(url)
            assert resp.status_code < 500, f"GET {url} answered {resp.status_code}"


def test_login_link_works_once(client, ctx) -> None:
    token = service.create_login_link(ADMIN_EMAIL, actor="test")
    assert client.get(f"/admin/login/link/{token}").status_code == 200  # a GET never spends it
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    first = client.post(f"/admin/login/link/{token}", data={"csrf_token": "t"})
    assert first.status_code == 302 and first.headers["Location"].endswith("/admin/beta/")
    assert client.get("/admin/beta/").status_code == 200
    other = ctx.test_client()
    with other.session_transaction() as s:
        s["_csrf"] = "t"
    second = other.post(f"/admin/login/link/{token}", data={"csrf_token": "t"})
    assert second.status_code == 403 and b"already been used" in second.data


def test_login_link_expires(client, ctx) -> None:
    token = service.create_login_link(ADMIN_EMAIL, actor="test")
    row = db.session.scalars(db.select(LoginToken)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    resp = client.post(f"/admin/login/link/{token}", data={"csrf_token": "t"})
    assert resp.status_code == 403 and b"expired" in resp.data
    assert client.get("/admin/beta/").status_code == 302


def test_unknown_login_link_is_refused_and_audited(client, ctx) -> None:
    from nous.audit import service as audit

    with client.session_transaction() as s:
        s["_csrf"] = "t"
    resp = client.post("/admin/login/link/not-a-real-token-at-all", data={"csrf_token": "t"})
    assert resp.status_code == 403
    assert audit.query(action="auth.refused")[0].after["reason"] == "this sign-in link is not valid"


def test_login_link_cli_prints_a_working_link(client, ctx) -> None:
    proc = run_cli("nous", "login-link")
    assert proc.returncode == 0, proc.stderr
    link = proc.stdout.strip()
    assert "/admin/login/link/" in link
    token = link.rsplit("/", 1)[1]
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    assert client.post(f"/admin/login/link/{token}", data={"csrf_token": "t"}).status_code == 302
    bad = run_cli("nous", "login-link", "--email", "intruder@example.test")
    assert bad.returncode != 0 and "not on NOUS_ADMIN_EMAILS" in bad.stderr and "Traceback" not in bad.stderr


def test_state_change_without_csrf_token_is_refused(admin_client) -> None:
    resp = admin_client.post("/admin/settings/db.slow_query_ms", data={"value": "250"}, headers={"X-CSRF-Token": ""})
    assert resp.status_code == 400
    assert b"security token" in resp.data
    wrong = admin_client.post("/admin/settings/db.slow_query_ms", data={"value": "250"},
                              headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 400
    ok = admin_client.post("/admin/settings/db.slow_query_ms", data={"value": "250"})
    assert ok.status_code == 200


def test_security_headers_on_every_response(client) -> None:
    for path in ("/admin/login", "/healthz", "/nothing-here"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"]


@pytest.mark.parametrize(("target", "expected"), [
    ("/admin/audit", "/admin/audit"),
    ("https://evil.example/x", "/admin/beta/"),
    ("//evil.example/x", "/admin/beta/"),
    ("/\\evil.example", "/admin/beta/"),
    ("javascript:alert(1)", "/admin/beta/"),
    ("/admin/audit?x=1", "/admin/audit?x=1"),
])
def test_next_only_accepts_local_paths(client, ctx, target: str, expected: str) -> None:
    client.get("/admin/login", query_string={"next": target})
    token = service.create_login_link(ADMIN_EMAIL, actor="test")
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    resp = client.post(f"/admin/login/link/{token}", data={"csrf_token": "t"})
    assert resp.headers["Location"] == expected


def test_sessions_expire_when_idle_and_absolutely(app, client) -> None:
    now = int(time.time())
    with client.session_transaction() as s:
        s.update({"_user_id": ADMIN_EMAIL, "signed_in_at": now, "seen_at": now - 61 * 60})
    assert client.get("/admin/beta/").status_code == 302
    with client.session_transaction() as s:
        s.update({"_user_id": ADMIN_EMAIL, "signed_in_at": now - 13 * 3600, "seen_at": now})
    assert client.get("/admin/beta/").status_code == 302
    with client.session_transaction() as s:
        s.update({"_user_id": ADMIN_EMAIL, "signed_in_at": now - 3600, "seen_at": now - 60})
    assert client.get("/admin/beta/").status_code == 200


def test_session_cookie_is_secure_behind_https(app) -> None:
    c = app.test_client()
    resp = c.get("/admin/login", base_url="https://console.example")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = app.test_client().get("/admin/login").headers.get("Set-Cookie", "")
    assert "Secure" not in plain


def test_sign_out_ends_the_session(admin_client) -> None:
    assert admin_client.get("/admin/beta/").status_code == 200
    assert admin_client.post("/admin/logout").status_code == 302
    assert admin_client.get("/admin/beta/").status_code == 302


def test_sign_in_attempts_are_rate_limited(client, ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("auth.rate_limit", "3/minute", actor="test")
    codes = [client.get("/admin/login/link/whatever-token-123").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert client.get("/admin/login/link/whatever-token-123").headers.get("Retry-After")


def test_limit_headers_only_on_limited_routes(client, ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("auth.rate_limit", "5/minute", actor="test")
    limited = client.get("/admin/login/link/whatever-token-123")
    assert (limited.headers["X-RateLimit-Limit"], limited.headers["X-RateLimit-Remaining"]) == ("5", "4")
    for path in ("/healthz", "/admin/login"):  # no limit checked: nothing from the limiter, nothing left over
        assert "X-RateLimit-Limit" not in client.get(path).headers
    assert client.get("/admin/login/link/whatever-token-123").headers["X-RateLimit-Remaining"] == "3"
