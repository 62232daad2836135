"""Sign-out ends the session on the server: a copy of the cookie is refused afterwards, everywhere."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests
from flask.testing import FlaskClient
from simple_websocket import ConnectionError as HandshakeRefused

from nous.admin import service
from nous.audit import service as audit
from nous.flags import service as flags
from tests.conftest import ADMIN_EMAIL, run_cli
from tests.live.conftest import open_socket, sign_in, start_gunicorn

COOKIE = "nous_session"


def signed_in(app) -> FlaskClient:
    """A test client signed in through a one-time login link, as the admin does it."""
    with app.app_context():
        token = service.create_login_link(ADMIN_EMAIL, actor="test")
    client = app.test_client()
    page = client.get(f"/admin/login/link/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"/admin/login/link/{token}", data={"csrf_token": csrf}).status_code == 302
    return client


def csrf_of(client: FlaskClient) -> str:
    page = client.get("/admin/beta/")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def copy_of(app, cookie: str) -> FlaskClient:
    """Another browser sending a copy of a session cookie taken earlier (as it was then)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


# No test here holds an app context open: requests would share it (and flask-login's user in `g`).


def test_a_copied_cookie_is_refused_after_sign_out(app) -> None:
    with app.app_context():
        flags.create_flag({"key": "killme", "enabled": True}, actor="test")
    admin = signed_in(app)
    csrf = csrf_of(admin)
    stolen = admin.get_cookie(COOKIE).value  # type: ignore[union-attr]
    assert copy_of(app, stolen).get("/admin/beta/").status_code == 200  # the copy works while the session lives

    assert admin.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302

    page = copy_of(app, stolen).get("/admin/beta/")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    switch = copy_of(app, stolen).post("/admin/beta/flags/killme/switch", data={"to": "off", "csrf_token": csrf},
                                       headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert switch.status_code == 401
    assert copy_of(app, stolen).get("/admin/beta/").status_code == 302  # for good, not once
    with app.app_context():
        assert flags.get_flag("killme").enabled is True
        assert [e.action for e in audit.query(action="auth.signed_out")] == ["auth.signed_out"]


def test_sign_out_everywhere_in_the_console_ends_every_session(app) -> None:
    laptop, phone = signed_in(app), signed_in(app)
    copy = copy_of(app, phone.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    csrf = csrf_of(laptop)
    assert laptop.post("/admin/logout-all", data={"csrf_token": csrf}).status_code == 302
    for browser in (laptop, phone, copy):
        assert browser.get("/admin/beta/").status_code == 302
    with app.app_context():
        assert audit.query(action="auth.signed_out_everywhere")[0].actor == ADMIN_EMAIL
    assert signed_in(app).get("/admin/beta/").status_code == 200  # signing in again works


def test_sign_out_everywhere_needs_the_admin_and_a_csrf_token(app, client) -> None:
    admin = signed_in(app)
    assert admin.post("/admin/logout-all").status_code in (400, 403)
    assert admin.get("/admin/beta/").status_code == 200
    assert client.post("/admin/logout-all", data={"csrf_token": "x"}).status_code in (302, 400, 401, 403)
    assert admin.get("/admin/beta/").status_code == 200


def test_the_console_offers_sign_out_everywhere(app) -> None:
    page = signed_in(app).get("/admin/beta/").text
    assert 'action="/admin/logout-all"' in page and "Sign out everywhere" in page


@pytest.fixture
def web(app) -> Iterator[str]:
    """gunicorn with two worker processes: a sign-out in one must reach the other."""
    base, proc = start_gunicorn(WEB_CONCURRENCY="2")
    yield base
    proc.kill()
    proc.wait(timeout=10)


def refused_within(http: requests.Session, base: str, seconds: float) -> float:
    """Seconds until the console refuses this cookie; then it must stay refused (on any worker)."""
    start = time.monotonic()
    while http.get(f"{base}/admin/beta/", allow_redirects=False, timeout=10).status_code == 200:
        assert time.monotonic() - start < seconds, f"still signed in after {seconds} s"
        time.sleep(0.02)
    took = time.monotonic() - start
    for _ in range(20):
        assert http.get(f"{base}/admin/beta/", allow_redirects=False, timeout=10).status_code == 302
    return took


def test_a_copied_cookie_is_refused_on_every_process_and_on_the_live_socket(app, web) -> None:
    admin = sign_in(app, web)
    thief = requests.Session()
    thief.cookies.update(admin.cookies)
    ws = open_socket(web, thief)  # the copy opens the socket while the session lives
    ws.close()
    page = admin.get(f"{web}/admin/beta/", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert admin.post(f"{web}/admin/logout", data={"csrf_token": csrf}, timeout=10).status_code == 200
    assert refused_within(thief, web, 1.0) < 1.0
    with pytest.raises(HandshakeRefused) as refused:
        open_socket(web, thief)
    assert refused.value.status_code == 401


def test_flask_nous_logout_all_reaches_a_running_server_within_a_second(app, web) -> None:
    browser = sign_in(app, web)
    ws = open_socket(web, browser)
    ws.close()
    done = run_cli("nous", "logout-all")
    assert done.returncode == 0, done.stderr
    assert "signed out" in done.stdout
    assert refused_within(browser, web, 1.0) < 1.0
    with pytest.raises(HandshakeRefused) as refused:
        open_socket(web, browser)
    assert refused.value.status_code == 401


def test_a_session_without_an_id_ends_with_sign_out_everywhere(admin_client, app) -> None:
    """Cookies made before sessions had ids: signing one out ends every session, so none survives."""
    other = app.test_client()
    other.set_cookie(COOKIE, admin_client.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    assert other.get("/admin/beta/").status_code == 200
    assert admin_client.post("/admin/logout").status_code == 302
    assert other.get("/admin/beta/").status_code == 302

