"""Every HTTP request this server makes to a URL someone configured goes through `request()` here.

The guard against server-side request forgery, in the order it applies to each hop:

- the URL is http or https, names a host, carries no user name or password;
- when the caller keeps a host allow-list (the workflow HTTP step does), the host is on it;
- the name is resolved once and every address it resolves to must be public: loopback, private,
  shared (carrier-grade NAT), link-local, multicast, unspecified, documentation and reserved
  addresses are refused, and so is every IPv6 form that embeds such an IPv4 address (IPv4-mapped,
  IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo, ISATAP) — unless the address is inside a
  network the administrator allowed explicitly (setting `outbound.allowed_networks`, or an IP or
  network on the caller's allow-list);
- the connection goes to the address that was checked (no second lookup that a rebinding DNS server
  could answer differently); TLS still verifies the certificate for the name;
- a redirect is followed only when its target passes the same checks, at most MAX_REDIRECTS times,
  and credentials (Authorization, Cookie) are not sent on to another origin;
- one deadline covers the whole exchange, redirects included, and the body is read up to a size cap.

Why our own: the one library for this (advocate) is unmaintained since 2020 and wraps `requests`,
whose proxy variables from the environment would route around the address check; this is urllib3
(already a dependency) plus the IANA special-purpose address registries.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
NET = ipaddress.IPv4Network | ipaddress.IPv6Network
NETWORKS_SETTING = "outbound.allowed_networks"
# The non-public networks the administrator allowed (setting `outbound.allowed_networks`): the settings
# area installs this reader at start-up (its init_app), so the guard imports no area. None allowed before.
allowed_networks: Callable[[], Iterable[str]] = tuple
MAX_REDIRECTS = 3
USER_AGENT = "NOUS-Beta-Console/1.0"
REDIRECTS = (301, 302, 303, 307, 308)
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")  # never sent on to another origin
BODY_HEADERS = ("content-type", "content-length", "content-encoding")  # dropped with the body (303 → GET)

_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network

# IPv4 networks that are not globally reachable (IANA IPv4 Special-Purpose Address Registry), first match wins.
V4_NOT_PUBLIC: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_v4("0.0.0.0/8"), "unspecified"),
    (_v4("10.0.0.0/8"), "private"),
    (_v4("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (_v4("127.0.0.0/8"), "loopback"),
    (_v4("169.254.0.0/16"), "link-local"),
    (_v4("172.16.0.0/12"), "private"),
    (_v4("192.0.0.0/24"), "reserved"),
    (_v4("192.0.2.0/24"), "documentation"),
    (_v4("192.88.99.0/24"), "reserved"),
    (_v4("192.168.0.0/16"), "private"),
    (_v4("198.18.0.0/15"), "reserved"),
    (_v4("198.51.100.0/24"), "documentation"),
    (_v4("203.0.113.0/24"), "documentation"),
    (_v4("224.0.0.0/4"), "multicast"),
    (_v4("255.255.255.255/32"), "broadcast"),
    (_v4("240.0.0.0/4"), "reserved"),
)
# The same for IPv6 (IANA IPv6 Special-Purpose Address Registry); outside 2000::/3 nothing is public
# except NAT64's well-known prefix, which is judged by the IPv4 address it embeds.
V6_NOT_PUBLIC: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_v6("::/128"), "unspecified"),
    (_v6("::1/128"), "loopback"),
    (_v6("64:ff9b:1::/48"), "reserved (local-use NAT64)"),
    (_v6("2001::/23"), "reserved"),
    (_v6("2001:db8::/32"), "documentation"),
    (_v6("3fff::/20"), "documentation"),
    (_v6("5f00::/16"), "reserved"),
    (_v6("fc00::/7"), "private"),
    (_v6("fe80::/10"), "link-local"),
    (_v6("fec0::/10"), "link-local"),
    (_v6("ff00::/8"), "multicast"),
)
GLOBAL_UNICAST = _v6("2000::/3")
NAT64 = _v6("64:ff9b::/96")
MAPPED = _v6("::ffff:0:0/96")
TRANSLATED = _v6("::ffff:0:0:0/96")
COMPATIBLE = _v6("::/96")
SIX_TO_FOUR = _v6("2002::/16")
TEREDO = _v6("2001::/32")
ISATAP_IDS = (0x00005EFE, 0x02005EFE)  # the interface identifier's upper half: ::0:5efe:a.b.c.d, ::200:5efe:…


class OutboundRefused(Exception):
    """The guard refused the request (the URL, its host or an address); another attempt cannot help."""


class OutboundError(Exception):
    """The request was allowed but did not complete (connection, timeout, size cap)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Policy:
    """Who may be called. `hosts` None: any host (still only public addresses); otherwise only names,
    `*.example.com` patterns, IPs or networks on it. `networks`: non-public networks allowed anyway."""

    hosts: tuple[str, ...] | None = None
    networks: tuple[NET, ...] = ()
    hosts_setting: str = ""  # named in refusals, so the message says where to change the list

    @classmethod
    def current(cls, hosts: Iterable[str] | None = None, hosts_setting: str = "") -> Policy:
        """The policy from the settings: `outbound.allowed_networks`, plus the IPs and networks of `hosts`."""
        entries = tuple(str(h).strip().lower().rstrip(".") for h in hosts) if hosts is not None else None
        networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks()]
        networks += [n for n in map(_network, entries or ()) if n is not None]
        return cls(tuple(e for e in entries if e) if entries is not None else None, tuple(networks), hosts_setting)


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    address: IP


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    url: str
    redirects: int
    elapsed_ms: float
    content_type: str = field(default="")


