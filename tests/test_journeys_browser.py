"""The admin's tasks end to end in Chromium, asserting what is visible after each step: the console shows
the stored state, its actions do what their labels say, stale actions are refused with the current
state, and changes made elsewhere (another tab, the CLI, the public API) appear within 2 seconds."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ADMIN_EMAIL, run_cli
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FOLLOW_MS = 2000  # every view follows a change made elsewhere within this
SHOTS = os.environ.get("NOUS_SCREENSHOTS", "")  # set it to a folder to keep pictures of the refusals


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
FLAGS = "/admin/beta/flags"


@pytest.fixture(scope="module")
def stack(app) -> Iterator[tuple[str, Any]]:
    with served_in_chromium(app) as served:
        yield served
    wait_hub_idle(app)


class Admin:
    """One signed-in browser context (its own cookies: a second Admin is a second browser)."""

    def __init__(self, app, base: str, browser: Any, live: bool = True) -> None:
        from nous.admin.service import create_login_link

        self.base = base
        self.context = browser.new_context(viewport={"width": 1360, "height": 900})
        self.problems: list[str] = []
        with app.app_context():
            token = create_login_link(ADMIN_EMAIL, "test")
        page = self.open(live=live)
        page.goto(f"{base}/admin/login/link/{token}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/admin/beta/")
        self.page = page

    def open(self, live: bool = True) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        page.on("dialog", lambda d: d.accept())
        if not live:  # a tab whose live socket hears nothing: it keeps what it showed, as a stale tab does
            page.route_web_socket("**/ws/live**", lambda ws: None)
        return page

    def close(self) -> None:
        self.context.close()


def stored(app, key: str) -> Any:
    from nous.extensions import db
    from nous.flags import service

    with app.app_context():
        flag = service.get_flag(key)
        db.session.expunge(flag)
        return flag


def header_is_true(app, page: Any, key: str) -> Any:
    """The header shows the stored state and version, and its switch offers the other state."""
    flag = stored(app, key)
    header = page.locator("#flag-header")
    expect(header.locator("[data-state]")).to_have_text("on" if flag.enabled else "off")
    expect(header).to_contain_text(f"version {flag.version}")
    expect(page.locator("#flag-switch")).to_have_text("Switch off" if flag.enabled else "Switch on")
    return flag


def switch_does_what_it_says(app, page: Any, key: str) -> None:
    """Click the switch twice: each time the stored state becomes what the label said, and the header
    (and the simple form's "Flag is on") follow without a reload."""
    loaded = page.evaluate("performance.timeOrigin")
    for _ in range(2):
        label = page.locator("#flag-switch").inner_text()
        before = stored(app, key).version
        page.locator("#flag-switch").click()
        expect(page.locator("#flag-header")).to_contain_text(f"version {before + 1}")
        flag = header_is_true(app, page, key)
        assert flag.enabled is (label == "Switch on"), label
        expect(page.get_by_label("Flag is on")).to_be_checked(checked=flag.enabled)
        expect(page.locator("#flag-switch")).to_be_focused()  # focus stays on the switch, not the page top
    assert page.evaluate("performance.timeOrigin") == loaded


def save_simple(page: Any) -> None:
    page.locator("#simple-form").get_by_role("button", name="Save").click()


def test_a_flag_from_creation_to_restore_always_shows_the_stored_state(app, stack) -> None:
    base, browser = stack
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}{FLAGS}/")
    page.get_by_role("link", name="New flag").click()
    page.get_by_label("Key").fill("journey.checkout")
    page.get_by_role("button", name="Create (off)").click()
    page.wait_for_url(f"**{FLAGS}/journey.checkout")
    header_is_true(app, page, "journey.checkout")
    switch_does_what_it_says(app, page, "journey.checkout")

    # 30 %, switched on in the simple form: the header says on at once (it used to keep "off · version 1")
    page.get_by_label("Flag is on").check()
    page.locator("#simple-rollout").fill("30")
    save_simple(page)
    expect(page.locator("#flag-header [data-state]")).to_have_text("on")
    flag = header_is_true(app, page, "journey.checkout")
    assert flag.enabled and flag.strategies[0]["parameters"]["rollout"] == "30"
    expect(page.locator("#flag-stats")).to_contain_text("30 %")
    expect(page.locator("#simple-card [role=status]")).to_be_focused()  # the "Saved" message, not the page top
    switch_does_what_it_says(app, page, "journey.checkout")

    # a condition
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Context field").fill("environment")
    page.get_by_label("Values (comma-separated)").fill("production")
    before = stored(app, "journey.checkout").version
    save_simple(page)
    expect(page.locator("#flag-header")).to_contain_text(f"version {before + 1}")
    flag = header_is_true(app, page, "journey.checkout")
    assert flag.strategies[0]["constraints"][0]["values"] == ["production"]
    switch_does_what_it_says(app, page, "journey.checkout")

    # 50 %
    page.locator("#simple-rollout").fill("50")
    save_simple(page)
    expect(page.locator("#flag-stats")).to_contain_text("50 %")
    flag = header_is_true(app, page, "journey.checkout")
    assert flag.strategies[0]["parameters"]["rollout"] == "50"
    switch_does_what_it_says(app, page, "journey.checkout")

    # restore version 1 (off, no strategies), from the history page, then back on the flag's page
    page.locator("#flag-header").get_by_role("link", name="History").click()
    page.wait_for_url(f"**{FLAGS}/journey.checkout/history")
    page.locator("section[aria-labelledby=v1-h]").get_by_role("button", name="Restore").click()
    page.wait_for_load_state("networkidle")
    flag = stored(app, "journey.checkout")
    assert flag.enabled is False and not flag.strategies and flag.version > 1
    page.get_by_role("link", name="Back to the flag").click()
    header_is_true(app, page, "journey.checkout")
    switch_does_what_it_says(app, page, "journey.checkout")
    assert admin.problems == []
    admin.close()


