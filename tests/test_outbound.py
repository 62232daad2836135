"""The outbound guard: every address form that reaches a non-public machine is refused, names are
resolved once and connected to as checked, redirects pass the same checks, time and size are capped."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nous import outbound

ANY_HOST = outbound.Policy()
LOCAL = outbound.Policy(networks=(ipaddress.ip_network("127.0.0.1/32"),))

# Every address a request must not reach, with what the refusal says about it.
REFUSED = [
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.0.7", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("0.0.0.0", "an unspecified address"),
    ("0.1.2.3", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("255.255.255.255", "a broadcast address"),
    ("240.0.0.1", "a reserved address"),
    ("192.0.0.8", "a reserved address"),
    ("192.0.2.1", "a documentation address"),
    ("198.18.0.1", "a reserved address"),
    ("198.51.100.1", "a documentation address"),
    ("203.0.113.1", "a documentation address"),
    ("192.88.99.1", "a reserved address"),
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fe80::1", "a link-local address"),
    ("fec0::1", "a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("ff05::1:3", "a multicast address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("100::1", "a reserved address"),
    ("5f00::1", "a reserved address"),
    ("2001:2::1", "a reserved address"),
    ("64:ff9b:1::a00:1", "a reserved (local-use NAT64) address"),
    ("::8.8.8.8", "a reserved address"),
    ("4000::1", "a reserved address"),
    # IPv6 forms that embed a non-public IPv4 address
    ("::ffff:127.0.0.1", "127.0.0.1, a loopback address"),  # IPv4-mapped: the socket goes to 127.0.0.1
    ("::ffff:169.254.169.254", "169.254.169.254, a link-local address"),
    ("::127.0.0.1", "an IPv4-compatible address embedding 127.0.0.1, a loopback address"),
    ("::10.0.0.1", "an IPv4-compatible address embedding 10.0.0.1, a private address"),
    ("::ffff:0:127.0.0.1", "an IPv4-translated address embedding 127.0.0.1, a loopback address"),
    ("64:ff9b::127.0.0.1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a link-local address"),
    ("2002:7f00:1::1", "a 6to4 address embedding 127.0.0.1, a loopback address"),
    ("2002:a00:1::", "a 6to4 address embedding 10.0.0.1, a private address"),
    ("2002:c0a8:1:1::1", "a 6to4 address embedding 192.168.0.1, a private address"),
    # Teredo: the client address is stored inverted (~127.0.0.1 = 80ff:fffe), the server one as is
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a Teredo address embedding 127.0.0.1, a loopback address"),
    ("2001:0:a00:1::f7f7:f7f7", "a Teredo address embedding 10.0.0.1, a private address"),  # server
    ("2001:0:4136:e378::1", "a reserved address"),  # a Teredo address with public parts is still not public
    ("2001:4860:1::5efe:7f00:1", "an ISATAP address embedding 127.0.0.1, a loopback address"),
    ("2001:4860:1::200:5efe:c0a8:1", "an ISATAP address embedding 192.168.0.1, a private address"),
    ("fe80::5efe:a00:1", "an ISATAP address embedding 10.0.0.1, a private address"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1", "64:ff9b::808:808",
          "2001:4860:1::5efe:808:808"]


def url_of(address: str, port: int = 80, path: str = "/") -> str:
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}{path}"


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_every_non_public_address_is_refused(address, why):
    with pytest.raises(outbound.OutboundRefused, match="requests to such addresses are refused") as info:
        outbound.check_url(url_of(address), ANY_HOST)
    assert why in str(info.value)


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_a_name_resolving_to_a_non_public_address_is_refused(monkeypatch, address, why):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 80))])
    with pytest.raises(outbound.OutboundRefused, match=r"^api\.example\.com resolves to ") as info:
        outbound.check_url("https://api.example.com/v1", ANY_HOST)
    assert why in str(info.value)


def test_one_non_public_address_among_a_names_addresses_is_enough_to_refuse(monkeypatch):
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 443)),
               (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::1", 443, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(outbound.OutboundRefused, match=re.escape("2002:7f00:1::1, a 6to4 address embedding 127.0.0.1")):
        outbound.check_url("https://api.example.com/", ANY_HOST)


@pytest.mark.parametrize("spelling", ["localhost", "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "LOCALHOST."])
def test_other_spellings_of_loopback_are_resolved_and_refused(spelling):
    with pytest.raises(outbound.OutboundRefused, match="a loopback address"):
        outbound.check_url(f"http://{spelling}/", ANY_HOST)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass_and_are_what_the_connection_uses(address):
    target = outbound.check_url(url_of(address, 8080, "/x"), ANY_HOST)
    assert (target.scheme, target.port, str(target.address)) == ("http", 8080, address)


@pytest.mark.parametrize(("url", "why"), [
    ("file:///etc/passwd", "only http and https"),
    ("gopher://example.com/", "only http and https"),
    ("/relative", "only http and https URLs can be called, not 'a relative URL'"),
    ("http://user:pw@example.com/", "user name or password"),
    ("http:///nohost", "the URL has no host"),
    ("http://example.com:99999/", "not a valid URL"),
])
def test_urls_that_are_not_plain_http_are_refused(url, why):
    with pytest.raises(outbound.OutboundRefused, match=why):
        outbound.check_url(url, ANY_HOST)


def test_an_allowed_network_opens_only_itself():
    listed = outbound.Policy(networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2000::/3")))
    assert str(outbound.check_url("http://10.1.2.3/", listed).address) == "10.1.2.3"
    with pytest.raises(outbound.OutboundRefused, match=re.escape("192.168.0.1 is a private address")):
        outbound.check_url("http://192.168.0.1/", listed)
    # 2002:7f00:1::1 lies in the allowed 2000::/3, but the loopback address it embeds does not
    with pytest.raises(outbound.OutboundRefused, match=re.escape("6to4 address embedding 127.0.0.1")):
        outbound.check_url("http://[2002:7f00:1::1]/", listed)
    assert str(outbound.check_url("http://[2002:a00:1::1]/", listed).address) == "2002:a00:1::1"


def test_a_host_allow_list_is_applied_before_any_lookup(monkeypatch):
    looked_up: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: looked_up.append(host) or [])
    listed = outbound.Policy(hosts=("*.example.com", "10.0.0.0/8"), hosts_setting="some.hosts")
    for url in ("http://evil.test/", "http://example.com.evil.test/", "http://192.168.0.1/", "http://[::1]/"):
        with pytest.raises(outbound.OutboundRefused, match=r"is not on the allowed hosts \(setting some.hosts: "):
            outbound.check_url(url, listed)
    assert looked_up == []


# --- real requests against local servers ------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path == "/hello":
            self._send(200, json.dumps({"host": self.headers["Host"]}).encode(), {"Content-Type": "application/json"})
        elif parts.path == "/echo":
            seen = {k: self.headers.get(k) for k in ("Authorization", "Cookie", "X-Trace")}
            self._send(200, json.dumps(seen).encode(), {"Content-Type": "application/json"})
        elif parts.path == "/redirect":
            self._send(302, headers={"Location": parse_qs(parts.query)["to"][0]})
        elif parts.path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif parts.path == "/big":
            self._send(200, b"x" * 50_000)
        elif parts.path == "/drip":  # the headers at once, then a byte every 0.1 s for 3 s
            self.send_response(200)
            self.send_header("Content-Length", "30")
            self.end_headers()
            sent = 0
            try:
                for _ in range(30):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    sent += 1
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.server.dripped.append(sent)  # type: ignore[attr-defined]
        elif parts.path == "/slow":
            time.sleep(1.5)
            self._send(200, b"late")
        else:
            self._send(404)


def serve(host: str) -> Iterator[ThreadingHTTPServer]:
    """A local HTTP server on `host` that records the paths it was asked for (`server.hits`)."""
    server = ThreadingHTTPServer((host, 0), _Handler)
    server.hits = []  # type: ignore[attr-defined]
    server.dripped = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def local() -> Iterator[ThreadingHTTPServer]:
    yield from serve("127.0.0.1")


@pytest.fixture
def inner() -> Iterator[ThreadingHTTPServer]:
    """A machine the guard must never reach: 127.0.0.2 (loopback, outside the allowed 127.0.0.1/32)."""
    yield from serve("127.0.0.2")


def test_an_allowed_local_server_answers(local):
    out = outbound.request("GET", url_of("127.0.0.1", local.server_port, "/hello"), policy=LOCAL)
    assert out.status == 200 and json.loads(out.body) == {"host": f"127.0.0.1:{local.server_port}"}
    with pytest.raises(outbound.OutboundRefused, match=re.escape("127.0.0.1 is a loopback address")):
        outbound.request("GET", url_of("127.0.0.1", local.server_port, "/hello"), policy=ANY_HOST)
    assert local.hits == ["/hello"]


@pytest.mark.parametrize("to", [
    "http://127.0.0.2:{inner}/hello",
    "http://[::ffff:127.0.0.2]:{inner}/hello",
    "http://[2002:7f00:2::1]:{inner}/hello",
    "http://[64:ff9b::7f00:2]:{inner}/hello",
    "http://inner.example.com:{inner}/hello",
    "http://2130706434:{inner}/hello",
])
def test_a_redirect_to_a_non_public_address_is_refused_before_it_is_followed(local, inner, monkeypatch, to):
    real = socket.getaddrinfo

    def dns(host, *args, **kwargs):  # inner.example.com is the inner machine; the rest is real
        if host == "inner.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", inner.server_port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    target = to.format(inner=inner.server_port)
    start = url_of("127.0.0.1", local.server_port, f"/redirect?to={target}")
    with pytest.raises(outbound.OutboundRefused, match="requests to such addresses are refused"):
        outbound.request("GET", start, policy=LOCAL)
    assert local.hits and inner.hits == []
    followed = outbound.request("GET", url_of("127.0.0.1", local.server_port, "/redirect?to=/hello"), policy=LOCAL)
    assert followed.status == 200 and followed.redirects == 1


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(local, monkeypatch):
    """A rebinding DNS server answers the allowed address first and an inner one afterwards."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example.com":  # an address is no DNS question
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    out = outbound.request("GET", f"http://rebind.example.com:{local.server_port}/hello", policy=LOCAL)
    assert out.status == 200 and json.loads(out.body) == {"host": f"rebind.example.com:{local.server_port}"}
    assert lookups == ["rebind.example.com"]


