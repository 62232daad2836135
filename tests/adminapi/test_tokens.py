"""Admin API tokens: stored hashed, scoped, expiring, revocable; checked without SQL; audited; managed from
the CLI and the console page."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from nous.adminapi import tokens
from nous.adminapi.models import AdminToken
from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.extensions import db, get_redis
from tests.adminapi.conftest import Api
from tests.adminapi.paging import every_item
from tests.conftest import ADMIN_EMAIL, run_cli
from tests.support.sql import statements

API = "/api/admin/v1/tokens"


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def make(name: str = "script", scopes: list[str] | None = None, **kw) -> str:
    return tokens.create(name, scopes or ["admin"], actor="test", **kw)[1]


# --------------------------------------------------------------------------- the service


def test_a_token_is_stored_hashed_and_returned_once(ctx) -> None:
    row, raw = tokens.create("signup-service", ["testers:write"], actor="test")
    assert raw.startswith("nous_admin_") and len(raw) >= len("nous_admin_") + 40
    stored = db.session.scalar(select(AdminToken).where(AdminToken.name == "signup-service"))
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    values = [str(getattr(stored, c.key)) for c in AdminToken.__table__.columns]
    assert not any(raw in v or raw[len("nous_admin_"):] in v for v in values)  # nowhere, not even in part
    assert raw.startswith(stored.prefix) and len(stored.prefix) < len(raw) - 30
    assert "token" not in row.as_dict() and all(raw not in str(v) for v in tokens.list_tokens()[0].values())
    found = tokens.check(raw)
    assert found.token is not None and found.token.name == "signup-service"
    assert found.token.scopes == {"testers:write", "testers:read"}


@pytest.mark.parametrize(("scopes", "holds", "lacks"), [
    (["admin"], set(tokens.SCOPES), set()),
    (["flags:write"], {"flags:write", "flags:read"}, {"flags:archive", "jobs:read", "admin"}),
    (["flags:read"], {"flags:read"}, {"flags:write"}),
    (["system:read", "audit:read"], {"system:read", "audit:read"}, {"settings:read", "admin"}),
])
def test_write_implies_read_and_admin_holds_every_scope(scopes, holds, lacks) -> None:
    held = tokens.granted(scopes)
    assert holds <= held and not (lacks & held)


@pytest.mark.parametrize(("name", "scopes", "days", "field"), [
    ("", ["admin"], None, "name"),
    ("   ", ["admin"], None, "name"),
    ("x" * 101, ["admin"], None, "name"),
    ("bad\nname", ["admin"], None, "name"),
    (["list"], ["admin"], None, "name"),
    ("ok", [], None, "scopes"),
    ("ok", ["everything"], None, "scopes"),
    ("ok", "flags:write nope", None, "scopes"),
    ("ok", [1], None, "scopes"),
    ("ok", ["admin"], 0, "expires_in_days"),
    ("ok", ["admin"], 3651, "expires_in_days"),
    ("ok", ["admin"], "soon", "expires_in_days"),
    ("ok", ["admin"], True, "expires_in_days"),
    ("ok", ["admin"], 10**400, "expires_in_days"),
    ("ok", ["admin"], 1.9, "expires_in_days"),  # not cut to one day
    ("ok", ["admin"], "1_0", "expires_in_days"),  # what int() reads, not what the field says
    ("ok", ["admin"], "\u0663", "expires_in_days"),  # an Arabic-Indic three
    ("ok", ["admin"], " ", "expires_in_days"),
])
def test_bad_input_is_refused_naming_the_field(ctx, name, scopes, days, field) -> None:
    with pytest.raises(tokens.TokenError) as refused:
        tokens.create(name, scopes, expires_in_days=days, actor="test")
    assert field in refused.value.errors
    assert db.session.scalar(select(AdminToken.id)) is None


def test_names_are_unique_even_after_a_revocation(ctx) -> None:
    make("bot")
    tokens.revoke("bot", actor="test")
    with pytest.raises(tokens.TokenError) as refused:
        make("bot")
    assert refused.value.status == 409 and "name" in refused.value.errors


def test_check_tells_why_a_token_is_refused(ctx) -> None:
    good, gone, old = make("good"), make("gone"), make("old", expires_in_days=1)
    assert tokens.check(old).token is not None  # not yet expired
    tokens.revoke("gone", actor="test")
    db.session.execute(update(AdminToken).where(AdminToken.name == "old").values(expires_at=utcnow()
                                                                                 - timedelta(seconds=1)))
    db.session.commit()
    tokens._copy().changed()
    assert tokens.check(good).token is not None
    assert tokens.check(None).reason == "missing"
    assert tokens.check("").reason == "missing"
    assert tokens.check("nous_admin_" + "x" * 43).reason == "unknown"
    assert tokens.check(good[:-1]).reason == "unknown"
    assert tokens.check(gone).reason == "revoked"
    assert tokens.check(old).reason == "expired"


def test_a_token_expires_on_time_without_any_change_announced(ctx) -> None:
    raw = make("short", expires_in_days=1)
    assert tokens.check(raw).token is not None
    row = db.session.scalar(select(AdminToken).where(AdminToken.name == "short"))
    # the copy holds the expiry itself: the clock alone ends the token
    info = tokens._copy().get()[row.token_hash]
    assert abs(info.expires - (utcnow() + timedelta(days=1)).timestamp()) < 60
    object.__setattr__(info, "expires", time.time() - 0.001)
    assert tokens.check(raw).reason == "expired"


def test_a_token_made_by_another_process_works_at_once(ctx) -> None:
    """Another process commits a token and writes a new version: this process, which checked the version a
    moment ago, looks again on the unknown token instead of refusing it for up to half a second."""
    make("first")
    tokens.check(make("known"))  # the copy is fresh: no version check due for CHECK_EVERY seconds
    raw = "nous_admin_" + "m" * 43
    db.session.add(AdminToken(name="elsewhere", token_hash=tokens.hash_token(raw), prefix=raw[:17],
                              scopes=["jobs:read"], created_at=utcnow(), created_by="another process",
                              last_used_ip=""))
    db.session.commit()
    get_redis().set(tokens.VERSION_KEY, "written-by-another-process")
    tokens._last_miss_check[0] = float("-inf")  # no unknown token was presented just before
    found = tokens.check(raw)
    assert found.token is not None and found.token.name == "elsewhere"
    assert tokens.check("nous_admin_" + "z" * 43).reason == "unknown"  # and unknown ones stay unknown


def test_unknown_tokens_cost_a_version_look_at_most_every_few_milliseconds_and_no_sql(ctx) -> None:
    """Someone spraying made-up tokens: each is one hash; the version is asked for at most every
    MISS_RECHECK seconds, and the tokens are not read again (the version did not change)."""
    tokens.check(make("known"))

    def gets() -> int:
        return int(get_redis().info("commandstats").get("cmdstat_get", {}).get("calls", 0))

    before, loads, start = gets(), tokens._copy().loads, time.monotonic()
    with statements() as sent:
        for i in range(3000):
            assert tokens.check(f"nous_admin_{i:043d}").reason == "unknown"
    elapsed = time.monotonic() - start
    assert sent == [] and tokens._copy().loads == loads
    allowed = elapsed / tokens.MISS_RECHECK + elapsed / tokens.CHECK_EVERY + 2
    assert gets() - before <= allowed, (gets() - before, elapsed)


def test_checking_a_token_sends_no_sql(ctx) -> None:
    raw = make("hot")
    tokens.check(raw)  # the first check loads the copy
    with statements() as sent:
        start = time.perf_counter()
        for _ in range(2000):
            assert tokens.check(raw).token is not None
        per_check = (time.perf_counter() - start) / 2000
    assert sent == []
    assert per_check < 0.0005, f"{per_check * 1e6:.1f} µs per check"


# --------------------------------------------------------------------------- the API's answers


def test_no_token_unknown_expired_or_revoked_gets_401_problem(app, client) -> None:
    with app.app_context():
        good, gone, old = make("good"), make("gone"), make("old", expires_in_days=1)
        tokens.revoke("gone", actor="test")
        db.session.execute(update(AdminToken).where(AdminToken.name == "old")
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        tokens._copy().changed()
    assert client.get(API, headers=bearer(good)).status_code == 200
    for headers, reason in (({}, "missing"), ({"Authorization": "Basic YTpi"}, "missing"),
                            ({"Authorization": "Bearer"}, "missing"), (bearer("nous_admin_nope"), "unknown"),
                            (bearer(gone), "revoked"), (bearer(old), "expired")):
        resp = client.get(API, headers=headers)
        assert resp.status_code == 401, headers
        assert resp.mimetype == "application/problem+json"
        problem = resp.get_json()
        assert problem["status"] == 401 and problem["title"] == "Unauthorized" and problem["reason"] == reason
        assert set(problem) >= {"type", "title", "status", "detail", "errors"}
        assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="nous-admin"')
        assert ('error="invalid_token"' in resp.headers["WWW-Authenticate"]) == (reason != "missing")


def test_a_token_without_the_scope_gets_403_naming_it(app, client) -> None:
    with app.app_context():
        raw = make("reader", ["flags:read", "audit:read"])
    resp = client.get(API, headers=bearer(raw))
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["scope"] == "admin" and "admin" in problem["detail"]
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert 'scope="admin"' in resp.headers["WWW-Authenticate"]


def test_the_session_cookie_is_never_accepted(admin_client) -> None:
    """The signed-in admin's browser, without a bearer token, is refused: no cookie, no CSRF on the API."""
    assert admin_client.get("/admin/api-tokens/").status_code == 200  # the cookie is good for the console
    resp = admin_client.get(API)
    assert resp.status_code == 401 and resp.get_json()["reason"] == "missing"
    resp = admin_client.post(API, json={"name": "via-cookie", "scopes": ["admin"]})
    assert resp.status_code == 401
    assert "Set-Cookie" not in resp.headers