def test_a_stale_tab_never_inverts_a_flag(app, stack) -> None:
    from nous.flags import service

    base, browser = stack
    with app.app_context():
        service.create_flag({"key": "journey.tabs"}, actor="test")
    admin = Admin(app, base, browser)
    tab_a = admin.page
    tab_b = admin.open(live=False)
    for tab in (tab_a, tab_b):
        tab.goto(f"{base}{FLAGS}/journey.tabs")
        expect(tab.locator("#flag-switch")).to_have_text("Switch on")

    tab_a.locator("#flag-switch").click()
    expect(tab_a.locator("#flag-switch")).to_have_text("Switch off")
    assert stored(app, "journey.tabs").enabled is True
    expect(tab_b.locator("#flag-switch")).to_have_text("Switch on")  # stale: it heard nothing

    # B's stale "Switch on": the flag stays on, and B now shows it on
    tab_b.locator("#flag-switch").click()
    expect(tab_b.locator("#flag-switch")).to_have_text("Switch off")
    flag = header_is_true(app, tab_b, "journey.tabs")
    assert flag.enabled is True and flag.version == 2

    # A switches it off and on again; B's "Switch off" was decided on version 2: refused, current state shown
    tab_a.locator("#flag-switch").click()
    expect(tab_a.locator("#flag-switch")).to_have_text("Switch on")
    tab_a.locator("#flag-switch").click()
    expect(tab_a.locator("#flag-switch")).to_have_text("Switch off")
    with tab_b.expect_response(lambda r: r.url.endswith("/switch")) as answer:
        tab_b.locator("#flag-switch").click()
    assert answer.value.status == 409
    conflict = tab_b.locator("#flag-header [data-conflict]")
    expect(conflict).to_contain_text("changed since you opened it")
    expect(conflict).to_contain_text("Version 3: switched off")
    expect(conflict).to_contain_text("Version 4: switched on")
    expect(conflict).to_be_focused()
    expect(tab_b.locator("#flag-changes")).to_contain_text("v4")  # the rest of the page follows the 409 too
    shot(tab_b, "flag-stale-switch-409")
    flag = header_is_true(app, tab_b, "journey.tabs")
    assert flag.enabled is True and flag.version == 4
    assert admin.problems == []
    admin.close()