def _network(entry: str) -> NET | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _table_reason(ip: IP) -> str | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return next((label for net, label in V4_NOT_PUBLIC if ip in net), None)
    return next((label for net, label in V6_NOT_PUBLIC if ip in net), None)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, with the name of the form that carries them."""
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip in MAPPED:
        found.append(("IPv4-mapped", low))
    elif ip in TRANSLATED:
        found.append(("IPv4-translated", low))
    elif ip in COMPATIBLE and int(ip) > 1:
        found.append(("IPv4-compatible", low))
    elif ip in NAT64:
        found.append(("NAT64", low))
    elif ip in SIX_TO_FOUR and ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    elif ip in TEREDO and ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", client), ("Teredo", server)]
    if (int(ip) >> 32) & 0xFFFFFFFF in ISATAP_IDS:
        found.append(("ISATAP", low))
    return found


def _a(phrase: str) -> str:
    return f"{'an' if phrase[0] in 'aeiouAEIOU' else 'a'} {phrase}"


def non_public_reason(ip: IP) -> str | None:
    """Why an address is not a public one, as a phrase ("a loopback address"); None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (link-local) address"
        for form, inner in embedded_ipv4(ip):
            label = _table_reason(inner)
            if label:
                return f"{_a(form)} address embedding {inner}, {_a(label)} address"
        if ip in NAT64:
            return None  # the embedded IPv4 address is public
        label = _table_reason(ip) or (None if ip in GLOBAL_UNICAST else "reserved")
        return f"{_a(label)} address" if label else None
    label = _table_reason(ip)
    return f"{_a(label)} address" if label else None


def _plain(ip: IP) -> IP:
    """An IPv4-mapped IPv6 address is the IPv4 address it maps (that is where a socket would go)."""
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def _host_allowed(host: str, policy: Policy) -> bool:
    if policy.hosts is None:
        return True
    try:
        ip = _plain(ipaddress.ip_address(host))
    except ValueError:
        return any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in policy.hosts)
    return any(net is not None and ip in net for net in map(_network, policy.hosts))


def _allowed_network(ip: IP, policy: Policy) -> bool:
    """An explicitly allowed non-public address: inside an allowed network, and so is every non-public
    IPv4 address it embeds (allowing 2000::/3 does not open 6to4's 2002:7f00:1::1 to loopback)."""
    inside = any(ip.version == net.version and ip in net for net in policy.networks)
    if not inside or not isinstance(ip, ipaddress.IPv6Address):
        return inside
    return all(any(inner in net for net in policy.networks if net.version == 4)
               for _form, inner in embedded_ipv4(ip) if _table_reason(inner))


