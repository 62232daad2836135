"""`data.validate`: check a value against a JSON Schema (Draft 2020-12)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from nous.workflows.handlers import StepContext, StepError, handler

MAX_ERRORS = 20


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the value)"


@handler(
    "data.validate",
    "Checks `data` against a JSON Schema; fails the step when invalid (or only reports, with "
    "fail_on_invalid: false).",
    params={"data": {}, "schema": {"type": ["object", "boolean"]},
            "fail_on_invalid": {"type": "boolean", "default": True}},
    required=["data", "schema"],
    example={"data": "${{ feedback }}", "schema": {"type": "object", "required": ["email"]}},
)
def validate(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    schema = params["schema"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise StepError(f"the schema itself is invalid: {exc.message}", retryable=False) from None
    validator = Draft202012Validator(schema)
    errors = [{"path": _where(e.absolute_path), "message": e.message[:300]}
              for e in sorted(validator.iter_errors(params["data"]), key=lambda e: list(map(str, e.absolute_path)))]
    result = {"valid": not errors, "errors": errors[:MAX_ERRORS], "error_count": len(errors)}
    if errors and params.get("fail_on_invalid", True):
        first = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
        raise StepError(f"invalid: {first}" + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""),
                        retryable=False)
    return result
