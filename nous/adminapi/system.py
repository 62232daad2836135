"""/api/admin/v1/system: integration status, the health document, the external probes (the seeds' "model
health") and the database report — the console's System page, through the same functions."""

from __future__ import annotations

from typing import Any

from flask import Response

from nous import inputs
from nous.admin import system as console_system
from nous.adminapi.conventions import Problem, endpoint, param, respond, schemas
from nous.dbmonitor import service as dbmonitor
from nous.extensions import get_redis
from nous.health import service as health
from nous.settings import service as settings

_CHECK = {"$ref": "#/components/schemas/HealthCheck"}


@endpoint("GET", "/system/integrations", scope="system:read", tag="system", summary="Integration status",
          description="What this console is connected to (database, Redis, workers, SMTP, the sign-in provider, "
                      "each probe) and how well: `pass`, `warn` or `fail` with a line of detail.",
          response="IntegrationList")
def integration_status() -> Response:
    return respond({"items": console_system.integrations()})


@endpoint("GET", "/system/health", scope="system:read", tag="system", summary="Every health check, in detail",
          description="The IETF health-check document of /health/detailed, always with its details.",
          response=_CHECK)
def health_detail() -> Response:
    return respond(health.detailed())


def probe_json(probe: dict[str, Any], checks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    result = (checks.get(f"probe:{probe['name']}:responseTime") or [{}])[0]
    return {"name": probe["name"], "url": probe["url"], "expect_status": probe.get("expect_status", 200),
            "status": result.get("status", "warn"), "response_ms": result.get("observedValue"),
            "output": result.get("output") or None, "time": result.get("time")}


@endpoint("GET", "/system/probes", scope="system:read", tag="system", summary="External probes",
          description="Each URL NOUS depends on (a model or API endpoint; the `health.probes` setting), checked "
                      "a few seconds ago at most.", response="ProbeList")
def list_probes() -> Response:
    checks = health.detailed()["checks"]
    return respond({"items": [probe_json(p, checks) for p in settings.get("health.probes")]})


@endpoint("GET", "/system/probes/<name>", scope="system:read", tag="system", summary="One external probe",
          response="Probe")
def get_probe(name: str) -> Response:
    probe = next((p for p in settings.get("health.probes") if p["name"] == name), None)
    if probe is None:
        raise Problem(404, "No probe has this name.")
    return respond(probe_json(probe, health.detailed()["checks"]))


@endpoint("GET", "/system/database", scope="system:read", tag="system", summary="Database report",
          description="Pool, statement statistics by type, the slowest statements with plans and index "
                      "suggestions: System › Database and `flask nous db report`.",
          query=[param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20})],
          response={"type": "object", "required": ["dialect", "pool"]})
def database_report() -> Response:
    return respond(dbmonitor.report(get_redis(), limit=inputs.arg_int("limit", 20, 1, 200) or 20))


_STATUS = {"enum": ["pass", "warn", "fail"]}
schemas(
    Integration={"type": "object", "required": ["name", "status"], "properties": {
        "name": {"type": "string"}, "status": _STATUS, "detail": {"type": ["string", "null"]}}},
    IntegrationList={"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Integration"}}},
        "example": {"items": [{"name": "Database", "status": "pass", "detail": "postgresql · nous · 1.2 ms"},
                              {"name": "Probe model-api", "status": "warn", "detail": "answered 503, expected 200"}]}},
    Probe={"type": "object", "required": ["name", "url", "status"], "properties": {
        "name": {"type": "string"}, "url": {"type": "string"}, "expect_status": {"type": "integer"},
        "status": _STATUS, "response_ms": {"type": ["number", "null"]}, "output": {"type": ["string", "null"]},
        "time": {"type": ["string", "null"]}},
        "example": {"name": "model-api", "url": "https://models.example.com/health", "expect_status": 200,
                    "status": "pass", "response_ms": 84.2, "output": None, "time": "2026-12-06T07:00:00Z"}},
    ProbeList={"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Probe"}}}},
)
