"""The built-in step handlers, called directly and inside real runs."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nous.workflows import service
from nous.workflows.handlers import StepContext, StepError, StepSkipped, get
from nous.workflows.handlers import http as http_handler
from nous.workflows.handlers.classify import classify_text
from nous.workflows.handlers.entities import extract
from tests.test_outbound import REFUSED
from tests.workflows.conftest import ADMIN, run_here, steps


def call(name: str, params: dict, tmp_path: Path | None = None, **ctx_args) -> object:
    ctx = StepContext(run_id=ctx_args.pop("run_id", 1), step_id=ctx_args.pop("step_id", "s"), position=0, attempt=1,
                      max_attempts=1, timeout=ctx_args.pop("timeout", 30), workflow="tests", data={},
                      instance_path=tmp_path or Path("/nonexistent"))
    return get(name).fn(params, ctx)


# --- classify and extract -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rating", "category", "sentiment"), [
    ("The app crashes every time I open settings", 1, "bug", "negative"),
    ("It would be great to have an option to export notes", 4, "idea", "positive"),
    ("Love it, thanks for the fantastic work!", 5, "praise", "positive"),
    ("Where do I change my password?", 3, "other", "neutral"),
    ("Not good: it doesn't work after the update", None, "bug", "negative"),
    ("It no longer crashes, great work", 4, "praise", "positive"),
])
def test_classify_gives_category_and_sentiment_with_reasons(text, rating, category, sentiment):
    result = classify_text(text, rating)
    assert (result["category"], result["sentiment"]) == (category, sentiment)
    assert result["reasons"]  # explainable: it always says why


def test_classify_names_the_cues_it_matched():
    result = classify_text("Crash on login, error 500", 1)
    assert "crash" in result["matched"]["bug"] and "error" in result["matched"]["bug"]
    assert any("rating 1 of 5" in r for r in result["reasons"])


def test_extract_entities_finds_each_kind_and_not_inside_links():
    text = ("Mail me at ana.b+beta@example.org. Since v2.4.1 (and 3.0.0-beta.2) the sync fails with "
            "ERR_CONNECTION_RESET, E1234 and HTTP 503; see https://status.example.com/v1.2/incidents?id=7). "
            "Server 192.168.1.20 logged ORA-00942 and a NullPointerException, code 0x80070005.")
    found = extract(text)
    assert found["emails"] == ["ana.b+beta@example.org"]
    assert found["urls"] == ["https://status.example.com/v1.2/incidents?id=7"]
    assert found["versions"] == ["v2.4.1", "3.0.0-beta.2"]  # not 1.2 from the link, not the IP address
    assert set(found["error_codes"]) == {"ERR_CONNECTION_RESET", "E1234", "HTTP 503", "ORA-00942",
                                         "NullPointerException", "0x80070005"}
    assert found["counts"]["versions"] == 2


# --- validate, delay, email, OCR ----------------------------------------------------------------

def test_validate_reports_or_fails():
    schema = {"type": "object", "required": ["email"], "properties": {"rating": {"type": "integer", "maximum": 5}}}
    good = call("data.validate", {"data": {"email": "a@b.c", "rating": 3}, "schema": schema})
    assert good == {"valid": True, "errors": [], "error_count": 0}
    report = call("data.validate", {"data": {"rating": 9}, "schema": schema, "fail_on_invalid": False})
    assert report["valid"] is False and report["error_count"] == 2
    assert {e["path"] for e in report["errors"]} == {"(the value)", "rating"}
    with pytest.raises(StepError, match=r"invalid: .*'email' is a required property") as info:
        call("data.validate", {"data": {}, "schema": schema})
    assert info.value.retryable is False
    with pytest.raises(StepError, match="the schema itself is invalid"):
        call("data.validate", {"data": 1, "schema": {"type": "nonsense"}})


def test_ocr_is_skipped_with_the_reason_when_tesseract_is_missing(monkeypatch):
    from nous.workflows.handlers import ocr

    monkeypatch.setattr(ocr, "tesseract", lambda: None)
    with pytest.raises(StepSkipped, match="Tesseract is not installed"):
        call("ocr.image", {"images": ["data:image/png;base64,iVBORw0KGgo="]})


def test_ocr_reads_only_inside_the_attachments_folder(monkeypatch, tmp_path):
    from nous.workflows.handlers import ocr

    monkeypatch.setattr(ocr, "tesseract", lambda: "/bin/true")
    with pytest.raises(StepError, match="only files under instance/attachments"):
        call("ocr.image", {"images": ["../../etc/passwd"]}, tmp_path)


def test_ocr_hands_data_urls_and_attachment_files_to_tesseract(monkeypatch, tmp_path):
    """The handler's plumbing with a stand-in `tesseract` (prints the image's size and name)."""
    from nous.workflows.handlers import ocr

    fake = tmp_path / "tesseract"
    fake.write_text('#!/bin/sh\n[ "$2" = stdout ] && [ "$3" = -l ] || exit 3\n'
                    'echo "$(wc -c < "$1") bytes in $(basename "$1") ($4)"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(ocr, "tesseract", lambda: str(fake))
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "shot.png").write_bytes(b"12345")
    out = call("ocr.image", {"images": ["data:image/png;base64,aGVsbG8=", "shot.png"], "lang": "deu"}, tmp_path)
    assert out["texts"] == ["5 bytes in image0.png (deu)", "5 bytes in shot.png (deu)"] and out["images"] == 2
    with pytest.raises(StepError, match=r"no file 'gone\.png'"):
        call("ocr.image", {"images": ["gone.png"]}, tmp_path)
    with pytest.raises(StepSkipped, match="no images"):
        call("ocr.image", {"images": []}, tmp_path)
    fake.write_text("#!/bin/sh\necho 'cannot read image' >&2\nexit 1\n")
    with pytest.raises(StepError, match="Tesseract failed: cannot read image"):
        call("ocr.image", {"images": ["shot.png"]}, tmp_path)


def test_ocr_in_a_run_skips_the_step_and_the_run_goes_on(make_workflow, monkeypatch):
    from nous.workflows.handlers import ocr

    monkeypatch.setattr(ocr, "tesseract", lambda: None)
    wf = make_workflow("""\
        name: ocr
        steps:
          - id: read
            uses: ocr.image
            with: {images: ["data:image/png;base64,iVBORw0KGgo="]}
          - id: after
            uses: feedback.classify
            with: {text: "${{ default(steps.read.output.text, 'nothing read') }}"}
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    s = steps(run_id)
    assert s["read"].status == "skipped" and "Tesseract is not installed" in s["read"].note
    assert s["after"].status == "succeeded" and service.get_run(run_id).status == "succeeded"


