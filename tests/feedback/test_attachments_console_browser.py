"""Attachments in the console, in Chromium: the list shows a thumbnail, the detail page opens an image in the
lightbox with the text Tesseract read beside it, the arrow keys move, Esc closes and gives focus back, and a
file is deleted from the lightbox (after a confirmation)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from nous.feedback import service as feedback
from tests.conftest import ADMIN_EMAIL
from tests.jobs.helpers import run_jobs_here
from tests.support.live import served_in_chromium, signed_in_page
from tests.test_console_a11y_browser import _axe, _blocking

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

BASE = "/admin/beta/feedback"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SENTENCE = "Sync failed while saving the calendar"


def screenshot(sentence: str, width: int = 1280, height: int = 760, accent: str = "#4f46e5") -> bytes:
    """A made-up app window with an error dialog holding `sentence`, large enough for Tesseract."""
    image = Image.new("RGB", (width, height), "#f6f7f9")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 64), fill="#111827")
    draw.text((28, 18), "Calendar", fill="white", font=ImageFont.truetype(BOLD, 26))
    for i in range(6):
        draw.rounded_rectangle((40, 110 + i * 100, width - 40, 190 + i * 100), 10, fill="white", outline="#e3e6ec")
    box = (width // 2 - 420, height // 2 - 120, width // 2 + 420, height // 2 + 120)
    draw.rounded_rectangle(box, 16, fill="white", outline=accent, width=4)
    draw.text((box[0] + 40, box[1] + 40), "Error E1234", fill="#b91c1c", font=ImageFont.truetype(BOLD, 40))
    draw.text((box[0] + 40, box[1] + 120), sentence, fill="#1c2230", font=ImageFont.truetype(FONT, 34))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: NOUS_SCREENSHOTS (to look at them) or the test's temporary folder."""
    folder = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _seed(app: Any, client: Any) -> tuple[int, list[int]]:
    """A few feedback rows, the newest with two screenshots and a log (their text not read yet)."""
    from nous.feedback import demo

    files = [("calendar-error.png", screenshot(SENTENCE)),
             ("settings.png", screenshot("Everything else looks fine", 900, 1200, "#16a34a")),
             ("sync.log", b"10:00:01 ERROR sync failed: E1234\n10:00:02 retrying in 5 s\n")]
    with app.app_context():
        demo.seed(actor=ADMIN_EMAIL, testers=3, feedback=6, days=3, seed_value=3)
    resp = client.post("/api/feedback", content_type="multipart/form-data", data={
        "rating": "2", "category": "bug", "feature": "calendar", "email": "ada@example.com",
        "message": "Saving an event fails with an error; screenshots attached.",
        "attachments": [(io.BytesIO(body), name) for name, body in files]})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    fid = resp.get_json()["id"]
    with app.app_context():
        return fid, [a.id for a in feedback.attachments.for_feedback(fid)]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_lightbox_text_keyboard_and_delete(app, client, shots) -> None:
    fid, (first, second, log) = _seed(app, client)
    with served_in_chromium(app) as (base, browser):
        page, problems = signed_in_page(app, base, browser, width=1440)

        # the list: the feedback's row shows its screenshots, loaded from the thumbnail route
        page.goto(f"{base}{BASE}")
        row = page.locator(f"#feedback-{fid}")
        thumb = row.locator(f'img[src$="/attachments/{first}/thumbnail"]')
        expect(thumb).to_be_visible()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        expect(row.get_by_role("link", name="Attachment sync.txt")).to_be_visible()
        page.screenshot(path=str(shots / "feedback-list-thumbnails.png"), full_page=False)

        # the dashboard's latest-feedback panel shows them too
        page.goto(f"{base}/admin/beta/")
        panel_thumb = page.locator(f'#panel-latest-feedback img[src$="/attachments/{first}/thumbnail"]')
        expect(panel_thumb).to_be_visible()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=panel_thumb.element_handle())
        page.screenshot(path=str(shots / "dashboard-latest-feedback.png"), full_page=True)

        # the detail page says the text is being read, and shows it once the job has read it, without a reload
        page.goto(f"{base}{BASE}/{fid}")
        card = page.locator(f"#attachment-{first}")
        expect(card).to_contain_text("Reading the text…")
        loaded_at = page.evaluate("performance.timeOrigin")
        with app.app_context():
            run_jobs_here()  # the queued job reads the images' text with the real Tesseract
        expect(card).to_contain_text("Sync failed while saving", timeout=10_000)
        assert page.evaluate("performance.timeOrigin") == loaded_at
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=str(shots / "feedback-detail-attachments.png"), full_page=True)
        assert not _blocking(_axe(page, base))
        opener = card.get_by_role("link", name="View calendar-error.png (1 of 3)")
        opener.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="calendar-error.png")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#viewer-count")).to_have_text("Image 1 of 2")
        expect(dialog.get_by_role("link", name="Download")).to_have_attribute(
            "href", f"{BASE}/attachments/{first}/download")
        expect(dialog.locator("#viewer-text")).to_contain_text("Sync failed while saving")
        page.wait_for_function("() => document.getElementById('viewer-image').naturalWidth > 0")
        page.screenshot(path=str(shots / "feedback-lightbox.png"))
        assert not _blocking(_axe(page, base))

        page.keyboard.press("ArrowRight")
        expect(page.get_by_role("dialog", name="settings.png")).to_be_visible()
        viewer = page.locator("#attachment-viewer")  # the dialog, whatever image it is named after now
        expect(viewer.locator("#viewer-count")).to_have_text("Image 2 of 2")
        expect(viewer.locator("#viewer-text")).to_contain_text("Everything else looks fine")
        page.keyboard.press("ArrowRight")  # round to the first again
        expect(page.get_by_role("dialog", name="calendar-error.png")).to_be_visible()
        page.keyboard.press("ArrowLeft")
        expect(page.get_by_role("dialog", name="settings.png")).to_be_visible()
        # the cards are redrawn under the open lightbox (as when a text was read): it keeps showing that image
        page.evaluate("""() => { const box = document.getElementById('feedback-attachments');
          box.dataset.old = '1';
          htmx.ajax('GET', box.getAttribute('hx-get'), {source: box, target: box, select: '#feedback-attachments',
                                                         swap: 'outerHTML'}); }""")
        page.wait_for_function("() => !document.getElementById('feedback-attachments').dataset.old")
        expect(page.get_by_role("dialog", name="settings.png")).to_be_visible()
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        assert page.evaluate("() => document.activeElement.closest('[data-attachment]').id") == f"attachment-{first}"

        # delete the second image from the lightbox, after saying yes to the question
        card_two = page.locator(f"#attachment-{second}")
        card_two.get_by_role("link", name="View settings.png (2 of 3)").click()
        asked: list[str] = []

        def answer(d: Any) -> None:
            asked.append(d.message)
            d.accept()

        page.once("dialog", answer)
        page.get_by_role("dialog", name="settings.png").get_by_role("button", name="Delete").click()
        expect(page.locator(".notice, #toasts").first).to_contain_text("Deleted settings.png")
        expect(card_two).to_have_count(0)
        expect(page.locator(f"#attachment-{first}")).to_be_visible()
        assert asked == ["Delete settings.png? It cannot be brought back."]

        # on a phone the lightbox fits the screen, the text below the image
        page.set_viewport_size({"width": 360, "height": 780})
        page.locator(f"#attachment-{first}").get_by_role("link", name="View calendar-error.png (1 of 2)").click()
        expect(viewer).to_be_visible()
        expect(viewer.locator("#viewer-text")).to_be_in_viewport()
        assert page.evaluate("() => document.getElementById('attachment-viewer').scrollWidth") <= 360
        page.screenshot(path=str(shots / "feedback-lightbox-phone.png"))
        page.keyboard.press("Escape")
        assert not problems, problems
    with app.app_context():
        assert [a.id for a in feedback.attachments.for_feedback(fid)] == [first, log]
