"""Text checks every area shares: inert stored text and email address syntax."""

from __future__ import annotations

import re

# RFC 5321 dot-atom local part and LDH host labels, ASCII only.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_LOCAL})@(?:{_LABEL}\.)+{_LABEL}")
MAX_EMAIL = 320
# NUL, other C0 controls but tab/CR/LF, DEL and lone surrogates become U+FFFD: text stays inert (no
# terminal escapes in a CLI listing, nothing PostgreSQL refuses) and keeps its length.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str) -> str:
    return _UNSAFE.sub("\ufffd", value)


def is_email(value: str) -> bool:
    m = _EMAIL.fullmatch(value)
    return bool(m) and len(value) <= MAX_EMAIL and len(m.group("local")) <= 64