def test_email_send_refuses_bad_addresses_without_retrying(ctx):
    with pytest.raises(StepError, match="not an email address") as info:
        call("email.send", {"to": "not-an-address", "template": "test"})
    assert info.value.retryable is False


# --- CSV export ---------------------------------------------------------------------------------

def test_csv_export_of_rows_is_spreadsheet_safe(ctx, tmp_path):
    out = call("csv.export", {"rows": [{"a": 1, "b": "=HYPERLINK(1)"}, {"a": 2, "c": "x"}]}, tmp_path, run_id=9,
               step_id="export")
    assert out["file"] == "run9-export.csv" and out["rows"] == 2 and out["columns"] == ["a", "b", "c"]
    rows = list(csv.reader(io.StringIO((tmp_path / "exports/workflows/run9-export.csv").read_text())))
    assert rows == [["a", "b", "c"], ["1", "'=HYPERLINK(1)", ""], ["2", "", "x"]]


def test_csv_export_of_feedback_follows_the_filter_and_the_file_downloads(make_workflow, client, admin_client):
    for rating, msg in ((1, "Crash on start"), (2, "Slow sync"), (5, "Great")):
        resp = client.post("/api/feedback", json={"rating": rating, "category": "bug", "message": msg})
        assert resp.status_code == 201
    wf = make_workflow("""\
        name: export
        steps:
          - id: low
            uses: csv.export
            with:
              source: feedback
              filter: {rating_max: 2, days: 7}
              columns: [rating, message]
        """)
    run_id = service.run_now(wf.id, {}, ADMIN)
    run_here()
    out = steps(run_id)["low"].output
    assert out["rows"] == 2
    resp = admin_client.get(f"/admin/workflows/runs/{run_id}/files/{out['file']}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(resp.get_data(as_text=True)))) == [
        ["rating", "message"], ["2", "Slow sync"], ["1", "Crash on start"]]
    assert admin_client.get(f"/admin/workflows/runs/{run_id}/files/run1-other.csv").status_code == 404
    assert admin_client.get(f"/admin/workflows/runs/{run_id}/files/..%2F..%2Fnous-test.db").status_code == 404


