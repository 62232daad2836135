"""/api/docs in Chromium: the vendored Redoc renders the whole document under the console's security policy
(no script from elsewhere, no inline script, styles only with this answer's nonce), and nothing it needs is
refused by the policy."""

from __future__ import annotations

import re

from tests.support.live import served_in_chromium


def test_reference_renders_every_area_under_the_policy(app) -> None:
    with served_in_chromium(app) as (url, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
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
        # Only the vendor's own badge image (a remote logo) may be refused; never a script or a style.
        assert [r for r in refused if "img-src" not in r] == []
        assert errors == []
        page.screenshot(path=str(app.instance_path) + "/api-docs.png")
        second = page.request.get(f"{url}/api/docs")
        assert re.search(r"'nonce-([^']+)'", second.headers["content-security-policy"]).group(1) != nonce