def resolve(host: str, port: int) -> list[IP]:
    """The addresses of `host`, looked up once (an IP literal is its own address)."""
    try:
        return [_plain(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise OutboundError(f"cannot resolve {host}: {exc}", retryable=True) from None
    ips: list[IP] = []
    for info in infos:
        ip = _plain(ipaddress.ip_address(str(info[4][0])))
        if ip not in ips:
            ips.append(ip)
    if not ips:
        raise OutboundError(f"{host} has no address")
    return ips


def check_url(url: str, policy: Policy) -> Target:
    """Where a request to `url` would connect, or OutboundRefused saying why it may not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(f"only http and https URLs can be called, not {scheme or 'a relative URL'!r}")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with a user name or password are refused; send credentials in a header")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise OutboundRefused("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    if not _host_allowed(host, policy):
        where = f"setting {policy.hosts_setting}" if policy.hosts_setting else "list"
        listed = f": {', '.join(policy.hosts)}" if policy.hosts else " is empty"
        raise OutboundRefused(f"{host} is not on the allowed hosts ({where}{listed})")
    ips = resolve(host, port)
    for ip in ips:
        reason = non_public_reason(ip)
        if reason and not _allowed_network(ip, policy):
            subject = f"{ip} is" if host == str(ip) else f"{host} resolves to {ip},"
            lists = " or ".join(f"on {s}" for s in (policy.hosts_setting, NETWORKS_SETTING) if s)
            raise OutboundRefused(f"{subject} {reason}; requests to such addresses are refused unless the address "
                                  f"or its network is {lists}")
    return Target(scheme, host, port, ips[0])


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower().rstrip("."), parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return "", "", None


def _pool(target: Target, timeout: float) -> urllib3.HTTPConnectionPool:
    t = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(str(target.address), target.port, timeout=t, retries=False, maxsize=1,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(str(target.address), target.port, timeout=t, retries=False, maxsize=1)


def _host_header(target: Target) -> str:
    shown = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return shown if target.port == default else f"{shown}:{target.port}"


def request(method: str, url: str, *, policy: Policy, headers: dict[str, str] | None = None,
            body: bytes | None = None, timeout: float = 10.0, max_bytes: int = 1_000_000,
            follow_redirects: bool = True, read_body: bool = True) -> Response:
    """Make the request under the rules above (`read_body=False`: the status and headers only).
    Raises OutboundRefused or OutboundError."""
    started = time.monotonic()
    deadline = started + timeout
    redirects = 0
    while True:
        target = check_url(url, policy)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json, text/*;q=0.9, */*;q=0.5",
                **(headers or {}), "Host": _host_header(target)}
        left = deadline - time.monotonic()
        if left <= 0:
            raise OutboundError(f"{method} {url}: no complete response within {timeout:g} s")
        pool = _pool(target, left)
        try:
            resp = pool.urlopen(method, path, body=body, headers=sent, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False)
        except Urllib3Error as exc:
            pool.close()
            raise OutboundError(f"{method} {url}: {type(exc).__name__}: {str(exc)[:200]}") from None
        try:
            location = resp.headers.get("Location")
            if follow_redirects and resp.status in REDIRECTS and location:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise OutboundRefused(f"more than {MAX_REDIRECTS} redirects")
                previous, url = target, urljoin(url, location)
                if resp.status == 303 or (resp.status in (301, 302) and method not in ("GET", "HEAD")):
                    method, body = "GET", None
                    headers = {k: v for k, v in (headers or {}).items() if k.lower() not in BODY_HEADERS}
                if _origin(url) != (previous.scheme, previous.host, previous.port):
                    headers = {k: v for k, v in (headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
                continue
            data = bytearray()
            while read_body:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutboundError(f"{method} {url}: no complete response within {timeout:g} s")
                sock = getattr(resp.connection, "sock", None)
                if sock is not None:
                    sock.settimeout(left)  # a read waits only for what is left: a slow drip cannot stretch it
                chunk = resp.read1(65536, decode_content=True)
                if not chunk:
                    break
                data += chunk
                if len(data) > max_bytes:
                    raise OutboundError(f"the response is larger than {max_bytes} bytes", retryable=False)
        except Urllib3Error as exc:
            raise OutboundError(f"{method} {url}: {type(exc).__name__}: {str(exc)[:200]}") from None
        finally:
            resp.close()  # the socket goes now, also while a traceback still refers to this frame
            pool.close()
        return Response(status=resp.status, headers={k.lower(): v for k, v in resp.headers.items()},
                        body=bytes(data), url=url, redirects=redirects,
                        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                        content_type=resp.headers.get("Content-Type", ""))
