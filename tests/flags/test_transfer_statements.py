"""What an import asks the database: the environments are read a fixed number of times per import, not once
per flag it creates."""

from __future__ import annotations

from typing import Any

from nous.flags import service
from tests.support.sql import statements

ACTOR = "admin@nous.test"


def _import(prefix: str, n: int, full: bool = False, **kwargs: Any) -> tuple[int, int]:
    """(statements, statements reading the environments) of importing `n` new flags, in a one-environment
    document or (`full`) in Unleash's full export switching each on in development."""
    keys = [f"{prefix}.{i:03d}" for i in range(n)]
    doc: dict[str, Any] = {"version": 2, "environment": "production", "segments": [],
                           "features": [{"name": k, "enabled": i % 2 == 0, "strategies": [{"name": "default"}]}
                                        for i, k in enumerate(keys)]}
    if full:
        envs = ("development", "staging", "production")
        doc = {"version": 4, "environments": [{"name": e} for e in envs], "features": [{"name": k} for k in keys],
               "featureEnvironments": [{"featureName": k, "environment": e,
                                        "enabled": e == "development" and i % 2 == 0}
                                       for i, k in enumerate(keys) for e in envs],
               "featureStrategies": [{"featureName": k, "environment": e, "name": "default"} for k in keys
                                     for e in envs]}
    with statements() as seen:
        report = service.import_document(doc, actor=ACTOR, **kwargs)
    assert len(report.created) == n
    return len(seen), sum("flag_environments" in s for s in seen)


def test_an_import_reads_the_environments_once_not_per_flag(ctx) -> None:
    _one, one_env = _import("one", 1)
    _many, many_env = _import("many", 40)
    assert many_env == one_env, (one_env, many_env)  # not one more read of the environments per flag
    _one, one_env = _import("into-one", 1, environment="staging")
    _many, many_env = _import("into-many", 40, environment="staging")
    assert many_env == one_env, (one_env, many_env)
    _one, one_env = _import("full-one", 1, full=True)
    _many, many_env = _import("full-many", 40, full=True)
    assert many_env == one_env, (one_env, many_env)
    # every environment has each new flag: switched as the document says where it goes, off elsewhere
    for env in ("development", "staging", "production"):
        assert service.get_flag("many.002", environment=env).enabled is (env == "production")
        assert service.get_flag("into-many.002", environment=env).enabled is (env == "staging")
        assert service.get_flag("full-many.002", environment=env).enabled is (env == "development")
        assert service.get_flag("full-many.002", environment=env).strategies == [{"name": "default"}]
