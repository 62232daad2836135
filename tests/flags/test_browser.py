"""The flags console in Chromium: sign in, create a flag, the simple form with a condition, the full model,
preview, history with restore (hx-confirm), tokens — under the real CSP, without a console error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nous.flags import service
from tests.support.live import LiveServer, launch_browser

playwright_api = pytest.importorskip("playwright.sync_api")


def fresh(key: str):
    """The flag as the server left it (the test's own session may hold an older copy)."""
    from nous.extensions import db

    db.session.rollback()
    return service.get_flag(key)


@pytest.fixture
def live(app, ctx):
    server = LiveServer(app)
    yield server
    server.stop()


def test_console_flow_in_a_browser(live, ctx, tmp_path) -> None:
    from nous.admin.service import create_login_link

    shots = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)  # set it to keep the pictures
    token = create_login_link("admin@nous.test", actor="test")
    problems: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: d.accept())
        page.goto(f"{live.url}/admin/login/link/{token}")
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live.url}/admin/beta/flags/")
        page.get_by_role("link", name="New flag").click()
        page.get_by_label("Key").fill("checkout.new-flow")
        page.get_by_label("Description").fill("The new checkout")
        page.get_by_role("button", name="Create (off)").click()
        page.wait_for_url("**/admin/beta/flags/checkout.new-flow")
        assert "Created checkout.new-flow" in page.content()

        # the simple form: switch on, 40 %, one target tester, one condition added through HTMX
        page.get_by_label("Flag is on").check()
        page.locator("#simple-rollout").fill("40")
        assert page.locator("#simple-rollout-out").inner_text() == "40"
        page.get_by_label("Target testers (always get it)").fill("tester-7")
        page.get_by_role("button", name="Add condition").click()
        page.get_by_label("Context field").fill("environment")
        page.get_by_label("Values (comma-separated)").fill("production")
        page.locator("#simple-form").get_by_role("button", name="Save").click()
        page.get_by_text("Saved: version 2.").wait_for()
        flag = fresh("checkout.new-flow")
        assert flag.enabled is True and [s["name"] for s in flag.strategies] == ["userWithId", "flexibleRollout"]
        assert flag.strategies[1]["constraints"] == [{"contextName": "environment", "operator": "IN",
                                                      "values": ["production"]}]

        # a refused condition shows its message in place
        page.get_by_label("Values (comma-separated)").fill("")
        page.get_by_label("Operator").select_option("SEMVER_GT")
        page.get_by_label("Values (comma-separated)").fill("banana")
        page.locator("#simple-form").get_by_role("button", name="Save").click()
        page.get_by_text("not a semantic version").first.wait_for()
        assert fresh("checkout.new-flow").version == 2

        # preview
        page.reload()
        page.get_by_label("userId").fill("tester-7")
        page.get_by_role("button", name="Evaluate").click()
        page.locator("#preview-result").get_by_text("strategy 0 (userWithId) matched").wait_for()
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "flag.png"), full_page=True)

        # the full model is one click away and says at once when JSON is broken
        page.get_by_text("Full model (strategies, variants, dependencies)").click()
        page.locator("#definition").fill("{ nope")
        page.get_by_text("Not valid JSON yet").wait_for()

        # history and restore (hx-confirm, accepted above)
        page.get_by_role("link", name="History").first.click()
        page.wait_for_url("**/history")
        assert "strategies[1]" in page.content()
        page.screenshot(path=str(shots / "history.png"), full_page=True)
        page.locator("#v1-h").get_by_role("button", name="Restore").click()
        page.get_by_text("Restored version 1 of checkout.new-flow in production as version 3.").wait_for()
        assert fresh("checkout.new-flow").enabled is False

        # tokens: shown once
        page.goto(f"{live.url}/admin/beta/flags/-/tokens")
        page.get_by_label("Name (who uses it)").fill("web")
        page.get_by_role("button", name="Create token").click()
        shown = page.locator("#new-token").input_value()
        assert shown.startswith("default:production.")
        page.screenshot(path=str(shots / "tokens.png"), full_page=True)

        page.goto(f"{live.url}/admin/beta/flags/")
        page.screenshot(path=str(shots / "list.png"), full_page=True)
        page.get_by_role("switch", name="checkout.new-flow is off in production; switch on").click()
        page.get_by_text("checkout.new-flow is on in production").wait_for()
        browser.close()
    assert fresh("checkout.new-flow").enabled is True
    # the refused condition above answered 422 on purpose; anything else (a CSP refusal, a script error) fails
    assert [m for m in problems if "status of 422" not in m] == []