@pytest.fixture
def other() -> Iterator[ThreadingHTTPServer]:
    """Another origin on the same machine (127.0.0.1, another port)."""
    yield from serve("127.0.0.1")


def test_credentials_are_not_sent_on_to_another_origin(local, other):
    sent = {"Authorization": "Bearer s3cret", "Cookie": "session=1", "X-Trace": "t-1"}
    same = outbound.request("GET", url_of("127.0.0.1", local.server_port, "/redirect?to=/echo"), policy=LOCAL,
                            headers=sent)
    assert json.loads(same.body) == {"Authorization": "Bearer s3cret", "Cookie": "session=1", "X-Trace": "t-1"}
    elsewhere = url_of("127.0.0.1", other.server_port, "/echo")
    moved = outbound.request("GET", url_of("127.0.0.1", local.server_port, f"/redirect?to={elsewhere}"),
                             policy=LOCAL, headers=sent)
    assert json.loads(moved.body) == {"Authorization": None, "Cookie": None, "X-Trace": "t-1"}


def test_proxy_variables_cannot_route_around_the_check(local, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    out = outbound.request("GET", url_of("127.0.0.1", local.server_port, "/hello"), policy=LOCAL, timeout=2)
    assert out.status == 200


def test_redirects_size_and_time_are_capped(local):
    base = url_of("127.0.0.1", local.server_port)
    with pytest.raises(outbound.OutboundRefused, match=f"more than {outbound.MAX_REDIRECTS} redirects"):
        outbound.request("GET", f"{base}loop", policy=LOCAL)
    assert len(local.hits) == outbound.MAX_REDIRECTS + 1
    with pytest.raises(outbound.OutboundError, match="larger than 1000 bytes") as big:
        outbound.request("GET", f"{base}big", policy=LOCAL, max_bytes=1000)
    assert big.value.retryable is False
    headers_only = outbound.request("GET", f"{base}big", policy=LOCAL, max_bytes=1000, read_body=False)
    assert headers_only.status == 200 and headers_only.body == b""
    with pytest.raises(outbound.OutboundError, match="ReadTimeoutError") as slow:
        outbound.request("GET", f"{base}slow", policy=LOCAL, timeout=0.3)
    assert slow.value.retryable is True
    with pytest.raises(outbound.OutboundError, match=r"ReadTimeoutError|no complete response within 0\.5 s") as drip:
        outbound.request("GET", f"{base}drip", policy=LOCAL, timeout=0.5)  # each byte is in time, the body is not
    assert drip.value.retryable is True
    ends = time.monotonic() + 5
    while not local.dripped and time.monotonic() < ends:
        time.sleep(0.02)
    assert local.dripped and local.dripped[0] < 30  # the client hung up at its deadline, not at the end of the drip
    assert outbound.request("GET", f"{base}drip", policy=LOCAL, timeout=10).body == b"x" * 30


def test_the_policy_comes_from_the_settings(ctx):
    from nous.settings import service as settings

    assert outbound.Policy.current().networks == ()
    settings.set_value("outbound.allowed_networks", "127.0.0.1\n10.0.0.0/8", actor="test")
    policy = outbound.Policy.current(["api.example.com", "192.168.1.0/24"], hosts_setting="some.hosts")
    assert [str(n) for n in policy.networks] == ["127.0.0.1/32", "10.0.0.0/8", "192.168.1.0/24"]
    assert policy.hosts == ("api.example.com", "192.168.1.0/24")
    with pytest.raises(settings.SettingError, match="expected IP addresses or networks"):
        settings.set_value("outbound.allowed_networks", ["intranet.example.com"], actor="test")
