"""`http.request`: call an allow-listed host through the outbound guard (`nous.outbound`).

The host must be on the setting `workflows.http_allowed_hosts` (a name, `*.example.com`, an IP or a
network); its addresses must be public unless listed there as an IP or network, or on
`outbound.allowed_networks`. Redirects are followed only through the same checks; the response is
read up to a size cap within the timeout.
"""

from __future__ import annotations

import json
from typing import Any

from nous import outbound
from nous.settings import service as settings
from nous.workflows.handlers import StepContext, StepError, handler

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
HOSTS_SETTING = "workflows.http_allowed_hosts"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
DEFAULT_MAX_BYTES = 1_000_000
MAX_BYTES = 5_000_000
KEPT_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified", "retry-after", "date")


class Refused(StepError):
    """The guard refused the request (never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def request(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
            timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
            follow_redirects: bool = True) -> dict[str, Any]:
    """The request under the step's policy; the response as plain data, or a StepError."""
    policy = outbound.Policy.current(settings.get(HOSTS_SETTING), hosts_setting=HOSTS_SETTING)
    try:
        resp = outbound.request(method, url, policy=policy, headers=headers, body=body, timeout=timeout,
                                max_bytes=max_bytes, follow_redirects=follow_redirects)
    except outbound.OutboundRefused as exc:
        raise Refused(str(exc)) from None
    except outbound.OutboundError as exc:
        raise StepError(str(exc), retryable=exc.retryable) from None
    return _result(resp)


def _result(resp: outbound.Response) -> dict[str, Any]:
    ctype, data = resp.content_type, resp.body
    out: dict[str, Any] = {
        "status": resp.status, "ok": 200 <= resp.status < 300, "url": resp.url, "redirects": resp.redirects,
        "headers": {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers},
        "bytes": len(data), "elapsed_ms": resp.elapsed_ms,
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
    "only when their address is listed there or on outbound.allowed_networks). Timeout, size cap, "
    "redirects re-checked.",
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
    headers = dict(params.get("headers") or {})
    body: bytes | None = None
    if "json" in params and params["json"] is not None:
        body = json.dumps(params["json"], ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json")
    elif params.get("body") is not None:
        body = params["body"].encode()
    timeout = min(float(params.get("timeout", DEFAULT_TIMEOUT)), max(0.5, ctx.timeout))
    method = params.get("method", "GET")
    result = request(method, params["url"], headers=headers, body=body, timeout=timeout,
                     max_bytes=int(params.get("max_bytes", DEFAULT_MAX_BYTES)),
                     follow_redirects=bool(params.get("follow_redirects", True)))
    status = result["status"]
    if params.get("fail_on_status", True) and status >= 400:
        raise StepError(f"{method} {result['url']} answered {status}",
                        retryable=status >= 500 or status in (408, 429))
    return result
