"""The admin and automation API: everything the console does, as JSON under /api/admin/v1, for scripts and
NOUS's other services, with scoped bearer tokens.

Each endpoint module of this package serves one area's collection through the same service functions the
console and the CLI call; `conventions` holds what they share (errors, versions, pages, idempotency, rate
limit) and the `@endpoint` declaration that also documents each operation in /openapi.json; `auth` checks
the tokens. Every module of the package is imported here, and one with an `init_app(app)` has it called
(the tokens' console page and CLI). No cookie is read or written on the API (the session is off for /api/
paths), so there is no CSRF to check, and no CORS header is ever sent.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from flask import Flask

from nous import errors
from nous.adminapi.conventions import CONVERTERS, PREFIX, aliases_bp, bp, render_problem

# The seeds' paths (aliases of the same handlers) answer errors the same way.
PROBLEM_PREFIXES = (PREFIX, "/api/admin/system/", "/api/health/models")


def modules() -> list[ModuleType]:
    """Every module of the package, imported: endpoint modules register their operations on `bp` (and in
    /openapi.json) as they are imported."""
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)]


def init_app(app: Flask) -> None:
    app.url_map.converters.update(CONVERTERS)  # before the rules that use them are added
    for module in modules():
        if hasattr(module, "init_app"):
            module.init_app(app)
    for prefix in PROBLEM_PREFIXES:
        errors.RENDERERS[prefix] = render_problem
    for blueprint in (bp, aliases_bp):
        app.register_blueprint(blueprint)