def test_a_change_made_with_the_cli_appears_in_open_pages_within_2_seconds(app, stack) -> None:
    from nous.flags import service

    base, browser = stack
    with app.app_context():
        service.create_flag({"key": "journey.cli", "enabled": True}, actor="test")
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}{FLAGS}/journey.cli")
    listing = admin.open()
    listing.goto(f"{base}{FLAGS}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    expect(listing.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    expect(page.locator("#flag-switch")).to_have_text("Switch off")

    result = run_cli("nous", "flags", "disable", "journey.cli")
    assert result.returncode == 0, result.stderr
    changed = time.monotonic()
    expect(page.locator("#flag-header [data-state]")).to_have_text("off", timeout=FOLLOW_MS)
    expect(page.locator("#flag-switch")).to_have_text("Switch on", timeout=FOLLOW_MS)
    row = listing.locator("tr", has=listing.get_by_role("link", name="journey.cli"))
    switch = row.get_by_role("switch", name=re.compile(r"\bin production\b"))  # the CLI's default environment
    expect(switch).to_have_attribute("aria-checked", "false", timeout=FOLLOW_MS)
    print(f"CLI change shown after {time.monotonic() - changed:.2f} s")
    header_is_true(app, page, "journey.cli")

    page.locator("#flag-switch").click()  # and its switch, drawn from the CLI's version, works
    expect(page.locator("#flag-switch")).to_have_text("Switch off")
    assert stored(app, "journey.cli").enabled is True
    assert admin.problems == []
    admin.close()


def send_feedback(base: str, message: str, rating: int = 2) -> int:
    resp = requests.post(f"{base}/api/feedback", json={"rating": rating, "message": message, "category": "bug"},
                         timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_new_feedback_appears_on_the_dashboard_and_in_the_list_within_2_seconds(app, stack) -> None:
    base, browser = stack
    admin = Admin(app, base, browser)
    dashboard = admin.page
    listing = admin.open()
    listing.goto(f"{base}/admin/beta/feedback")
    expect(dashboard.locator("#panel-latest-feedback")).to_be_visible(timeout=10_000)
    for page in (dashboard, listing):
        expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)

    figures = listing.locator("#feedback-figures")
    total = figures.locator(".stat").filter(has_text="Feedback").locator(".stat-value")
    waiting = figures.locator(".stat").filter(has_text="Waiting for triage").locator(".stat-value")
    expect(total).to_have_text("0")
    send_feedback(base, "Sync lost my notes after the update")
    sent = time.monotonic()
    expect(dashboard.locator("#panel-latest-feedback")).to_contain_text("Sync lost my notes", timeout=FOLLOW_MS)
    expect(listing.locator("#feedback-results")).to_contain_text("Sync lost my notes", timeout=FOLLOW_MS)
    expect(total).to_have_text("1", timeout=FOLLOW_MS)  # the header's figures follow too
    expect(waiting).to_have_text("1", timeout=FOLLOW_MS)
    print(f"new feedback shown after {time.monotonic() - sent:.2f} s")
    assert admin.problems == []
    admin.close()


def test_triage_keeps_badge_history_and_list_in_agreement(app, stack) -> None:
    base, browser = stack
    feedback_id = send_feedback(base, "The export button does nothing")
    admin = Admin(app, base, browser)
    listing = admin.page
    listing.goto(f"{base}/admin/beta/feedback")
    expect(listing.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    status_in_list = listing.locator(f"#status-{feedback_id}")
    expect(status_in_list).to_have_value("new")

    detail = admin.open()
    detail.goto(f"{base}/admin/beta/feedback/{feedback_id}")
    detail.locator("#status-box").get_by_label("triaged").check()
    detail.get_by_role("button", name="Set status").click()
    expect(detail.locator("#feedback-head .status-badge")).to_have_text("triaged")
    expect(detail.locator("#feedback-history")).to_contain_text("triaged")
    expect(detail.locator("#status-box [role=status]")).to_be_focused()  # the message, not the page top
    expect(status_in_list).to_have_value("triaged", timeout=FOLLOW_MS)  # the other tab follows
    waiting = listing.locator("#feedback-figures .stat").filter(has_text="Waiting for triage").locator(".stat-value")
    expect(waiting).to_have_text("0", timeout=FOLLOW_MS)  # and its header

    # from the list, the detail page follows
    status_in_list.select_option("planned")
    expect(detail.locator("#feedback-head .status-badge")).to_have_text("planned", timeout=FOLLOW_MS)
    expect(detail.locator("#feedback-history")).to_contain_text("planned", timeout=FOLLOW_MS)
    expect(detail.locator("#status-box").get_by_label("planned")).to_be_checked()
    assert admin.problems == []
    admin.close()


def test_a_stale_status_form_is_refused_with_the_current_state(app, stack) -> None:
    base, browser = stack
    feedback_id = send_feedback(base, "Notifications arrive twice")
    admin = Admin(app, base, browser)
    fresh = admin.page
    stale = admin.open(live=False)
    for page in (fresh, stale):
        page.goto(f"{base}/admin/beta/feedback/{feedback_id}")
    fresh.locator("#status-box").get_by_label("spam").check()
    fresh.get_by_role("button", name="Set status").click()
    expect(fresh.locator("#feedback-head .status-badge")).to_have_text("spam")

    stale.locator("#status-box").get_by_label("resolved").check()
    with stale.expect_response(lambda r: r.url.endswith("/status")) as answer:
        stale.get_by_role("button", name="Set status").click()
    assert answer.value.status == 409
    conflict = stale.locator("#status-box [data-conflict]")
    expect(conflict).to_contain_text("Status set to spam")
    expect(conflict).to_be_focused()
    expect(stale.locator("#status-box").get_by_label("spam")).to_be_checked()
    expect(stale.locator("#feedback-head .status-badge")).to_have_text("spam")  # the header follows the 409 too
    shot(stale, "feedback-stale-status-409")
    with app.app_context():
        from nous.feedback import service

        assert service.get(feedback_id).status == "spam"
    assert admin.problems == []
    admin.close()


def test_inviting_a_tester_shows_the_stored_state_everywhere(app, stack) -> None:
    base, browser = stack
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}/admin/beta/users")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    form = page.locator("#add-tester")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_role("button", name="Add").click()
    added = page.locator("#add-tester [role=status]")
    expect(added).to_contain_text("ada@example.com")
    expect(added).to_be_focused()  # the message, not the top of the page
    row = page.locator("tr", has=page.get_by_role("link", name="ada@example.com"))
    expect(row).to_contain_text("not invited")

    with app.app_context():
        from nous.testers import service as testers

        user_id = testers.get_by_email("ada@example.com").id
    detail = admin.open()
    detail.goto(f"{base}/admin/beta/users/{user_id}")
    expect(detail.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    expect(detail.locator("#tester-header")).to_contain_text("not invited")

    row.get_by_role("button", name="Invite").click()
    expect(row).to_contain_text("invited")
    expect(row).not_to_contain_text("not invited")
    expect(row.get_by_role("button", name="Resend")).to_be_focused()
    with app.app_context():
        assert testers.get(user_id).invited_at is not None
    # the tester's page, open in another tab, follows
    expect(detail.locator("#tester-header")).not_to_contain_text("not invited", timeout=FOLLOW_MS)
    expect(detail.locator("#tester-header")).to_contain_text("invited")
    expect(detail.locator("#tester-details")).to_contain_text("1 email")
    expect(detail.get_by_role("button", name="Resend invite")).to_be_visible()

    # and the list follows a change made on the tester's page
    detail.locator("#tester-edit").get_by_label("Notes").fill("Met at the meetup")
    detail.locator("#tester-edit").get_by_role("button", name="Save").click()
    expect(detail.locator("#tester-edit [role=status]")).to_be_focused()
    expect(row).to_contain_text("Met at the meetup", timeout=FOLLOW_MS)
    assert admin.problems == []
    admin.close()


def test_a_workflow_run_started_elsewhere_appears_in_the_run_lists_within_2_seconds(app, stack) -> None:
    from nous.workflows import service as workflows

    base, browser = stack
    with app.app_context():
        wf = workflows.create("name: Nightly tidy\ntrigger: manual\nsteps:\n  - id: wait\n    uses: delay\n"
                              "    with: {seconds: 3600}\n", "test")
        wf_id = wf.id
    admin = Admin(app, base, browser)
    runs = admin.page
    runs.goto(f"{base}/admin/workflows/runs")
    one = admin.open()
    one.goto(f"{base}/admin/workflows/{wf_id}")
    for page in (runs, one):
        expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
        expect(page.locator(".wf-runs")).to_contain_text("No runs yet")

    with app.app_context():
        run_id = workflows.run_now(wf_id, None, "cli")
    started = time.monotonic()
    expect(runs.locator(f"#workflow-run-{run_id}")).to_contain_text("Nightly tidy", timeout=FOLLOW_MS)
    expect(one.locator(f"#workflow-run-{run_id}")).to_be_visible(timeout=FOLLOW_MS)
    print(f"new run shown after {time.monotonic() - started:.2f} s")
    assert admin.problems == []
    admin.close()


def test_a_form_being_edited_is_kept_when_the_flag_changes_elsewhere_and_its_save_answers_409(app, stack) -> None:
    from nous.flags import service

    base, browser = stack
    with app.app_context():
        service.create_flag({"key": "journey.typing", "description": "first words"}, actor="test")
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}{FLAGS}/journey.typing")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    description = page.locator("#details-card").get_by_label("Description")
    description.fill("words the admin is still typing")

    with app.app_context():
        service.set_enabled("journey.typing", True, actor="cli")
    expect(page.locator("#flag-header [data-state]")).to_have_text("on", timeout=FOLLOW_MS)  # the header follows
    expect(page.locator("#simple-card").get_by_label("Flag is on")).to_be_checked(timeout=FOLLOW_MS)
    expect(description).to_have_value("words the admin is still typing")  # the form being edited is kept

    with page.expect_response(lambda r: r.url.endswith("/details")) as answer:
        page.locator("#details-card").get_by_role("button", name="Save details").click()
    assert answer.value.status == 409
    expect(page.locator("#details-card [data-conflict]")).to_contain_text("Version 2: switched on by cli")
    assert stored(app, "journey.typing").description == "first words"
    assert admin.problems == []
    admin.close()


def test_pages_that_list_flags_testers_feedback_and_runs_follow_changes_made_elsewhere(app, stack) -> None:
    from nous.feedback import service as feedback
    from nous.flags import service as flags
    from nous.testers import service as testers
    from nous.workflows import service as workflows

    base, browser = stack
    with app.app_context():
        flags.create_flag({"key": "journey.pages"}, actor="test")
        user = testers.add("grace@example.com", actor="test")
        user_id = user.id
        wf_id = workflows.create("name: Weekly digest\ntrigger: manual\nsteps:\n  - id: wait\n    uses: delay\n"
                                 "    with: {seconds: 3600}\n", "test").id
    admin = Admin(app, base, browser)
    history = admin.page
    history.goto(f"{base}{FLAGS}/journey.pages/history")
    tester = admin.open()
    tester.goto(f"{base}/admin/beta/users/{user_id}")
    flag_page = admin.open()
    flag_page.goto(f"{base}{FLAGS}/journey.pages")
    workflow_list = admin.open()
    workflow_list.goto(f"{base}/admin/workflows")
    for page in (history, tester, flag_page, workflow_list):
        expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)

    with app.app_context():
        flags.set_rollout("journey.pages", 20, actor="cli")
        feedback.submit({"rating": 5, "message": "Grace loves the digest", "category": "praise",
                         "email": "grace@example.com"})
        flags.set_tester_override(user_id, "journey.pages", "on", actor="cli")
        run_id = workflows.run_now(wf_id, None, "cli")
    expect(history.locator("section[aria-labelledby=v2-h]")).to_be_visible(timeout=FOLLOW_MS)
    expect(tester.locator("#tester-feedback")).to_contain_text("Grace loves the digest", timeout=FOLLOW_MS)
    expect(flag_page.locator("#flag-overriding")).to_contain_text("grace@example.com", timeout=FOLLOW_MS)
    expect(workflow_list.locator("#wf-list-rows")).to_contain_text(f"#{run_id}", timeout=FOLLOW_MS)
    assert admin.problems == []
    admin.close()


