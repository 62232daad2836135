"""/api/docs in Chromium: the vendored Redoc renders the whole document under the console's security policy
(no script from elsewhere, no inline script, styles only with this answer's nonce), nothing it needs is
refused by the policy, and a visit logs no console error at all (not even for Redoc's remote logo)."""

from __future__ import annotations

import re

from tests.support.live import served_in_chromium


def test_reference_renders_every_area_under_the_policy(app) -> None:
    with served_in_chromium(app) as (url, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                or "Content Security Policy" in m.text else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        elsewhere: list[str] = []
        page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((url, "data:")) else None)
        resp = page.goto(f"{url}/api/docs")
        policy = resp.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        page.get_by_text("Admin: testers", exact=True).first.click(timeout=30_000)  # the area in the side menu
        page.wait_for_function("() => document.body.innerText.includes('/api/admin/v1/testers/{tester_id}')",
                               timeout=10_000)
        body = page.inner_text("body")
        assert "Scope: testers:read" in body and "adminToken" in body
        styles = page.evaluate("() => [...document.querySelectorAll('style')].map(s => s.nonce)")
        assert styles and set(styles) == {nonce}
        page.wait_for_selector("a[href='https://redocly.com/redoc/']", timeout=10_000)  # where its logo is drawn
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))")
        assert console == [] and errors == [] and elsewhere == []
        page.screenshot(path=str(app.instance_path) + "/api-docs.png")
        second = page.request.get(f"{url}/api/docs")
        assert re.search(r"'nonce-([^']+)'", second.headers["content-security-policy"]).group(1) != nonce
