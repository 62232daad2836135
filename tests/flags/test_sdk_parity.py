"""The official Unleash Python SDK and NOUS give the same answer on edge inputs, always.

Flags for every operator (with and without `caseInsensitive`, plain and inverted) and every strategy
are made through the service, served by a live server on /api/client/features and read by the
official Python SDK; both answer for generated contexts full of edge values: spaces around values,
empty strings, non-ASCII ids, IPv4-mapped IPv6 addresses, numbers and versions past 2^64, dates with
and without a zone. The disagreements are counted: there must be none.

Where the two official SDKs (Python, Node) disagree with each other, NOUS follows the client
specification; where it is silent, the choice is written beside the code (nous/flags/engine). One such
choice stays out of the contexts here: an id given as "" (userId, sessionId, a stickiness field) is
no id for NOUS and Node (rollouts fall back to the next id, then random), while the Python SDK hashes
the empty string.
"""

from __future__ import annotations

import random
import time

import pytest

from nous import flags
from nous.flags.engine import OPERATORS
from tests.support.live import LiveServer

unleash = pytest.importorskip("UnleashClient")

CONSTRAINT_FIELDS = {"IN": "plan", "NOT_IN": "plan", "STR_CONTAINS": "plan", "STR_STARTS_WITH": "plan",
                     "STR_ENDS_WITH": "plan", "REGEX": "plan", "IN_CIDR": "remoteAddress", "NUM": "n",
                     "DATE": "d", "SEMVER": "v"}