def test_importing_a_csv_reports_each_line_and_the_list_shows_the_new_testers(app, stack) -> None:
    base, browser = stack
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}/admin/beta/users")
    other = admin.open()  # another tab on the list hears of the import through /ws/live
    other.goto(f"{base}/admin/beta/users")
    expect(other.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    csv_text = "email,role,notes\nlin@example.com,TESTER,design\nnot-an-address,TESTER,\nmo@example.org,ADMIN,\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "testers.csv", "mimeType": "text/csv", "buffer": csv_text.encode()})
    page.locator("#import-testers").get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report.get_by_role("status")).to_contain_text("2 added, 1 skipped")
    expect(report).to_contain_text("not-an-address")
    for tab in (page, other):
        results = tab.locator("#tester-results")
        expect(results.get_by_role("link", name="lin@example.com")).to_be_visible(timeout=FOLLOW_MS)
        expect(results.get_by_role("link", name="mo@example.org")).to_be_visible(timeout=FOLLOW_MS)
    with app.app_context():
        from nous.testers import service as testers

        assert testers.get_by_email("mo@example.org").role == "ADMIN"
    assert admin.problems == []
    admin.close()


def test_a_page_whose_socket_dropped_catches_up_with_changes_made_meanwhile(app, stack) -> None:
    from nous.flags import service

    base, browser = stack
    with app.app_context():
        service.create_flag({"key": "journey.offline"}, actor="test")
    admin = Admin(app, base, browser)
    page = admin.open()
    sockets: list[Any] = []
    while_away: list[Any] = []

    def through(ws: Any) -> None:  # every socket reaches the server; a reconnect after the change is made
        for change in while_away:
            change()
        while_away.clear()
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/live**", through)
    page.goto(f"{base}{FLAGS}/journey.offline")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-connects", "1", timeout=10_000)
    expect(page.locator("#flag-switch")).to_have_text("Switch on")

    def switch_on_with_the_cli() -> None:
        with app.app_context():
            service.set_enabled("journey.offline", True, actor="cli")

    while_away.append(switch_on_with_the_cli)
    sockets[-1].close()  # the connection drops (a proxy restart); the change happens before it is back
    expect(status).to_have_attribute("data-connects", "2", timeout=10_000)
    expect(page.locator("#flag-switch")).to_have_text("Switch off", timeout=FOLLOW_MS)
    header_is_true(app, page, "journey.offline")
    assert admin.problems == []
    admin.close()


