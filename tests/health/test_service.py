import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from nous.health import service
from nous.settings import service as settings
from tests.test_outbound import REFUSED, serve, url_of


def test_cpu_reading_reflects_the_load_now_even_as_a_first_reading(monkeypatch) -> None:
    busy_loop = "import time\nend = time.time() + 3\nwhile time.time() < end: pass"
    burner = subprocess.Popen([sys.executable, "-c", busy_loop])
    try:
        time.sleep(0.3)
        monkeypatch.setattr(service, "_cpu_read_at", 0.0)  # no previous reading in this process
        first = service.cpu_percent()
        time.sleep(0.6)
        second = service.cpu_percent()  # since the first one
    finally:
        burner.kill()
        burner.wait()
    # One of the two cores is busy the whole time: at least ~50 %, minus scheduling slack.
    assert first >= 30 and second >= 30, (first, second)


# --- external probes go through the outbound guard ----------------------------------------------------

def _probe(url: str, expect: int = 200) -> dict:
    return {"name": "model", "url": url, "expect_status": expect, "timeout": 2}


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_a_probe_of_a_non_public_address_is_refused(ctx, address, why) -> None:
    result = service.check_probe(_probe(url_of(address, 9, "/health")))
    assert result["status"] == "warn" and result["observedValue"] is None
    assert result["output"].startswith("refused: ") and why in result["output"]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_a_probe_of_a_name_resolving_to_a_non_public_address_is_refused(ctx, monkeypatch, address, why) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 80))])
    result = service.check_probe(_probe("https://model.example.com/health"))
    assert result["status"] == "warn" and "refused: model.example.com resolves to" in result["output"]
    assert why in result["output"]


@pytest.fixture
def probed() -> Iterator[ThreadingHTTPServer]:
    yield from serve("127.0.0.1")


@pytest.fixture
def inner() -> Iterator[ThreadingHTTPServer]:
    yield from serve("127.0.0.2")


def test_a_probe_reaches_a_private_network_only_when_it_is_allowed(ctx, probed) -> None:
    url = url_of("127.0.0.1", probed.server_port, "/hello")
    assert "127.0.0.1 is a loopback address" in service.check_probe(_probe(url))["output"]
    assert probed.hits == []
    settings.set_value("outbound.allowed_networks", ["127.0.0.1"], actor="test")
    result = service.check_probe(_probe(url))
    assert result["status"] == "pass" and result["observedValue"] > 0 and probed.hits == ["/hello"]


def test_a_probe_does_not_follow_a_redirect_to_an_inner_machine(ctx, probed, inner) -> None:
    settings.set_value("outbound.allowed_networks", ["127.0.0.1"], actor="test")
    for target in (url_of("127.0.0.2", inner.server_port, "/hello"), "http://[2002:7f00:2::1]/hello"):
        result = service.check_probe(_probe(url_of("127.0.0.1", probed.server_port, f"/redirect?to={target}")))
        assert result["status"] == "warn" and result["output"] == "answered 302, expected 200"
    assert service.check_probe(_probe(url_of("127.0.0.1", probed.server_port, "/redirect?to=/x"), 302))["status"] \
        == "pass"
    assert len(probed.hits) == 3 and inner.hits == []


def test_the_detailed_health_document_checks_probes_through_the_guard(ctx, probed) -> None:
    settings.set_value("health.cache_seconds", 0, actor="test")
    settings.set_value("health.probes", [_probe(url_of("127.0.0.1", probed.server_port, "/hello")),
                                         {**_probe("http://[2002:7f00:1::1]/"), "name": "sixtofour"}], actor="test")
    checks = service.detailed()["checks"]
    assert "127.0.0.1 is a loopback address" in checks["probe:model:responseTime"][0]["output"]
    assert "6to4 address embedding 127.0.0.1" in checks["probe:sixtofour:responseTime"][0]["output"]
    assert probed.hits == []
    settings.set_value("outbound.allowed_networks", ["127.0.0.1"], actor="test")
    checks = service.detailed()["checks"]
    assert checks["probe:model:responseTime"][0]["status"] == "pass" and probed.hits == ["/hello"]
    assert checks["probe:sixtofour:responseTime"][0]["status"] == "warn"