def test_tokens_through_the_api_are_audited_with_the_token_as_actor(app, client) -> None:
    with app.app_context():
        raw = make("ops-bot")
    created = client.post(API, json={"name": "report", "scopes": ["feedback:read"], "expires_in_days": 30},
                          headers=bearer(raw))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["token"].startswith("nous_admin_") and body["scopes"] == ["feedback:read"]
    assert body["expires_at"].endswith("Z") and created.headers["Cache-Control"] == "no-store"
    assert created.headers["Location"].endswith("/api/admin/v1/tokens/report")
    read = client.get("/api/admin/v1/tokens/report", headers=bearer(raw))
    got, etag = read.get_json(), read.headers["ETag"]
    assert "token" not in got and got["state"] == "active"
    revoked = client.post("/api/admin/v1/tokens/report/revoke", headers=bearer(raw))
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert client.get(API, headers=bearer(body["token"])).status_code == 401
    assert client.get("/api/admin/v1/tokens/report", headers=bearer(raw)).headers["ETag"] != etag  # it changed
    assert client.get("/api/admin/v1/tokens/nobody", headers=bearer(raw)).status_code == 404
    with app.app_context():
        events = {e.action: e for e in audit.query(action="adminapi.token", target="report")}
    assert events["adminapi.token.create"].actor == "token:ops-bot"
    assert events["adminapi.token.create"].target == "report"
    assert events["adminapi.token.revoke"].actor == "token:ops-bot"
    assert body["token"] not in str(events["adminapi.token.create"].after)


