"""Checks of an address and a role."""

from __future__ import annotations

import pytest

from nous.testers import service as testers


@pytest.mark.parametrize("raw, expected", [
    ("Ada@Example.COM", "ada@example.com"),
    ("  bruno@example.org ", "bruno@example.org"),
    ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_normalize_email_accepts_and_lowercases(raw: str, expected: str) -> None:
    assert testers.normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "no-at-sign", "a@b", "a@@example.com", ".a@example.com", "a..b@example.com",
                                 "a b@example.com", "ada@exa mple.com", "ada@-example.com", "ädä@example.com",
                                 "x" * 65 + "@example.com", "<script>@example.com", None, 42])
def test_normalize_email_refuses(raw: object) -> None:
    with pytest.raises(testers.TesterError) as exc:
        testers.normalize_email(raw)
    assert exc.value.field == "email"


def test_bad_role_is_refused(ctx) -> None:
    with pytest.raises(testers.TesterError) as exc:
        testers.add("ada@example.com", actor="a", role="root")
    assert exc.value.field == "role"
