"""Turn console form fields into the raw values the settings registry parses."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from nous import inputs
from nous.settings.registry import Definition


def setting_input(definition: Definition, form: MultiDict) -> Any:
    raw = form.get("value", "")
    if definition.kind == "probes":
        try:
            return inputs.loads(raw or "[]")
        except ValueError:
            return raw  # the parser explains what is wrong
    return raw


def display_value(value: Any, kind: str) -> str:
    if kind == "probes":
        return json.dumps(value, indent=2)
    if isinstance(value, list):
        return "\n".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
