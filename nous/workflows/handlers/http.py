"""`http.request`: call an allow-listed host, never a private one by accident.

The host must be on the setting `workflows.http_allowed_hosts` (a name, `*.example.com`, an IP or a
network). The name is resolved once and every address it resolves to must be public — loopback,
private, link-local, reserved, multicast and other non-global addresses are refused unless that
address (or its network) is itself on the list. The connection then goes to the address that was
checked (no second lookup a rebinding DNS server could answer differently); TLS still verifies the
certificate for the name. Redirects are followed only to hosts that pass the same checks; the
response is read up to a size cap within the timeout.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from nous.workflows.handlers import StepContext, StepError, handler

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
NET = ipaddress.IPv4Network | ipaddress.IPv6Network
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
DEFAULT_MAX_BYTES = 1_000_000
MAX_BYTES = 5_000_000
KEPT_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified", "retry-after", "date")
USER_AGENT = "NOUS-Beta-Console-Workflows/1.0"


class Refused(StepError):
    """The request is not allowed (never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _allowed_entries(allowed: list[str]) -> tuple[list[str], list[NET]]:
    names, nets = [], []
    for entry in allowed:
        entry = str(entry).strip().lower()
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            if entry:
                names.append(entry.rstrip("."))
    return names, nets


def _plain(ip: IP) -> IP:
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def non_public_reason(ip: IP) -> str | None:
    """Why an address is not a public one (None when it is)."""
    ip = _plain(ip)
    for attr, label in (("is_loopback", "loopback"), ("is_unspecified", "unspecified"),
                        ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                        ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, attr):
            return label
    return None if ip.is_global else "non-public"


def host_allowed(host: str, names: list[str], nets: list[NET]) -> bool:
    host = host.lower().rstrip(".")
    try:
        ip = _plain(ipaddress.ip_address(host))
    except ValueError:
        return any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in names)
    return any(ip in net for net in nets)


