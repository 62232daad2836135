"""Moving to environments changes nothing: the demo flags, stored at the revision before environments
(0011) with a client token of that time, answer 10,000 generated contexts after the upgrade exactly
as they did before — through `POST /api/flags/evaluate` with the old token (now a production token)
and through `/api/client/features` read by the official Unleash Python SDK. "Before" is the engine
fed the stored rows the way the flag cache read them at that revision.

The test database is taken down to 0011 and back up to the head (the migration's downgrade and
upgrade both run), inside try/finally so the session's database always ends at the head."""

from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from nous.extensions import db
from nous.flags.demo import demo_flags
from nous.flags.engine import Engine
from nous.settings import service as settings
from tests.support.live import LiveServer

unleash = pytest.importorskip("UnleashClient")

BEFORE = "0011"
CONTEXTS = 10_000
LEGACY_TOKEN = "nous_" + "a" * 43
OLD_FLAGS = sa.table(
    "flags", sa.column("key", sa.String), sa.column("description", sa.Text), sa.column("type", sa.String),
    sa.column("enabled", sa.Boolean), sa.column("strategies", sa.JSON), sa.column("variants", sa.JSON),
    sa.column("dependencies", sa.JSON), sa.column("archived", sa.Boolean),
    sa.column("enable_at", sa.DateTime(timezone=True)), sa.column("disable_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("updated_by", sa.String))
OLD_TOKENS = sa.table(
    "flag_client_tokens", sa.column("name", sa.String), sa.column("token_hash", sa.String),
    sa.column("prefix", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("created_by", sa.String))


def generated_contexts(n: int, seed: int = 12) -> list[dict]:
    """Contexts like the demo's callers send: ids, office and other addresses, app versions, plans."""
    rnd = random.Random(seed)
    versions = ["2.3.9", "2.4.0", "2.4.1", "2.10.0", "3.0.0-beta.1", "1.9.9", "", "v2.4.0"]
    plans = ["free", "pro", "team", "PRO", "", "enterprise"]
    out = []
    for i in range(n):
        address = rnd.choice([f"10.20.{rnd.randrange(256)}.{rnd.randrange(256)}", "192.0.2.10", "192.0.2.11",
                              f"10.{rnd.randrange(256)}.0.1", "8.8.8.8", ""])
        context: dict = {"userId": f"tester-{rnd.randrange(10**6)}", "sessionId": f"s{i}",
                         "remoteAddress": address, "environment": rnd.choice(["production", "staging"]),
                         "properties": {"appVersion": rnd.choice(versions), "plan": rnd.choice(plans)}}
        if i % 17 == 0:
            del context["userId"]
        out.append(context)
    return out


def _seed_before(now: datetime) -> list[dict]:
    """The demo flags and a token written as the schema before environments stores them."""
    rows = []
    for d in demo_flags(now):
        rows.append({"key": d["key"], "description": d["description"], "type": d["type"],
                     "enabled": d["enabled"], "strategies": d.get("strategies", []), "variants": d.get("variants", []),
                     "dependencies": d.get("dependencies", []), "archived": False,
                     "enable_at": datetime.fromisoformat(d["enable_at"]) if d.get("enable_at") else None,
                     "disable_at": None, "version": 1, "created_at": now, "updated_at": now, "updated_by": "seed"})
    with db.engine.begin() as conn:
        conn.execute(OLD_FLAGS.insert(), rows)
        conn.execute(OLD_TOKENS.insert(), [{"name": "legacy", "prefix": LEGACY_TOKEN[:12], "created_at": now,
                                            "created_by": "seed",
                                            "token_hash": hashlib.sha256(LEGACY_TOKEN.encode()).hexdigest()}])
    return rows


def _answers_before(rows: list[dict], contexts: list[dict]) -> list[dict]:
    """What the flag cache at 0011 compiled from these rows, answered for each context."""
    engine = Engine([{"name": r["key"], "enabled": r["enabled"], "strategies": r["strategies"],
                      "variants": r["variants"], "dependencies": r["dependencies"]} for r in rows], [])
    return [{k: (v["enabled"], v["variant"]["name"]) for k, v in engine.evaluate_all(c).items()} for c in contexts]


def test_the_move_to_environments_changes_no_answer(app, ctx, tmp_path) -> None:
    contexts = generated_contexts(CONTEXTS)
    db.session.remove()
    downgrade(revision=BEFORE)
    try:
        before = _answers_before(_seed_before(datetime.now(UTC)), contexts)
    finally:
        upgrade(revision="heads")
    app.extensions["nous.flags"].reset()

    states = db.session.execute(sa.text("SELECT f.key, s.environment, s.enabled FROM flag_states s "
                                        "JOIN flags f ON f.id = s.flag_id")).all()
    on_where = {(k, e) for k, e, on in states if on}
    assert {e for _k, e in on_where} == {"production"}  # development and staging start switched off
    assert len(states) == 3 * len(demo_flags())

    settings.set_value("api.rate_limit", "1000000/minute", actor="test")  # 10,000 requests in a row
    client = app.test_client()
    headers = {"Authorization": LEGACY_TOKEN}
    through_api = []
    for c in contexts:
        resp = client.post("/api/flags/evaluate", json=c, headers=headers)
        assert resp.status_code == 200
        through_api.append({k: (v["enabled"], v["variant"]["name"]) for k, v in resp.get_json()["flags"].items()})
    features = client.get("/api/client/features", headers=headers).get_json()
    assert features["query"]["environment"] == "production"

    server = LiveServer(app)
    sdk = unleash.UnleashClient(url=f"{server.url}/api", app_name="migration-check", instance_id="m-1",
                                custom_headers=headers, refresh_interval=60, disable_metrics=True,
                                disable_registration=True, cache_directory=str(tmp_path))
    try:
        sdk.initialize_client()
        deadline = time.monotonic() + 10
        while not sdk.is_enabled("search.semantic-backend", {}) and time.monotonic() < deadline:
            time.sleep(0.05)
        through_sdk = [{k: (sdk.is_enabled(k, c), sdk.get_variant(k, c)["name"]) for k in answers}
                       for c, answers in zip(contexts, before, strict=True)]
    finally:
        sdk.destroy()
        server.stop()

    differ_api = [(c, b, a) for c, b, a in zip(contexts, before, through_api, strict=True) if a != b]
    differ_sdk = [(c, b, a) for c, b, a in zip(contexts, before, through_sdk, strict=True) if a != b]
    assert differ_api == [] and differ_sdk == [], json.dumps((differ_api[:2], differ_sdk[:2]), default=str)
    seen = {k: {answers[k] for answers in before} for k in before[0]}
    assert len(before) == CONTEXTS and len(seen) == len(demo_flags())
    assert sum(1 for s in seen.values() if len(s) > 1) >= 4  # a real mix, not one answer per flag
