"""Screenshots with feedback, in the widget, in a real browser (Chromium through Playwright) on a page of
another origin with a strict CSP: an image pasted, one dropped, the page captured, a black-out box drawn,
the upload (multipart, read here on the server side) and what the console stored; the keyboard path
through the file picker and the editor; axe-core on the open widget with thumbnails and with the editor."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageDraw
from werkzeug.formparser import parse_form_data

from nous.feedback.service import attachments
from tests.feedback.helpers import set_setting
from tests.feedback.test_widget_browser import ARGS, CHROMIUM, _host_page, _open_page, _rows, _serve, _serve_host

playwright_api = pytest.importorskip("playwright.sync_api")

# Chromium shares the current tab when the page asks (getDisplayMedia with preferCurrentTab), as a tester
# would by choosing "this tab" in the browser's prompt.
TAB_CAPTURE = ["--auto-accept-this-tab-capture"]
AXE_CORE = "vendor/axe-core-4.14.1.min.js"  # static/, refreshed by scripts/vendor


class Recorder:
    """The console, with every body posted to /api/feedback kept (read here, then passed on unchanged)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.posts: list[tuple[str, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/api/feedback":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.posts.append((environ.get("CONTENT_TYPE", ""), body))
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def parts(self, i: int = -1) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
        """The fields and the attached files (name, bytes) of a multipart post."""
        kind, body = self.posts[i]
        assert kind.startswith("multipart/form-data; boundary=")
        _, form, files = parse_form_data({"REQUEST_METHOD": "POST", "CONTENT_TYPE": kind,
                                          "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)})
        assert list(files.keys()) == ["attachments"]
        return dict(form.items()), [(f.filename, f.read()) for f in files.getlist("attachments")]


@pytest.fixture
def console(app) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(app)
    url, server = _serve(recorder)
    yield url, recorder
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + TAB_CAPTURE)
        yield b
        b.close()


@pytest.fixture
def site(app, console) -> Iterator[str]:
    """The host page of test_widget_browser (strict CSP: script-src and connect-src the console only,
    img-src and style-src 'none', Trusted Types required), allowed to send feedback."""
    url, server = _serve_host(*_host_page(console[0]))
    set_setting(app, "feedback.widget_origins", [url])
    set_setting(app, "feedback.min_submit_ms", 0)
    yield url
    server.shutdown()


def _picture(size: tuple[int, int], fmt: str, colour: str) -> bytes:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((w // 8, h // 8, w // 2, h // 2), fill="white")
    draw.ellipse((w // 2, h // 2, w - w // 8, h - h // 8), fill="#ffd400")
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _hand_over(page, how: str, files: list[tuple[str, str, bytes]]) -> None:
    """Paste (a ClipboardEvent on the message field) or drop (dragover, then drop on the dialog) files."""
    page.evaluate("""([how, files]) => {
        const root = document.querySelector('nous-feedback').shadowRoot;
        const dt = new DataTransfer();
        for (const [name, type, b64] of files) {
            dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name, {type}));
        }
        const init = {bubbles: true, composed: true, cancelable: true};
        if (how === 'paste') {
            root.querySelector('textarea').dispatchEvent(new ClipboardEvent('paste', {...init, clipboardData: dt}));
        } else {
            const target = root.querySelector('.attach');
            target.dispatchEvent(new DragEvent('dragover', {...init, dataTransfer: dt}));
            target.dispatchEvent(new DragEvent('drop', {...init, dataTransfer: dt}));
        }
    }""", [how, [[n, t, base64.b64encode(b).decode()] for n, t, b in files]])


def _fill(page) -> None:
    page.get_by_role("button", name="Feedback").click()
    page.get_by_role("dialog", name="Send feedback").wait_for()
    page.get_by_label("2 of 5").check(force=True)
    page.get_by_label("Type").select_option("bug")
    page.get_by_label("Your message").fill("The week view hides my third meeting")


def _watch_progress(page) -> None:
    """Note every value the upload progress bar shows, and whether it was on screen."""
    page.evaluate("""() => {
        const root = document.querySelector('nous-feedback').shadowRoot;
        const bar = root.querySelector('progress');
        window.progressSeen = [];
        new MutationObserver(() => window.progressSeen.push([Number(bar.value), bar.getClientRects().length > 0]))
            .observe(bar, {attributes: true, attributeFilter: ['value']});
    }""")


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def _brightest(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """The highest value of any channel of any pixel in box (left, top, right, bottom)."""
    return max(high for _, high in image.crop(box).getextrema())


def _darkest(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    return min(low for low, _ in image.crop(box).getextrema())


def _focused(page) -> str:
    return page.evaluate("""() => {
        const el = document.querySelector('nous-feedback').shadowRoot.activeElement;
        return el ? el.tagName.toLowerCase() + ':' + (el.getAttribute('aria-label') || el.textContent.trim()) : 'none';
    }""")


def test_paste_drop_capture_black_out_and_send(app, browser, site, console) -> None:
    _, recorder = console
    page = _open_page(browser, site)
    _fill(page)

    _hand_over(page, "paste", [("image.png", "image/png", _picture((800, 500), "PNG", "#2563eb"))])
    page.get_by_role("button", name="Edit image 1: Pasted image").wait_for()
    _hand_over(page, "drop", [("whiteboard.jpg", "image/jpeg", _picture((3000, 1500), "JPEG", "#16a34a")),
                              ("notes.png", "image/png", b"<html><script>alert(1)</script></html>")])
    page.get_by_role("button", name="Edit image 2: whiteboard.jpg").wait_for()
    page.get_by_text("notes.png can't be attached: it is not an image").wait_for()  # decoded, not trusted by name

    # The page's img-src leaves out data:, so html-to-image cannot draw it: the widget shares the tab instead.
    page.get_by_role("button", name="Capture this page").click()
    canvas = page.get_by_role("application", name="Image 3, boxes drawn: 0")
    canvas.wait_for()
    page.get_by_role("heading", name="Edit image 3").wait_for()
    assert _focused(page) == "canvas:Image 3, boxes drawn: 0"
    assert page.get_by_role("button", name="Black out").get_attribute("aria-pressed") == "true"
    size = page.evaluate("(() => { const c = document.querySelector('nous-feedback').shadowRoot"
                         ".querySelector('.stage canvas'); return [c.width, c.height]; })()")
    assert size[0] == 1280  # one frame of the tab, as wide as the window

    # A black-out box over the page's heading and first line, drawn with the mouse.
    shown = canvas.bounding_box()
    scale = size[0] / shown["width"]
    page.mouse.move(shown["x"] + 2, shown["y"] + 2)
    page.mouse.down()
    page.mouse.move(shown["x"] + shown["width"] * 0.3, shown["y"] + shown["height"] * 0.15, steps=5)
    page.mouse.move(shown["x"] + shown["width"] * 0.4, shown["y"] + shown["height"] * 0.2, steps=5)
    page.mouse.up()
    page.get_by_role("application", name="Image 3, boxes drawn: 1").wait_for()
    box = (round(2 * scale), round(2 * scale),
           round(shown["width"] * 0.4 * scale), round(shown["height"] * 0.2 * scale))
    page.get_by_role("button", name="Done").click()
    assert _focused(page) == "button:Edit image 3: This page"  # back on the image's thumbnail
    assert page.get_by_role("dialog", name="Send feedback").is_visible()
    assert page.get_by_text("3/5", exact=True).is_visible()

    _watch_progress(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()

    # What left the page: a multipart post with the fields and three JPEGs, the edited ones only.
    assert len(recorder.posts) == 1
    fields, files = recorder.parts()
    assert (fields["rating"], fields["category"]) == ("2", "bug")
    assert fields["message"] == "The week view hides my third meeting"
    assert fields["viewport"] == "1280x800" and fields["page_url"] == site + "/"
    assert [name for name, _ in files] == ["Pasted image.jpg", "whiteboard.jpg", "This page.jpg"]
    pasted, dropped, captured = (_decoded(data) for _, data in files)
    assert all(data[:3] == b"\xff\xd8\xff" for _, data in files)
    assert pasted.size == (800, 500)
    assert dropped.size == (1920, 960)  # scaled down in the browser to the longest side, 1920 px
    assert captured.size == tuple(size)
    assert _brightest(captured, (box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3)) <= 24  # black, burnt in
    assert _darkest(captured, (box[2] + 10, 10, box[2] + 60, 60)) >= 235  # the page's white beside it,
    # neither darkened by the dialog's backdrop nor covered by the dialog: the widget hid while captured
    assert _darkest(captured, (size[0] - 400, size[1] - 250, size[0] - 20, size[1] - 10)) >= 235  # bottom right
    # The page's console has one complaint: the widget's check for data: images, which the page's img-src blocks.
    [problem] = page.problems
    assert "data:image/svg+xml" in problem and "img-src 'none'" in problem
    seen = page.evaluate("window.progressSeen")
    assert seen and seen[-1][0] == 100 and all(visible for _, visible in seen)


    # What the console stored: the feedback with its three images, the captured one black inside the box.
    [row] = _rows(app)
    with app.app_context():
        stored = attachments.for_feedback(row.id)
        assert len(stored) == 3
        image = _decoded(attachments.data_of(stored[2].id))
    assert image.size == tuple(size)
    assert _brightest(image, (box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3)) <= 24
    names = [a.filename for a in stored]

    # The admin sees the three on the feedback's page.
    now = int(time.time())
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now})
    page.context.add_cookies([{"name": "nous_session", "value": cookie, "url": console[0]}])
    page.goto(f"{console[0]}/admin/beta/feedback/{row.id}")
    for i, name in enumerate(names, 1):
        assert page.get_by_role("link", name=f"View {name} ({i} of 3)").is_visible()
    page.context.close()


def test_keyboard_attaches_edits_and_removes(app, browser, site, console) -> None:
    _, recorder = console
    page = _open_page(browser, site)
    _fill(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add image").click()
    chooser.value.set_files([
        {"name": "calendar.png", "mimeType": "image/png", "buffer": _picture((600, 400), "PNG", "#ffffff")},
        {"name": "extra.webp", "mimeType": "image/webp", "buffer": _picture((300, 200), "WEBP", "#9333ea")},
    ])
    page.get_by_role("button", name="Remove image 2: extra.webp").wait_for()

    page.get_by_role("button", name="Edit image 1: calendar.png").focus()
    page.keyboard.press("Enter")
    assert _focused(page) == "canvas:Image 1, boxes drawn: 0"
    page.keyboard.press("Enter")  # a box in the middle, a quarter of each side
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # moved left, 10 px a step (600 / 60)
    page.keyboard.press("Shift+ArrowDown")  # 10 px taller
    page.keyboard.press("Escape")  # drops that box; the editor stays
    assert page.get_by_role("heading", name="Edit image 1").is_visible()
    assert _focused(page) == "canvas:Image 1, boxes drawn: 0"
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")  # kept: x 215..365, y 150..260
    assert _focused(page) == "canvas:Image 1, boxes drawn: 1"
    assert page.get_by_role("status").filter(has_text="Box kept: 1 on this image.").count() == 1
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "button:Undo box"
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "button:Highlight"
    page.keyboard.press("Escape")  # leaves the editor, not the dialog
    assert _focused(page) == "button:Edit image 1: calendar.png"
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Remove image 1: calendar.png"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Remove image 2: extra.webp"
    page.keyboard.press("Enter")
    assert _focused(page) == "button:Remove image 1: calendar.png"  # the list is shorter, focus stays nearby
    assert page.get_by_role("status").filter(has_text="extra.webp removed (1 of 5).").count() == 1

    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _, files = recorder.parts()
    [(name, data)] = files
    assert name == "calendar.jpg"
    image = _decoded(data)
    assert _brightest(image, (223, 158, 357, 252)) <= 24  # the box, black (JPEG blurs its edges a little)
    assert _darkest(image, (80, 60, 130, 140)) >= 235  # beside it, still white
    page.context.close()


def test_a_box_placed_with_the_keyboard_is_kept_when_the_tester_goes_to_done(app, browser, site, console) -> None:
    """Enter places a black-out box; going to Done with Tab (no second Enter) keeps it: the image sent is
    the one the tester saw, its private part blacked out."""
    _, recorder = console
    page = _open_page(browser, site)
    _fill(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add image").click()
    chooser.value.set_files([{"name": "calendar.png", "mimeType": "image/png",
                              "buffer": _picture((600, 400), "PNG", "#ffffff")}])
    page.get_by_role("button", name="Edit image 1: calendar.png").click()
    assert _focused(page) == "canvas:Image 1, boxes drawn: 0"
    page.keyboard.press("Enter")  # a box in the middle: x 225..375, y 150..250
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Done"
    page.keyboard.press("Enter")
    assert _focused(page) == "button:Edit image 1: calendar.png"
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _, [(_, data)] = recorder.parts()
    image = _decoded(data)
    assert _brightest(image, (235, 160, 365, 240)) <= 24  # blacked out, as it was shown
    assert _darkest(image, (20, 20, 60, 60)) >= 235
    page.context.close()


def test_a_page_that_allows_data_images_is_drawn_from_its_dom(app, browser, console) -> None:
    """With data: in img-src, html-to-image (from the console, loaded on demand) draws the page: no tab prompt."""
    url, _ = console
    html, csp = _host_page(url)
    host, server = _serve_host(html, csp.replace("img-src 'none'", "img-src data:"))
    set_setting(app, "feedback.widget_origins", [host])
    scripts: list[str] = []
    try:
        page = _open_page(browser, host)
        page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
        page.evaluate("() => { navigator.mediaDevices.getDisplayMedia = () => Promise.reject(new Error('no')); }")
        _fill(page)
        page.get_by_role("button", name="Capture this page").click()
        page.get_by_role("application", name="Image 1, boxes drawn: 0").wait_for()
        assert scripts == [url + "/static/vendor/html-to-image-1.11.13.min.js"]
        assert page.evaluate("typeof window.htmlToImage") == "undefined"  # no global left on the host page
        dark = page.evaluate("""() => {
            const c = document.querySelector('nous-feedback').shadowRoot.querySelector('.stage canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, 120).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 80 && d[i + 1] < 80 && d[i + 2] < 80) n++;
            return n;
        }""")
        assert dark > 200  # the page's heading, drawn
        page.context.close()
    finally:
        server.shutdown()


def test_a_page_drawn_from_its_dom_is_drawn_to_the_windows_edges(app, browser, console) -> None:
    """A body shorter than the window, with a fixed-position error box in the lower half (an app whose content
    is a dialog): the capture is the window the tester sees, the box in it — not the body's strip alone."""
    url, _ = console
    html, csp = _host_page(url)
    html = html.replace(b"<main>", b'<div style="position:fixed;left:100px;bottom:100px;width:400px;height:120px;'
                                   b'background:#dc2626">ERROR 500</div><main>')
    host, server = _serve_host(html, csp.replace("img-src 'none'", "img-src data:")
                               .replace("style-src 'none'", "style-src 'unsafe-inline'"))
    set_setting(app, "feedback.widget_origins", [host])
    try:
        page = _open_page(browser, host)
        page.evaluate("() => { navigator.mediaDevices.getDisplayMedia = () => Promise.reject(new Error('no')); }")
        assert page.evaluate("document.body.getBoundingClientRect().height") < 200
        _fill(page)
        page.get_by_role("button", name="Capture this page").click()
        page.get_by_role("application", name="Image 1, boxes drawn: 0").wait_for()
        size, red = page.evaluate("""() => {
            const c = document.querySelector('nous-feedback').shadowRoot.querySelector('.stage canvas');
            const d = c.getContext('2d').getImageData(150, c.height - 180, 300, 60).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 80 && d[i + 2] < 80) n++;
            return [[c.width, c.height], n];
        }""")
        assert size == [1280, 800] and red > 300 * 60 * 0.9, (size, red)
        page.context.close()
    finally:
        server.shutdown()


def _axe(page, console_url: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=f"{console_url}/static/{AXE_CORE}")
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'], rules: {'target-size': {enabled: true}}});
        return r.violations.map(v => v.impact + ' ' + v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")


def test_axe_finds_nothing_on_the_widget_with_thumbnails_and_editor(app, browser, console) -> None:
    url, _ = console
    html, csp = _host_page(url)
    # axe sets up its own helpers through DOM sinks: the page asks for no Trusted Types here, the rest as strict
    host, server = _serve_host(html, csp.replace("; require-trusted-types-for 'script'", ""))
    set_setting(app, "feedback.widget_origins", [host])
    try:
        page = _open_page(browser, host)
        _fill(page)
        _hand_over(page, "paste", [("image.png", "image/png", _picture((800, 500), "PNG", "#2563eb")),
                                   ("chart.png", "image/png", _picture((500, 800), "PNG", "#db2777"))])
        page.get_by_role("button", name="Remove image 2: chart.png").wait_for()
        assert _axe(page, url) == []
        page.get_by_role("button", name="Edit image 1: Pasted image").click()
        page.get_by_role("application", name="Image 1, boxes drawn: 0").wait_for()
        assert _axe(page, url) == []
        assert [p for p in page.problems if "axe" not in p] == []
        page.context.close()
    finally:
        server.shutdown()


def test_files_the_console_refuses_are_named_and_nothing_is_stored(app, browser, site, console) -> None:
    page = _open_page(browser, site)
    _fill(page)
    _hand_over(page, "paste", [("one.png", "image/png", _picture((300, 200), "PNG", "#2563eb")),
                               ("two.png", "image/png", _picture((300, 200), "PNG", "#db2777"))])
    page.get_by_role("button", name="Remove image 2: two.png").wait_for()
    # The admin lowers the limit while the tester's dialog is open: the widget read 5, the console takes 1.
    set_setting(app, "feedback.attachments_max", 1)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("alert").filter(has_text="at most 1 file per feedback (got 2)").wait_for()
    assert page.get_by_role("alert").filter(has_text="Please check the highlighted fields.").is_visible()
    assert _focused(page) == "button:Edit image 1: one.png"  # where the tester can act on it
    assert page.get_by_label("Your message").input_value() == "The week view hides my third meeting"
    assert _rows(app) == []

    page.get_by_role("button", name="Remove image 2: two.png").click()
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    [row] = _rows(app)
    with app.app_context():
        assert [a.filename for a in attachments.for_feedback(row.id)] == ["one.jpg"]


def test_every_file_not_attached_is_named(app, browser, site, console) -> None:
    """Three files picked at once, two of them no image: both are named, not only the last one."""
    page = _open_page(browser, site)
    _fill(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add image").click()
    chooser.value.set_files([
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 not an image"},
        {"name": "calendar.png", "mimeType": "image/png", "buffer": _picture((300, 200), "PNG", "#2563eb")},
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"E1234 at boot"},
    ])
    page.get_by_role("button", name="Edit image 1: calendar.png").wait_for()
    said = page.get_by_text("can't be attached", exact=False)
    said.wait_for()
    assert "report.pdf can't be attached" in said.inner_text() and "notes.txt can't be attached" in said.inner_text()
    page.get_by_role("button", name="Remove image 1: calendar.png").click()
    assert not said.is_visible()  # what the tester did since, the message no longer stands
    page.context.close()


def test_a_name_in_another_script_reaches_the_console_as_the_tester_sees_it(app, browser, site, console) -> None:
    """Letters of any script are kept in the name sent (as .jpg: what the widget sends), not turned into _."""
    _, recorder = console
    page = _open_page(browser, site)
    _fill(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add image").click()
    chooser.value.set_files([
        {"name": "Übersicht 日本.png", "mimeType": "image/png", "buffer": _picture((300, 200), "PNG", "#2563eb")}])
    page.get_by_role("button", name="Edit image 1: Übersicht 日本.png").wait_for()
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _, files = recorder.parts()
    assert [name for name, _ in files] == ["Übersicht 日本.jpg"]
    [row] = _rows(app)
    with app.app_context():
        assert [a.filename for a in attachments.for_feedback(row.id)] == ["Übersicht 日本.jpg"]
    page.context.close()


def test_the_pages_limits_count_and_size_and_capture_can_be_turned_off(app, browser, console) -> None:
    url, recorder = console
    html, csp = _host_page(url)
    html = html.replace(b"data-app-version=", b'data-max-attachments="2" data-image-max-side="400" '
                                              b'data-image-quality="0.5" data-capture="off" data-app-version=')
    host, server = _serve_host(html, csp)
    set_setting(app, "feedback.widget_origins", [host])
    try:
        page = _open_page(browser, host)
        _fill(page)
        assert page.get_by_role("button", name="Capture this page").count() == 0
        clear = io.BytesIO()
        Image.new("RGBA", (1000, 600), (0, 0, 0, 0)).save(clear, "PNG")  # transparent all over
        _hand_over(page, "drop", [("a.png", "image/png", clear.getvalue())] + [
            (f"{n}.png", "image/png", _picture((1000, 600), "PNG", "#2563eb")) for n in "bc"])
        page.get_by_text("You can attach up to 2 images.").wait_for()
        assert page.get_by_role("button", name="Add image").is_disabled()
        assert page.get_by_role("button", name="Remove image 2: b.png").is_visible()
        assert page.get_by_role("button", name="Remove image 3: c.png").count() == 0
        page.get_by_role("button", name="Send").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
        _, files = recorder.parts()
        assert [(name, _decoded(data).size) for name, data in files] == [("a.jpg", (400, 240)), ("b.jpg", (400, 240))]
        assert _darkest(_decoded(files[0][1]), (0, 0, 400, 240)) >= 250  # transparent became white, not black
        page.context.close()
    finally:
        server.shutdown()


def test_the_widget_follows_the_consoles_limit_and_says_so(app, browser, site, console) -> None:
    """feedback.attachments_max is 2: the widget learns it from the console (the page says nothing about
    it), refuses the third image with a message read out as an alert, and sends two, which are stored."""
    _, recorder = console
    set_setting(app, "feedback.attachments_max", 2)
    page = _open_page(browser, site)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/feedback/config") else None)
    _fill(page)
    _hand_over(page, "drop", [(f"{n}.png", "image/png", _picture((400, 300), "PNG", colour))
                              for n, colour in (("a", "#2563eb"), ("b", "#db2777"), ("c", "#16a34a"))])
    refusal = page.get_by_role("alert").filter(has_text="You can attach up to 2 images.")
    refusal.wait_for()
    assert refusal.is_visible()
    assert page.get_by_role("button", name="Remove image 2: b.png").is_visible()
    assert page.get_by_role("button", name="Remove image 3: c.png").count() == 0
    assert page.get_by_text("2/2", exact=True).is_visible()
    assert page.get_by_role("button", name="Add image").is_disabled()
    assert asked == [console[0] + "/api/feedback/config"]  # once, from the console the widget came from

    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _, files = recorder.parts()
    assert [name for name, _ in files] == ["a.jpg", "b.jpg"]
    [row] = _rows(app)
    with app.app_context():
        assert [a.filename for a in attachments.for_feedback(row.id)] == ["a.jpg", "b.jpg"]
    assert page.problems == [] or all("img-src" in p for p in page.problems)
    page.context.close()


def test_a_file_over_the_consoles_byte_limit_is_named_and_not_sent(app, browser, site, console) -> None:
    _, recorder = console
    set_setting(app, "feedback.attachment_max_bytes", 10_000)  # the smallest the setting allows
    page = _open_page(browser, site)
    _fill(page)
    noisy = Image.frombytes("RGB", (600, 400), bytes(range(256)) * 2812 + bytes(128))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    _hand_over(page, "paste", [("noise.png", "image/png", out.getvalue())])
    page.get_by_role("button", name="Remove image 1: noise.png").wait_for()
    page.get_by_role("button", name="Send").click()
    refusal = page.get_by_role("alert").filter(has_text="The images are too large to send.")
    refusal.wait_for()
    assert re.search(r"\(noise\.png: \d+ kB > 10 kB\)", refusal.text_content())
    assert _focused(page) == "button:Edit image 1: noise.png"
    assert recorder.posts == [] and _rows(app) == []
    page.get_by_role("button", name="Remove image 1: noise.png").click()
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert len(_rows(app)) == 1
    page.context.close()


def test_images_are_scaled_with_the_consoles_side_and_quality(app, browser, site, console, monkeypatch) -> None:
    """The console says 500 px and quality 0.5 (its settings):
    the widget, whose page says nothing about either, uploads a 1000×600 image as a 500×300 JPEG made at
    that quality (a JPEG's quantisation tables tell: quality 0.85 starts at 5, quality 0.5 at 16)."""
    _, recorder = console
    set_setting(app, "feedback.image_max_side", 500)
    set_setting(app, "feedback.image_quality", 0.5)
    page = _open_page(browser, site)
    _fill(page)
    _hand_over(page, "drop", [("wide.png", "image/png", _picture((1000, 600), "PNG", "#2563eb"))])
    page.get_by_role("button", name="Remove image 1: wide.png").wait_for()
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _, files = recorder.parts()
    [(name, data)] = files
    sent = Image.open(io.BytesIO(data))
    assert (name, sent.size) == ("wide.jpg", (500, 300))
    assert sent.quantization[0][0] >= 12
    page.context.close()


def test_a_console_slow_to_say_its_limits_delays_the_first_image_only(app, browser) -> None:
    """/api/feedback/config hangs: the first image waits for it (at most LIMITS_WAIT_MS, 4 s), the next ones
    do not wait again, and the feedback is sent."""
    import threading

    release = threading.Event()
    recorder = Recorder(app)

    def console_without_config(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/api/feedback/config":
            release.wait(30)
            start_response("503 Service Unavailable", [("Access-Control-Allow-Origin", "*"), ("Content-Length", "0")])
            return [b""]
        return recorder(environ, start_response)

    url, server = _serve(console_without_config)
    host, host_server = _serve_host(*_host_page(url))
    set_setting(app, "feedback.widget_origins", [host])
    set_setting(app, "feedback.min_submit_ms", 0)
    try:
        page = _open_page(browser, host)
        _fill(page)
        took = []
        for i, name in enumerate(["a.png", "b.png", "c.png"], 1):
            started = time.monotonic()
            _hand_over(page, "paste", [(name, "image/png", _picture((300, 200), "PNG", "#2563eb"))])
            page.get_by_role("button", name=f"Remove image {i}: {name}").wait_for(timeout=15000)
            took.append(time.monotonic() - started)
        assert took[0] > 3 and max(took[1:]) < 2, took  # the wait is paid once
        page.get_by_role("button", name="Send").click()
        page.get_by_role("heading", name="Thank you!").wait_for(timeout=15000)
        assert len(_rows(app)) == 1
        page.context.close()
    finally:
        release.set()
        server.shutdown()
        host_server.shutdown()