def test_a_bulk_change_on_a_stale_list_is_refused_and_the_list_shows_the_current_state(app, stack) -> None:
    from nous.feedback import service as feedback

    base, browser = stack
    ids = [send_feedback(base, f"Crash number {n}") for n in range(3)]
    admin = Admin(app, base, browser)
    page = admin.open(live=False)  # a list that heard nothing since it was drawn
    page.goto(f"{base}/admin/beta/feedback")
    for i in ids:
        page.get_by_label(f"Select feedback #{i}").check()
    with app.app_context():
        feedback.set_status(ids[1], "planned", actor="tab-a@nous.test")
    page.get_by_label("Mark selected as").select_option("spam")
    with page.expect_response(lambda r: r.url.endswith("/bulk")) as answer:
        page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    assert answer.value.status == 409
    expect(page.locator("#toasts")).to_contain_text(f"#{ids[1]} (now planned)")
    expect(page.locator("#toasts .toast")).to_have_count(1)  # one clear message, not a second "Request failed"
    expect(page.locator(f"#status-{ids[1]}")).to_have_value("planned")  # the list shows the present
    expect(page.get_by_label(f"Select feedback #{ids[0]}")).not_to_be_checked()
    with app.app_context():
        assert [feedback.get(i).status for i in ids] == ["new", "planned", "new"]
    assert admin.problems == []
    admin.close()


