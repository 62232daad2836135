"""Shared by the workflow document tests: the problems a document is refused with."""

from __future__ import annotations

import textwrap

import pytest

from nous.workflows import schema


def problems(text: str, fmt: str | None = None) -> list[schema.Problem]:
    with pytest.raises(schema.DocumentInvalid) as info:
        schema.parse(textwrap.dedent(text), fmt)
    return info.value.problems
