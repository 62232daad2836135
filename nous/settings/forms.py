"""Turn console form fields into the raw values the settings registry parses."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from nous import inputs
from nous.settings.registry import Definition

PROBE_FIELDS = ("name", "url", "expect_status", "timeout")


def probe_rows(form: MultiDict) -> list[dict[str, str]]:
    """The probe rows of the settings form (`probe_name`, `probe_url`, … repeated); blank rows dropped."""
    columns = [form.getlist(f"probe_{f}") for f in PROBE_FIELDS]
    rows = []
    for i in range(max(len(c) for c in columns)):
        row = {f: (c[i].strip() if i < len(c) else "") for f, c in zip(PROBE_FIELDS, columns, strict=True)}
        if any(row.values()):
            rows.append(row)
    return rows


def setting_input(definition: Definition, form: MultiDict) -> Any:
    """What the setting's typed input sent: a switch (a hidden "false" then the box's "true"), list rows
    (one `value` per row, blank rows dropped), probe rows, or one text."""
    if definition.kind == "bool":
        return "true" if "true" in form.getlist("value") else "false"
    if definition.kind == "probes" and "probe_url" in form:
        return [{k: v for k, v in row.items() if v or k in ("name", "url")} for row in probe_rows(form)]
    raw = form.get("value", "")
    if definition.kind == "probes":
        try:
            return inputs.loads(raw or "[]")
        except ValueError:
            return raw  # the parser explains what is wrong
    if definition.is_list:
        return [v.strip() for v in form.getlist("value") if v.strip()]
    return raw


def display_value(value: Any, kind: str) -> str:
    if kind == "probes":
        return json.dumps(value, indent=2)
    if isinstance(value, list):
        return "\n".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
