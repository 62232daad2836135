"""The seeds' paths (the API the first NOUS documents described) as documented aliases of the v1 handlers:
the same view, scope, rate limit and answers, listed in /openapi.json with "Alias of …"."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from nous import openapi
from nous.adminapi import email, jobs, settings, system, workflows
from nous.adminapi.conventions import PREFIX, aliases_bp, rule_with_ids

SYSTEM = "/api/admin/system"

# (method, seed path, the v1 handler); path parameters carry the handler's names.
SEEDS: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("GET", f"{SYSTEM}/jobs", jobs.list_jobs),
    ("GET", f"{SYSTEM}/jobs/statistics", jobs.job_statistics),
    ("POST", f"{SYSTEM}/jobs/create", jobs.start_job),
    ("POST", f"{SYSTEM}/jobs/<job_id>/cancel", jobs.cancel_job),
    ("POST", f"{SYSTEM}/jobs/<job_id>/retry", jobs.retry_job),
    ("GET", f"{SYSTEM}/config", settings.list_settings),
    ("PUT", f"{SYSTEM}/config", settings.import_settings),
    ("GET", f"{SYSTEM}/config/history", settings.settings_history),
    ("POST", f"{SYSTEM}/config/validate", settings.validate_settings),
    ("GET", f"{SYSTEM}/workflows", workflows.list_workflows),
    ("POST", f"{SYSTEM}/workflows", workflows.create_workflow),
    ("GET", f"{SYSTEM}/workflows/<int:workflow_id>", workflows.get_workflow),
    ("POST", f"{SYSTEM}/workflows/<int:workflow_id>/execute", workflows.run_workflow),
    ("GET", f"{SYSTEM}/workflows/executions", workflows.list_workflow_runs),
    ("GET", f"{SYSTEM}/email/status", email.email_status),
    ("POST", f"{SYSTEM}/email/test", email.send_test_email),
    ("GET", f"{SYSTEM}/email/configure", email.email_configuration),
    ("GET", f"{SYSTEM}/integration-status", system.integration_status),
    ("GET", "/api/health/models", system.list_probes),
    ("GET", "/api/health/models/<name>", system.get_probe),
)
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _operation(view: Callable[..., Any]) -> tuple[str, str, dict[str, Any]]:
    """The v1 method, path and OpenAPI operation of a handler (by its operationId)."""
    for path, ops in openapi.document()["paths"].items():
        for method, op in ops.items():
            if op.get("operationId") == view.__name__ and path.startswith(PREFIX):
                return method.upper(), path, op
    raise LookupError(f"{view.__name__} is not a documented admin API operation")


def alias(method: str, rule: str, view: Callable[..., Any]) -> None:
    """Serve `view` at `rule` too, and document it as an alias of its v1 operation."""
    aliases_bp.add_url_rule(rule_with_ids(rule), endpoint=f"seed_{view.__name__}_{method.lower()}", view_func=view,
                            methods=[method])
    v1_method, v1_path, v1_op = _operation(view)
    op = copy.deepcopy(v1_op)
    op["operationId"] = f"{view.__name__}Seed{method.title()}"
    op["description"] = f"{op.get('description', '')}\n\nAlias of `{v1_method} {v1_path}` (the seeds' path).".strip()
    op["tags"] = [*op.get("tags", []), "seed paths"]
    openapi.register({_PARAM.sub(r"{\1}", rule): {method.lower(): op}})


for _method, _rule, _view in SEEDS:
    alias(_method, _rule, _view)