@pytest.mark.parametrize(("payload", "field"), [
    ({"scopes": ["admin"]}, "name"),
    ({"name": "x", "scopes": ["root"]}, "scopes"),
    ({"name": "x", "scopes": "admin", "expires_in_days": -3}, "expires_in_days"),
])
def test_bad_creations_get_a_422_naming_the_field(app, client, payload, field) -> None:
    with app.app_context():
        raw = make("ops")
    resp = client.post(API, json=payload, headers=bearer(raw))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in resp.get_json()["errors"]
    with app.app_context():
        assert [t["name"] for t in tokens.list_tokens()] == ["ops"]


def test_a_retried_creation_makes_one_token(app, client) -> None:
    with app.app_context():
        raw = make("ops")
    headers = {**bearer(raw), "Idempotency-Key": "create-report-1"}
    first = client.post(API, json={"name": "report", "scopes": ["feedback:read"]}, headers=headers)
    again = client.post(API, json={"name": "report", "scopes": ["feedback:read"]}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["token"] == first.get_json()["token"]
    with app.app_context():
        assert sorted(t["name"] for t in tokens.list_tokens()) == ["ops", "report"]


def test_the_list_pages_to_the_end_newest_first(app, client) -> None:
    with app.app_context():
        raw = make("ops")
        for i in range(6):
            make(f"t{i}", ["jobs:read"])
    names = every_item(Api(client, raw), f"{API}?limit=4", "name")
    assert names == ["t5", "t4", "t3", "t2", "t1", "t0", "ops"]


def served(resp):
    """The answer as a WSGI server finishes it: closed once sent (the test client leaves that to us)."""
    resp.close()
    return resp


def test_last_use_is_written_at_most_once_a_minute_per_token(app) -> None:
    with app.app_context():
        raw = make("ops")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert served(client.get(API, headers=bearer(raw))).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(AdminToken).where(AdminToken.name == "ops"))
        first = row.last_used_at
        assert first is not None and row.last_used_ip == "10.1.2.3"
    client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    with app.app_context(), statements() as sent:
        for _ in range(5):
            assert served(client.get(API, headers=bearer(raw))).status_code == 200
    assert not [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    with app.app_context():
        row = db.session.scalar(select(AdminToken).where(AdminToken.name == "ops"))
        assert row.last_used_ip == "10.1.2.3"
    app.extensions["nous.adminapi.touched"][row.token_hash] -= tokens.TOUCH_EVERY  # a minute later
    assert served(client.get(API, headers=bearer(raw))).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(AdminToken).where(AdminToken.name == "ops"))
        assert row.last_used_ip == "10.9.9.9" and aware(row.last_used_at) > aware(first)
        listed = tokens.list_tokens()[0]
    assert listed["last_used_ip"] == "10.9.9.9" and listed["last_used_at"].endswith("Z")