def resolve(host: str, port: int) -> list[IP]:
    try:
        return [_plain(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StepError(f"cannot resolve {host}: {exc}") from None
    ips: list[IP] = []
    for info in infos:
        ip = _plain(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        if ip not in ips:
            ips.append(ip)
    if not ips:
        raise StepError(f"{host} has no address")
    return ips


def check_target(url: str, allowed: list[str]) -> tuple[str, str, int, IP]:
    """(scheme, host, port, address to connect to) for `url`, or Refused saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs can be called, not {scheme or 'a relative URL'!r}")
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are refused; send credentials in a header")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    names, nets = _allowed_entries(allowed)
    if not host_allowed(host, names, nets):
        raise Refused(f"{host} is not on the allowed hosts (setting workflows.http_allowed_hosts"
                      f"{': ' + ', '.join(allowed) if allowed else ' is empty'})")
    ips = resolve(host, port)
    for ip in ips:
        reason = non_public_reason(ip)
        if reason and not any(ip in net for net in nets):
            raise Refused(f"{host} resolves to {ip}, a {reason} address; requests to such addresses are refused "
                          f"unless the address or its network is on workflows.http_allowed_hosts")
    return scheme, host, port, ips[0]


def _pool(scheme: str, host: str, port: int, ip: IP, timeout: float) -> urllib3.HTTPConnectionPool:
    t = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(str(ip), port, timeout=t, retries=False, maxsize=1,
                                           server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(str(ip), port, timeout=t, retries=False, maxsize=1)


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == (443 if scheme == "https" else 80) else f"{shown}:{port}"


def request(method: str, url: str, *, allowed: list[str], headers: dict[str, str] | None = None,
            body: bytes | None = None, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
            follow_redirects: bool = True) -> dict[str, Any]:
    """Make the request under the rules above; the response as plain data."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    redirects = 0
    while True:
        scheme, host, port, ip = check_target(url, allowed)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json, text/*;q=0.9, */*;q=0.5",
                **(headers or {}), "Host": _host_header(host, port, scheme)}
        pool = _pool(scheme, host, port, ip, max(0.1, deadline - time.monotonic()))
        try:
            resp = pool.urlopen(method, target, body=body, headers=sent, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False)
        except Urllib3Error as exc:
            pool.close()
            raise StepError(f"{method} {url}: {type(exc).__name__}: {str(exc)[:200]}") from None
        try:
            location = resp.headers.get("Location")
            if follow_redirects and resp.status in (301, 302, 303, 307, 308) and location:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise Refused(f"more than {MAX_REDIRECTS} redirects")
                url = urljoin(url, location)
                if resp.status == 303 or (resp.status in (301, 302) and method not in ("GET", "HEAD")):
                    method, body = "GET", None
                continue
            data = bytearray()
            for chunk in resp.stream(65536, decode_content=True):
                data += chunk
                if len(data) > max_bytes:
                    raise StepError(f"the response is larger than {max_bytes} bytes (max_bytes)", retryable=False)
                if time.monotonic() > deadline:
                    raise StepError(f"{method} {url}: no complete response within {timeout:g} s")
        except Urllib3Error as exc:
            raise StepError(f"{method} {url}: {type(exc).__name__}: {str(exc)[:200]}") from None
        finally:
            resp.release_conn()
            pool.close()
        return _result(resp, bytes(data), url, redirects, started)


def _result(resp: Any, data: bytes, url: str, redirects: int, started: float) -> dict[str, Any]:
    ctype = resp.headers.get("Content-Type", "")
    out: dict[str, Any] = {
        "status": resp.status, "ok": 200 <= resp.status < 300, "url": url, "redirects": redirects,
        "headers": {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers},
        "bytes": len(data), "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    charset = "utf-8"
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    if "json" in ctype.lower():
        try:
            out["json"] = json.loads(text) if text.strip() else None
        except ValueError:
            out["text"] = text
    else:
        out["text"] = text
    return out


@handler(
    "http.request",
    "Calls a URL on a host of the setting workflows.http_allowed_hosts (private and loopback addresses "
    "only when their address is listed). Timeout, size cap, redirects re-checked.",
    params={
        "url": {"type": "string", "minLength": 1, "maxLength": 4000},
        "method": {"enum": METHODS, "default": "GET"},
        "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 4000},
                    "maxProperties": 50},
        "json": {"description": "A body sent as JSON."},
        "body": {"type": "string", "maxLength": 1000000},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT, "default": DEFAULT_TIMEOUT},
        "max_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_BYTES, "default": DEFAULT_MAX_BYTES},
        "follow_redirects": {"type": "boolean", "default": True},
        "fail_on_status": {"type": "boolean", "default": True,
                           "description": "Fail the step on a 4xx or 5xx answer (5xx, 408 and 429 are retried)."},
    },
    required=["url"],
    example={"url": "https://hooks.example.com/nous", "method": "POST", "json": {"text": "${{ feedback.message }}"}},
)
def http_request(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    from nous.settings import service as settings

    headers = dict(params.get("headers") or {})
    body: bytes | None = None
    if "json" in params and params["json"] is not None:
        body = json.dumps(params["json"], ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json")
    elif params.get("body") is not None:
        body = params["body"].encode()
    timeout = min(float(params.get("timeout", DEFAULT_TIMEOUT)), max(0.5, ctx.timeout))
    method = params.get("method", "GET")
    result = request(method, params["url"], allowed=list(settings.get("workflows.http_allowed_hosts")),
                     headers=headers, body=body, timeout=timeout,
                     max_bytes=int(params.get("max_bytes", DEFAULT_MAX_BYTES)),
                     follow_redirects=bool(params.get("follow_redirects", True)))
    status = result["status"]
    if params.get("fail_on_status", True) and status >= 400:
        raise StepError(f"{method} {result['url']} answered {status}",
                        retryable=status >= 500 or status in (408, 429))
    return result
