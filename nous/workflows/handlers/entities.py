"""`text.extract_entities`: email addresses, URLs, version numbers and error codes in a text."""

from __future__ import annotations

import re
from typing import Any

from nous.workflows.handlers import StepContext, handler

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
URL = re.compile(r"\bhttps?://[^\s<>\"'`]{1,2000}", re.IGNORECASE)
URL_TRAILING = ".,;:!?)]}'\""
# 1.2, v1.2.3, 2.0.0-beta.1, 3.4.5+build7 — not part of a longer dotted number (an IP address).
VERSION = re.compile(r"(?<![\w.])v?\d{1,5}\.\d{1,5}(?:\.\d{1,7})?(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?"
                     r"(?:\+[0-9A-Za-z.]+)?(?![\w]|\.\d)")
ERROR_CODES = (
    re.compile(r"\b(?:E|ERR|ERROR)[-_]?\d{2,6}\b"),  # E1234, ERR-42, ERROR_500
    re.compile(r"\bERR_[A-Z0-9_]{3,60}\b"),  # ERR_CONNECTION_REFUSED
    re.compile(r"\b[A-Z]{2,6}-\d{3,6}\b"),  # ORA-00942, SQL-1045, NSURL-1001
    re.compile(r"\b0x[0-9A-Fa-f]{6,16}\b"),  # 0x80070005
    re.compile(r"\b[A-Z][A-Za-z]{2,40}(?:Error|Exception)\b"),  # TypeError, NullPointerException
)
HTTP_STATUS = re.compile(r"\b(?:HTTP|status|error|code)\s*:?\s*([45]\d\d)\b", re.IGNORECASE)


def _unique(items: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
        if len(out) >= limit:
            break
    return out


def extract(text: str, limit: int = 50) -> dict[str, Any]:
    """The entities found in `text` (pure), each list without duplicates and in order of appearance."""
    text = text or ""
    urls = [m.group(0).rstrip(URL_TRAILING) for m in URL.finditer(text)]
    emails = [m.group(0) for m in EMAIL.finditer(text)]
    # versions and codes are looked for outside URLs and addresses ("/v2.1/" in a link is not a report)
    masked = URL.sub(lambda m: " " * len(m.group(0)), text)
    masked = EMAIL.sub(lambda m: " " * len(m.group(0)), masked)
    versions = [m.group(0) for m in VERSION.finditer(masked)]
    codes: list[tuple[int, str]] = []
    for pattern in ERROR_CODES:
        codes.extend((m.start(), m.group(0)) for m in pattern.finditer(masked))
    codes.extend((m.start(), f"HTTP {m.group(1)}") for m in HTTP_STATUS.finditer(masked))
    result = {
        "emails": _unique(emails, limit),
        "urls": _unique(urls, limit),
        "versions": _unique(versions, limit),
        "error_codes": _unique([c for _, c in sorted(codes)], limit),
    }
    result["counts"] = {k: len(v) for k, v in result.items()}
    return result


@handler(
    "text.extract_entities",
    "Finds email addresses, URLs, version numbers and error codes (E1234, ERR_…, ORA-00942, 0x8007…, "
    "…Error/…Exception, HTTP 5xx) in a text.",
    params={"text": {"type": ["string", "null"], "maxLength": 100000},
            "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
    required=["text"],
    example={"text": "${{ feedback.message }}"},
)
def extract_entities(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    return extract(params.get("text") or "", int(params.get("limit", 50)))