LIST_VALUES = {"IN": ["pro", "Team", "çé", "用户"], "NOT_IN": ["pro", "Team", "çé"], "STR_CONTAINS": ["ro", "É"],
               "STR_STARTS_WITH": ["PR", "ç"], "STR_ENDS_WITH": ["am", "户"],
               "IN_CIDR": ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7", "172.16.0.0/255.240.0.0"]}
SINGLE_VALUES = {"NUM": "5", "DATE": "2024-06-01T00:00:00.000Z", "SEMVER": "2.1.0", "REGEX": "^[a-z]+$"}

STRATEGY_FLAGS: dict[str, dict] = {
    "s.remote": {"strategies": [{"name": "remoteAddress", "parameters": {
        "IPs": "10.0.0.0/8, 192.168.1.7,2001:db8::/32 ,172.16.0.0/255.240.0.0"}}]},
    "s.user-ids": {"strategies": [{"name": "userWithId", "parameters": {
        "userIds": "u1, ü2,用户3, 99999999999999999999"}}]},
    "s.rollout": {"strategies": [{"name": "flexibleRollout", "parameters": {
        "rollout": "50", "stickiness": "default", "groupId": "s.rollout"}}]},
    "s.rollout-tenant": {"strategies": [{"name": "flexibleRollout", "parameters": {
        "rollout": "30", "stickiness": "tenant", "groupId": "s.rollout-tenant"}}]},
    "s.gradual-user": {"strategies": [{"name": "gradualRolloutUserId", "parameters": {
        "percentage": "40", "groupId": "s.gradual-user"}}]},
    "s.gradual-session": {"strategies": [{"name": "gradualRolloutSessionId", "parameters": {
        "percentage": "60", "groupId": "s.gradual-session"}}]},
    "s.variants": {"strategies": [{"name": "default"}], "variants": [
        {"name": "a", "weight": 500, "stickiness": "default"}, {"name": "b", "weight": 500, "stickiness": "default"}]},
}

# edge values: spaces, empty strings, letter case, non-ASCII, mapped IPv6, huge numbers and versions
USER_IDS = ["u1", "ü2", "用户3", "😊", " u1", "u1 ", "U1", "99999999999999999999", "x" * 80,
            *(f"user-{i}" for i in range(8))]
ADDRESSES = ["10.1.2.3", " 10.1.2.3", "10.1.2.3 ", "::ffff:10.1.2.3", "::ffff:192.168.1.7", "192.168.1.7",
             "2001:db8::9", "2001:DB8::9", "172.20.1.1", "172.32.0.1", "8.8.8.8", "", "not-an-ip", "fe80::1%eth0",
             "010.1.2.3"]
PLANS = ["pro", "PRO", "Pro", " pro", "pro ", "", "çé", "ÇÉ", "team", "Team", "用户", "x", "prom"]
NUMBERS = ["5", " 5", "5 ", "5.0", "+5", "1e3", "99999999999999999999", "1e400", "", "-1", "abc", "١٢", "inf", "NaN",
           "0x10", "1_000"]
DATES = ["2024-07-01T00:00:00Z", "2024-05-01T00:00:00.000+02:00", " 2024-07-01T00:00:00Z", "2024-07-01",
         "2024-07-01T00:00:00", "", "2024-06-01 00:00:01z", "2024-06-01T02:00:00+0200", "yesterday"]
VERSIONS = ["2.1.0", "2.0.9", "2.1.0-rc.1", "2.1.1", "99999999999999999999.0.0", "18446744073709551615.0.0",
            " 2.1.0", "2.1.0 ", "v2.1.0", "", "١.٢.٣", "02.1.0", "2.1.0+build.7"]


def parity_flags() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for op in sorted(OPERATORS):
        family = op if op in CONSTRAINT_FIELDS else op.split("_")[0]
        for ci in (False, True):
            for inverted in (False, True):
                constraint = {"contextName": CONSTRAINT_FIELDS[family], "operator": op, "caseInsensitive": ci,
                              "inverted": inverted}
                if family in LIST_VALUES:
                    constraint["values"] = LIST_VALUES[family]
                else:
                    constraint["value"] = SINGLE_VALUES[family]
                    if op == "SEMVER_LT":
                        constraint["value"] = "2.1.0-rc.2"
                key = f"c.{op.lower()}{'.ci' if ci else ''}{'.not' if inverted else ''}"
                out[key] = {"strategies": [{"name": "flexibleRollout", "constraints": [constraint], "parameters": {
                    "rollout": "100", "stickiness": "default", "groupId": key}}]}
    return {**out, **STRATEGY_FLAGS}


def parity_contexts(n: int = 300, seed: int = 17) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        props = {"plan": PLANS[i % len(PLANS)], "n": rnd.choice(NUMBERS), "d": rnd.choice(DATES),
                 "v": VERSIONS[i % len(VERSIONS)], "tenant": f"t{rnd.randrange(40)}"}
        out.append({"userId": USER_IDS[i % len(USER_IDS)], "sessionId": f"s{rnd.randrange(10**6)}",
                    "remoteAddress": ADDRESSES[i % len(ADDRESSES)], "environment": "production",
                    "properties": props})
    return out


def test_the_official_sdk_and_nous_never_disagree_on_edge_inputs(app, ctx, make_flag, token, tmp_path) -> None:
    definitions = parity_flags()
    for key, spec in definitions.items():
        make_flag(key, enabled=True, strategies=spec["strategies"], variants=spec.get("variants", []))
    server = LiveServer(app)
    client = unleash.UnleashClient(url=f"{server.url}/api", app_name="sdk-parity", instance_id="test-parity",
                                   environment="production", custom_headers={"Authorization": token},
                                   refresh_interval=60, disable_metrics=True, disable_registration=True,
                                   cache_directory=str(tmp_path))
    try:
        client.initialize_client()
        deadline = time.monotonic() + 10
        while not client.is_enabled("s.variants", {}) and time.monotonic() < deadline:
            time.sleep(0.1)
        disagreements = []
        answers: dict[str, set] = {key: set() for key in definitions}
        contexts = parity_contexts()
        for c in contexts:
            for key in definitions:
                ours = (flags.is_enabled(key, c), flags.get_variant(key, c)["name"])
                theirs = (client.is_enabled(key, c), client.get_variant(key, c)["name"])
                answers[key].add(ours[0])
                if ours != theirs:
                    disagreements.append((key, c, ours, theirs))
    finally:
        client.destroy()
        server.stop()
    assert len(disagreements) == 0, (len(disagreements), sorted({d[0] for d in disagreements}), disagreements[:3])
    assert len(contexts) * len(definitions) > 20_000
    two_sided = [key for key, seen in answers.items() if seen == {True, False}]
    assert len(two_sided) >= len(definitions) - 4, sorted(set(definitions) - set(two_sided))