def test_select_all_then_a_bulk_change_shows_the_new_statuses(app, stack) -> None:
    from nous.feedback import service as feedback

    base, browser = stack
    ids = [send_feedback(base, f"Select-all number {n}") for n in range(2)]
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}/admin/beta/feedback?q=Select-all")
    expect(page.locator('input[name="ids"]')).to_have_count(2)
    page.get_by_label("Select all feedback on this page").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_label("Mark selected as").select_option("planned")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("2 marked planned")
    for i in ids:  # the list follows the change it made, and the selection is gone
        expect(page.locator(f"#status-{i}")).to_have_value("planned", timeout=FOLLOW_MS)
    expect(page.get_by_label("Select all feedback on this page")).not_to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("")
    with app.app_context():
        assert [feedback.get(i).status for i in ids] == ["planned", "planned"]
    assert admin.problems == []
    admin.close()


def test_a_token_with_a_long_name_keeps_its_row_and_revoke_button_in_view(app, stack) -> None:
    from nous.adminapi import tokens

    base, browser = stack
    name = "deploy-" + "x" * 93  # the longest name allowed, one word
    with app.app_context():
        tokens.create(name, ["feedback:read"], expires_in_days=7, actor=ADMIN_EMAIL)
    admin = Admin(app, base, browser)
    page = admin.page
    page.goto(f"{base}/admin/api-tokens/")
    row = page.locator("tr", has_text=name)
    revoke = row.get_by_role("button", name="Revoke")
    box, wrap = revoke.bounding_box(), row.locator("xpath=ancestor::div[@class='table-wrap']").bounding_box()
    assert box["x"] + box["width"] <= wrap["x"] + wrap["width"], (box, wrap)  # no sideways scrolling to reach it
    revoke.click()
    expect(row).to_contain_text("revoked")
    with app.app_context():
        assert [t["state"] for t in tokens.list_tokens() if t["name"] == name] == ["revoked"]
    assert admin.problems == []
    admin.close()