# --- HTTP -------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/hello":
            self._send(200, json.dumps({"hello": "world", "host": self.headers["Host"]}).encode())
        elif self.path == "/redirect-in":
            self._send(302, b"", headers={"Location": "/hello"})
        elif self.path == "/redirect-out":
            self._send(302, b"", headers={"Location": f"http://localhost:{port}/hello"})
        elif self.path == "/redirect-intranet":
            self._send(302, b"", headers={"Location": "http://intranet.example.com/admin"})
        elif self.path == "/big":
            self._send(200, b"x" * 50_000, "text/plain")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"{}")
        elif self.path == "/unavailable":
            self._send(503, b"down", "text/plain")
        else:
            self._send(404, b"nope", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(201, json.dumps({"got": json.loads(body), "auth": self.headers.get("Authorization")}).encode())


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def intranet_dns(monkeypatch):
    """intranet.example.com is a private machine (10.9.8.7); every other name resolves for real."""
    real = socket.getaddrinfo

    def dns(host, *args, **kwargs):
        if host == "intranet.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)


def allow(*hosts: str, networks: tuple[str, ...] = ()) -> None:
    from nous.settings import service as settings

    settings.set_value("workflows.http_allowed_hosts", list(hosts), ADMIN)
    settings.set_value("outbound.allowed_networks", list(networks), ADMIN)


@pytest.mark.parametrize(("url", "allowed", "fragment"), [
    ("http://127.0.0.1:9/", [], "not on the allowed hosts (setting workflows.http_allowed_hosts is empty)"),
    ("http://localhost:9/", ["localhost"], "resolves to 127.0.0.1, a loopback address"),
    ("http://10.1.2.3/", ["example.com"], "10.1.2.3 is not on the allowed hosts"),
    ("http://169.254.169.254/latest/meta-data", ["*.example.com"], "not on the allowed hosts"),
    ("file:///etc/passwd", ["localhost"], "only http and https"),
    ("http://user:pw@example.com/", ["example.com"], "user name or password"),
    ("http://[::1]:9/", ["localhost"], "not on the allowed hosts"),
    ("http://[2002:7f00:1::1]/", ["2000::/3"], "a 6to4 address embedding 127.0.0.1, a loopback address"),
])
def test_http_refuses_hosts_that_are_not_allowed_or_not_public(ctx, url, allowed, fragment):
    allow(*allowed)
    with pytest.raises(http_handler.Refused) as info:
        call("http.request", {"url": url})
    assert fragment in str(info.value) and info.value.retryable is False


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_an_allowed_name_resolving_to_a_non_public_address_is_refused(ctx, monkeypatch, address, why):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 80))])
    allow("*.example.com")
    with pytest.raises(http_handler.Refused, match=r"^intranet\.example\.com resolves to ") as info:
        call("http.request", {"url": "http://intranet.example.com/"})
    assert why in str(info.value) and "workflows.http_allowed_hosts or on outbound.allowed_networks" in str(info.value)