# --------------------------------------------------------------------------- the CLI


def test_cli_creates_lists_and_revokes(app, runner) -> None:
    made = runner.invoke(args=["nous", "tokens", "create", "weekly-report", "--scope", "feedback:read",
                               "--scope", "testers:read", "--expires-in", "30"])
    assert made.exit_code == 0, made.output
    raw = made.output.strip().splitlines()[-1]
    assert re.fullmatch(r"nous_admin_[A-Za-z0-9_-]{40,}", raw)
    with app.app_context():
        found = tokens.check(raw).token
        assert found is not None and found.scopes == {"feedback:read", "testers:read"}
        event_ = audit.query(action="adminapi.token.create")[0]
        assert event_.actor.startswith("cli:") and event_.target == "weekly-report"
    listed = runner.invoke(args=["nous", "tokens", "list"])
    assert listed.exit_code == 0 and "weekly-report" in listed.output and "feedback:read" in listed.output
    assert raw not in listed.output
    gone = runner.invoke(args=["nous", "tokens", "revoke", "weekly-report"])
    assert gone.exit_code == 0 and "revoked" in gone.output
    with app.app_context():
        assert tokens.check(raw).reason == "revoked"
    assert "revoked" in runner.invoke(args=["nous", "tokens", "list"]).output


@pytest.mark.parametrize("args", [
    ["create", "x"],  # no scope
    ["create", "x", "--scope", "root"],
    ["create", "x", "--scope", "admin", "--expires-in", "0"],
    ["create", "x", "--scope", "admin", "--expires-in", "-1"],
    ["create", "x", "--scope", "admin", "--expires-in", "3651"],
    ["create", "x", "--scope", "admin", "--expires-in", "9" * 30],
    ["create", "x", "--scope", "admin", "--expires-in", "1.5"],
    ["create", "x", "--scope", "admin", "--expires-in", "soon"],
    ["create", "bad\tname", "--scope", "admin"],
    ["revoke", "nobody"],
])
def test_cli_refuses_bad_input_with_a_non_zero_exit(app, runner, args) -> None:
    result = runner.invoke(args=["nous", "tokens", *args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    with app.app_context():
        assert tokens.list_tokens() == []


def test_cli_prints_the_token_alone_on_its_last_line_in_a_real_shell(app) -> None:
    done = run_cli("nous", "tokens", "create", "shell-made", "--scope", "jobs:write")
    assert done.returncode == 0, done.stderr
    raw = done.stdout.rstrip("\n").splitlines()[-1]
    assert raw.startswith("nous_admin_") and " " not in raw
    with app.app_context():
        assert tokens.check(raw).token.name == "shell-made"
    again = run_cli("nous", "tokens", "create", "shell-made", "--scope", "jobs:write")
    assert again.returncode != 0 and "exists already" in again.stderr


# --------------------------------------------------------------------------- the console page


def test_the_name_field_holds_what_the_server_takes(admin_client, monkeypatch) -> None:
    """The form's maxlength is the server's limit (tokens.NAME_MAX) itself, so the two cannot drift apart."""
    page = admin_client.get("/admin/api-tokens/").get_data(as_text=True)
    assert re.search(r'<input id="api-token-name"[^>]* maxlength="100"', page)
    monkeypatch.setattr(tokens, "NAME_MAX", 60)
    page = admin_client.get("/admin/api-tokens/").get_data(as_text=True)
    assert re.search(r'<input id="api-token-name"[^>]* maxlength="60"', page)


def test_the_console_page_creates_shows_once_and_revokes(app, admin_client) -> None:
    page = admin_client.get("/admin/api-tokens/")
    assert page.status_code == 200 and "No API tokens yet" in page.text
    assert 'href="/admin/api-tokens/"' in page.text  # in the console's navigation
    made = admin_client.post("/admin/api-tokens/", data={"name": "incident-bot", "scope": ["flags:write"],
                                                         "expires_in_days": "90"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    raw = re.search(r'value="(nous_admin_[^"]+)"', made.text).group(1)
    assert "Copy it now" in made.text
    again = admin_client.get("/admin/api-tokens/")
    assert raw not in again.text and "incident-bot" in again.text and "flags:write" in again.text
    with app.app_context():
        assert tokens.check(raw).token.scopes == {"flags:write", "flags:read"}
        assert audit.query(action="adminapi.token.create")[0].actor == ADMIN_EMAIL
    gone = admin_client.post("/admin/api-tokens/incident-bot/revoke")
    assert gone.status_code == 303
    assert "Revoked incident-bot" in admin_client.get("/admin/api-tokens/").text
    with app.app_context():
        assert tokens.check(raw).reason == "revoked"
        assert audit.query(action="adminapi.token.revoke")[0].actor == ADMIN_EMAIL


HX = {"HX-Request": "true"}


def test_the_console_page_shows_refusals_in_place(app, admin_client) -> None:
    resp = admin_client.post("/admin/api-tokens/", data={"name": "no-scope"}, headers={"HX-Request": "true"})
    assert resp.status_code == 422 and "at least one of" in resp.text
    assert 'value="no-scope"' in resp.text and "<html" not in resp.text  # the block, for HTMX
    with app.app_context():
        assert tokens.list_tokens() == []
    assert admin_client.post("/admin/api-tokens/nobody/revoke").status_code == 404
    assert admin_client.post("/admin/api-tokens/", data={"name": "bot", "scope": "admin"}).status_code == 200
    taken = admin_client.post("/admin/api-tokens/", data={"name": "bot", "scope": "admin"}, headers=HX)
    assert taken.status_code == 422 and "already used by another token" in taken.text  # swapped in place, as any


def test_the_console_page_needs_the_admin_and_a_csrf_token(app, client, admin_client) -> None:
    assert client.get("/admin/api-tokens/").status_code == 302
    assert client.post("/admin/api-tokens/", data={"name": "x", "scope": "admin"}).status_code in (302, 400, 401, 403)
    del admin_client.environ_base["HTTP_X_CSRF_TOKEN"]
    assert admin_client.post("/admin/api-tokens/", data={"name": "x", "scope": "admin"}).status_code in (400, 403)
    with app.app_context():
        assert tokens.list_tokens() == []
