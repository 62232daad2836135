"""Example workflows shipped with the console, and `seed_examples()` for `flask nous seed-demo`."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def seed_examples(actor: str = "system:seed-demo") -> list[tuple[str, str]]:
    """Create the example workflows that do not exist yet (matched by name; existing ones are left
    as the admin made them). Returns (name, "created" | "exists") per example."""
    from nous.workflows import schema, service

    out = []
    for path in example_files():
        text = path.read_text(encoding="utf-8")
        doc = schema.parse(text, "yaml")
        if service.by_name(doc.definition["name"]) is not None:
            out.append((doc.definition["name"], "exists"))
            continue
        wf = service.create(text, actor, fmt="yaml", enabled=True)
        out.append((wf.name, "created"))
    return out