def test_a_private_address_passes_only_when_its_network_is_listed(ctx, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                  ("10.1.2.3", 80))])
    for hosts, networks in ((["intranet.example.com", "10.0.0.0/8"], ()), (["intranet.example.com"], ("10.1.2.3",))):
        allow(*hosts, networks=networks)
        # the guard lets the request through to the network, whatever answers there (or not) in this sandbox
        with pytest.raises(StepError, match=r"GET http://intranet\.example\.com:9/x") as info:
            call("http.request", {"url": "http://intranet.example.com:9/x", "timeout": 0.3})
        assert not isinstance(info.value, http_handler.Refused)
    allow("intranet.example.com", networks=("10.9.0.0/16",))
    with pytest.raises(http_handler.Refused, match=r"resolves to 10\.1\.2\.3, a private address"):
        call("http.request", {"url": "http://intranet.example.com:9/x"})


def test_http_calls_an_explicitly_allowed_local_server(ctx, local_server, intranet_dns):
    allow("127.0.0.1")
    out = http_handler.request("GET", f"{local_server}/hello")
    assert out["status"] == 200 and out["json"]["hello"] == "world"
    assert out["json"]["host"] == local_server.removeprefix("http://")  # the Host header names the URL's host
    follow = http_handler.request("GET", f"{local_server}/redirect-in")
    assert follow["json"]["hello"] == "world" and follow["redirects"] == 1
    with pytest.raises(http_handler.Refused, match="localhost is not on the allowed hosts"):
        http_handler.request("GET", f"{local_server}/redirect-out")
    allow("127.0.0.1", "intranet.example.com")
    with pytest.raises(http_handler.Refused, match=r"intranet\.example\.com resolves to 10\.9\.8\.7, a private"):
        http_handler.request("GET", f"{local_server}/redirect-intranet")
    with pytest.raises(StepError, match="larger than 1000 bytes"):
        http_handler.request("GET", f"{local_server}/big", max_bytes=1000)
    with pytest.raises(StepError, match="ReadTimeoutError") as info:
        http_handler.request("GET", f"{local_server}/slow", timeout=0.5)
    assert info.value.retryable


def test_http_in_a_run_posts_json_hides_secrets_and_refuses_a_private_address(make_workflow, local_server,
                                                                             intranet_dns):
    allow("127.0.0.1", "intranet.example.com")
    wf = make_workflow(f"""\
        name: http
        steps:
          - id: post
            uses: http.request
            with:
              url: {local_server}/echo
              method: POST
              headers: {{Authorization: "Bearer s3cret"}}
              json: {{rating: "${{{{ rating }}}}"}}
          - id: private
            uses: http.request
            with: {{url: "http://intranet.example.com/admin"}}
            retry: {{max: 3, backoff: 0}}
            continue_on_error: true
          - id: down
            uses: http.request
            with: {{url: "{local_server}/unavailable"}}
            retry: {{max: 1, backoff: 0}}
        """)
    run_id = service.run_now(wf.id, {"rating": 2}, ADMIN)
    run_here()
    s = steps(run_id)
    assert s["post"].status == "succeeded"
    assert s["post"].output["status"] == 201
    assert s["post"].output["json"] == {"got": {"rating": 2}, "auth": "Bearer s3cret"}
    assert s["post"].input["headers"] == {"Authorization": "***"}  # the stored input hides it
    assert s["private"].status == "failed" and s["private"].attempts == 1  # refused at once, not retried
    assert "resolves to 10.9.8.7, a private address" in s["private"].error
    assert s["down"].status == "failed" and s["down"].attempts == 2  # a 503 is worth another attempt
    assert s["down"].error.endswith("/unavailable answered 503")
    assert service.get_run(run_id).status == "failed"
