"""Example workflows shipped with the console, and `seed_examples()` for `flask nous seed-demo`."""

from __future__ import annotations

from pathlib import Path

from nous.workflows import schema, service

EXAMPLES_DIR = Path(__file__).resolve().parent


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def seed_examples(actor: str = "system:seed-demo") -> list[tuple[str, str]]:
    """Create the example workflows that do not exist yet (matched by name; existing ones are left
    as the admin made them). Safe to run again, and at the same time from two processes.

    Returns (name, "created" | "exists" | "refused: <why>") per example: an example this
    installation cannot accept (a handler it lacks) is reported, never raised."""
    out = []
    for path in example_files():
        text = path.read_text(encoding="utf-8")
        try:
            doc = schema.parse(text, "yaml")
        except schema.DocumentInvalid as exc:
            out.append((path.stem, f"refused: {exc}"))
            continue
        name = doc.definition["name"]
        if service.by_name(name) is not None:
            out.append((name, "exists"))
            continue
        try:
            service.create(text, actor, fmt="yaml", enabled=True)
        except schema.DocumentInvalid:
            if service.by_name(name) is None:
                raise  # not a race with another seed: the document itself is at fault
            out.append((name, "exists"))  # another process created it a moment ago
            continue
        out.append((name, "created"))
    return out
