"""An OpenFeature provider for a NOUS server far away: OFREP answers kept in a local cache the stream refreshes.

    from openfeature import api
    from nous.flags.remote import RemoteProvider

    api.set_provider(RemoteProvider("https://beta.example.com", token="default:production.…"))
    api.get_client().get_boolean_value("checkout.new-flow", False, EvaluationContext("tester-42"))

A plain script needs no app, database or Redis: only the server's URL and a client token (its environment
is the token's). Each context's answers come from one bulk OFREP request (`/ofrep/v1/evaluate/flags`, so
the server's own evaluation, tester overrides included) and are kept; a thread follows the server's flag
stream (`/api/client/streaming`) and forgets every kept answer when any flag changes, so an answer is
at most as old as the stream's delivery (under a second). While the stream is down answers are kept
at most `ttl` seconds, and the stream is opened again with growing pauses.

Values, reasons and errors are OFREP's, read as the published OFREP providers read them: no value means
the caller's default; a value of another type than asked is TYPE_MISMATCH; a flag the server does not
list is FLAG_NOT_FOUND.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import (
    ErrorCode,
    FlagNotFoundError,
    GeneralError,
    InvalidContextError,
    OpenFeatureError,
    ParseError,
    TargetingKeyMissingError,
    TypeMismatchError,
)
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

log = logging.getLogger("nous.flags.remote")

ERRORS = {"PARSE_ERROR": ParseError, "TARGETING_KEY_MISSING": TargetingKeyMissingError,
          "INVALID_CONTEXT": InvalidContextError, "GENERAL": GeneralError}
MAX_CONTEXTS = 10_000  # contexts kept; past it the cache starts again


def _context_body(evaluation_context: EvaluationContext | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if evaluation_context is not None:
        ctx.update(evaluation_context.attributes or {})
        if evaluation_context.targeting_key:
            ctx["targetingKey"] = evaluation_context.targeting_key
    return {"context": ctx}


class RemoteProvider(AbstractProvider):
    """OFREP with a cache of each context's answers, emptied by the server's flag stream."""

    def __init__(self, base_url: str, token: str, *, ttl: float = 15.0, timeout: float = 5.0,
                 stream: bool = True) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.ttl, self.timeout = ttl, timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._answers: dict[str, tuple[float, int, dict[str, dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self.generation = 0  # moves when the stream says something changed
        self.streaming = threading.Event()  # set while the stream is open
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream_wanted = stream

    def get_metadata(self) -> Metadata:
        return Metadata(name="NOUS flags (remote)")

    # -- life

    def initialize(self, evaluation_context: EvaluationContext | None = None) -> None:
        if self._stream_wanted and self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="nous-flags-remote", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        self.session.close()

    def _forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._answers.clear()

    def _follow(self) -> None:
        """Read the flag stream; every event means "something changed": forget the kept answers."""
        pause, last_id = 0.5, ""
        while not self._stop.is_set():
            try:
                headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
                with self.session.get(f"{self.base_url}/api/client/streaming", headers=headers, stream=True,
                                      timeout=(self.timeout, 60)) as resp:
                    resp.raise_for_status()
                    self.streaming.set()
                    pause = 0.5
                    for raw in resp.iter_lines():
                        if self._stop.is_set():
                            return
                        line = raw.decode("utf-8", "replace")
                        if line.startswith("id: "):
                            last_id = line[4:]
                        elif line.startswith("event: "):
                            self._forget()
            except (requests.RequestException, OSError) as exc:
                log.info("flag stream interrupted; answers kept at most %s s meanwhile", self.ttl,
                         extra={"error": str(exc)[:200]})
            self.streaming.clear()
            self._forget()
            self._stop.wait(pause)
            pause = min(30.0, pause * 2)

    # -- answers

    def answers(self, evaluation_context: EvaluationContext | None) -> dict[str, dict[str, Any]]:
        """Every flag's OFREP answer for this context, from the cache or one bulk request."""
        body = _context_body(evaluation_context)
        key = json.dumps(body, sort_keys=True, default=str)
        now = time.monotonic()
        with self._lock:
            held = self._answers.get(key)
            generation = self.generation
        if held is not None and held[1] == generation and (self.streaming.is_set() or now - held[0] < self.ttl):
            return held[2]
        try:
            resp = self.session.post(f"{self.base_url}/ofrep/v1/evaluate/flags", data=json.dumps(body, default=str),
                                     headers={"Content-Type": "application/json"}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GeneralError(f"NOUS flags unreachable: {exc}") from None
        if resp.status_code in (401, 403):
            raise GeneralError("the client token was refused")
        if resp.status_code == 400:
            data = resp.json()
            raise ERRORS.get(data.get("errorCode"), GeneralError)(data.get("errorDetails", ""))
        if resp.status_code != 200:
            raise GeneralError(f"NOUS flags answered {resp.status_code}")
        flags = {f["key"]: f for f in resp.json()["flags"]}
        with self._lock:
            if len(self._answers) >= MAX_CONTEXTS:
                self._answers.clear()
            if self.generation == generation:  # nothing changed while asking: keep it
                self._answers[key] = (now, generation, flags)
        return flags

    def _resolve(self, key: str, default: Any, evaluation_context: EvaluationContext | None,
                 kinds: type | tuple[type, ...]) -> FlagResolutionDetails[Any]:
        found = self.answers(evaluation_context).get(key)
        if found is None:
            raise FlagNotFoundError(f"no flag named {key!r}")
        if "errorCode" in found:
            code = found["errorCode"]
            raise ERRORS[code](found.get("errorDetails", "")) if code in ERRORS else OpenFeatureError(
                ErrorCode.GENERAL, found.get("errorDetails", ""))
        value = found.get("value", default)
        if (isinstance(value, bool) and kinds is not bool) or not isinstance(value, kinds):
            raise TypeMismatchError(f"{key}: the value is not of the type asked for")
        return FlagResolutionDetails(value=value, reason=Reason[found["reason"]], variant=found.get("variant"))

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, int)

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[float]:
        details = self._resolve(flag_key, default_value, evaluation_context, (int, float))
        details.value = float(details.value)
        return details

    def resolve_object_details(
        self, flag_key: str, default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._resolve(flag_key, default_value, evaluation_context, (dict, list))
