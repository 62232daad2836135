"""The official Unleash Node SDK (npm unleash-client, pinned in tests/support/unleash) against this server over
HTTP, in delta-polling mode (`experimentalMode: {type: 'polling', format: 'delta'}`: it hydrates, sees a change,
a removal and a segment change) and in streaming mode (`{type: 'streaming'}`: each change seen within a
second), answering as `nous.flags` does."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nous import flags
from nous.flags import delta, service
from tests.support.live import LiveServer

SDK_DIR = Path(__file__).resolve().parents[1] / "support" / "unleash"
INTERVAL_MS = 200
#: The stream sends a change within a second (each process looks at the flags version four times a second);
#: the tests allow two, since CI runs two whole suites at once on two cores and a busy scheduler is not the
#: stream's doing. A stream that does not pass changes on still fails them.
SEEN_WITHIN_MS = 2000

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")


class NodeSdk:
    """tests/support/unleash/client.mjs: one JSON request a line in, one answer a line out."""

    def __init__(self, url: str, token: str, mode: str) -> None:
        if not (SDK_DIR / "node_modules").exists():
            subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=SDK_DIR, check=True)
        self.proc = subprocess.Popen(["node", "client.mjs", f"{url}/api", token, mode, str(INTERVAL_MS)],
                                     cwd=SDK_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next_id = 0
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def ask(self, **request) -> dict:
        self.next_id += 1
        self.proc.stdin.write(json.dumps({"id": self.next_id, **request}) + "\n")
        self.proc.stdin.flush()
        while True:
            line = json.loads(self.proc.stdout.readline())
            if line.get("id") == self.next_id:
                return line

    def wait_for(self, flag: str, enabled: bool, context: dict | None = None, timeout_ms: int = 5000) -> dict:
        return self.ask(op="wait", flag=flag, enabled=enabled, context=context or {}, timeout=timeout_ms)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def test_node_sdk_in_delta_polling_mode_follows_changes_and_agrees(app, ctx, make_flag, token, redis_conn) -> None:
    seg = service.save_segment(None, "pros", [{"contextName": "plan", "operator": "IN", "values": ["pro"]}],
                               actor="t")
    make_flag("n.rollout", enabled=True, strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "n.rollout"},
         "constraints": [{"contextName": "plan", "operator": "NOT_IN", "values": ["free"]}]}])
    make_flag("n.segment", enabled=True, strategies=[{"name": "default", "segments": [seg.id]}])
    make_flag("n.variants", enabled=True, variants=[
        {"name": "a", "weight": 500, "stickiness": "default"}, {"name": "b", "weight": 500, "stickiness": "default"}])
    make_flag("n.later", enabled=False)
    make_flag("n.gone", enabled=True)
    contexts = [{"userId": f"u{i}", "properties": {"plan": ["pro", "free", "team"][i % 3]}} for i in range(90)]
    keys = ["n.rollout", "n.segment", "n.variants", "n.later", "n.gone"]
    server = LiveServer(app)
    sdk = NodeSdk(server.url, token, "delta")
    try:
        theirs = sdk.ask(op="answers", flags=keys, contexts=contexts)["answers"]
        ours = [[flags.is_enabled(k, c), flags.get_variant(k, c)["name"]] for k in keys for c in contexts]
        assert theirs == ours
        assert any(a[0] for a in ours[:90]) and not all(a[0] for a in ours[:90])  # a real mix of answers

        service.set_enabled("n.later", True, actor="t")
        seen = sdk.wait_for("n.later", True)
        assert seen["ok"], seen
        service.archive_flag("n.gone", actor="t")
        assert sdk.wait_for("n.gone", False)["ok"]
        pro = {"properties": {"plan": "pro"}}
        free = {"properties": {"plan": "free"}}
        service.save_segment(seg.id, "pros", [{"contextName": "plan", "operator": "IN", "values": ["free"]}],
                             actor="t")
        assert sdk.wait_for("n.segment", True, free)["ok"]
        assert sdk.ask(op="answers", flags=["n.segment"], contexts=[pro])["answers"] == [[False, "disabled"]]
        # what it followed came from the delta log (only /api/client/delta writes it): three changes at least
        assert int(redis_conn.hget(delta.META_KEY.format(env="production"), "seq")) >= 3
    finally:
        sdk.stop()
        server.stop()


def test_node_sdk_in_streaming_mode_sees_a_change_within_a_second_and_agrees(app, ctx, make_flag, token) -> None:
    make_flag("n.rollout", enabled=True, strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "30", "stickiness": "default", "groupId": "n.rollout"}}])
    make_flag("n.later", enabled=False)
    contexts = [{"userId": f"u{i}"} for i in range(60)]
    server = LiveServer(app)
    sdk = NodeSdk(server.url, token, "streaming")
    try:
        keys = ["n.rollout", "n.later"]
        ours = [[flags.is_enabled(k, c), flags.get_variant(k, c)["name"]] for k in keys for c in contexts]
        assert sdk.ask(op="answers", flags=keys, contexts=contexts)["answers"] == ours
        for on in (True, False, True):
            service.set_enabled("n.later", on, actor="t")
            seen = sdk.wait_for("n.later", on, timeout_ms=SEEN_WITHIN_MS)
            assert seen["ok"], seen
        before = [flags.is_enabled("n.rollout", c) for c in contexts]
        service.set_rollout("n.rollout", 70, actor="t")
        ours = [[flags.is_enabled("n.rollout", c), "disabled"] for c in contexts]
        newcomer = next(c for c, was, now in zip(contexts, before, ours, strict=True) if now[0] and not was)
        assert sdk.wait_for("n.rollout", True, newcomer, timeout_ms=SEEN_WITHIN_MS)["ok"]
        assert sdk.ask(op="answers", flags=["n.rollout"], contexts=contexts)["answers"] == ours
    finally:
        sdk.stop()
        server.stop()
