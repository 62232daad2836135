"""Words for people: one date format, audit sentences, flag changes, browsers, schedules, attempts, outcomes.

Functions over plain values (no `request`, no database; links are built with `url_for` when a page renders),
so the console, the CLI and the tests share them; `FILTERS` is what the console registers as Jinja filters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from cron_descriptor import CasingTypeEnum, ExpressionDescriptor, FormatException, Options
from flask import url_for
from markupsafe import Markup, escape
from ua_parser import parse as parse_user_agent
from werkzeug.routing import BuildError

# --------------------------------------------------------------------------- dates

EXACT_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def _display(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y, %H:%M}"  # 6 Dec 2026, 14:05 (UTC); %-d is not portable
def _as_datetime(value: datetime | str | None) -> datetime | None:
    """A stored time (aware or naive UTC, or an ISO string) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def when_text(value: datetime | str | None, empty: str = "—") -> str:
    """The console's one date format: "6 Dec 2026, 14:05" (UTC)."""
    when = _as_datetime(value)
    return _display(when) if when else empty


def exact_text(value: datetime | str | None) -> str:
    """The exact time for a tooltip: "2026-12-06 14:05:09 UTC"."""
    when = _as_datetime(value)
    return when.strftime(EXACT_FORMAT) if when else ""


def when(value: datetime | str | None, empty: str = "—") -> Markup:
    """`<time>` in the one date format, with the machine time and the exact UTC time on hover."""
    moment = _as_datetime(value)
    if moment is None:
        return escape(empty)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(timespec="seconds"), moment.strftime(EXACT_FORMAT), _display(moment))


# --------------------------------------------------------------------------- flag conditions and changes

CONTEXT_LABELS = {
    "userId": "user id", "sessionId": "session id", "remoteAddress": "IP address", "environment": "environment",
    "appName": "app name", "currentTime": "current time",
}
OPERATOR_WORDS = {
    "IN": "is one of", "NOT_IN": "is not one of", "STR_CONTAINS": "contains", "STR_STARTS_WITH": "starts with",
    "STR_ENDS_WITH": "ends with", "IN_CIDR": "is in network", "NUM_EQ": "is the number", "NUM_GT": "is more than",
    "NUM_GTE": "is at least", "NUM_LT": "is less than", "NUM_LTE": "is at most", "DATE_AFTER": "is after",
    "DATE_BEFORE": "is before",
    "SEMVER_EQ": "is version", "SEMVER_GT": "is a version after", "SEMVER_GTE": "is at least version",
    "SEMVER_LT": "is a version before", "SEMVER_LTE": "is at most version", "REGEX": "matches",
}
# the one-value form of the list operators reads better as "is" / "is not"
SINGLE_WORDS = {"IN": "is", "NOT_IN": "is not"}


def context_label(name: str) -> str:
    return CONTEXT_LABELS.get(name, name)


def condition_text(cond: Mapping[str, Any]) -> str:
    """One constraint in words: "plan is one of pro, team", "not: country is DE (any case)"."""
    operator = str(cond.get("operator", "IN"))
    raw = cond.get("values")
    values = [str(v) for v in raw] if isinstance(raw, list) else []
    if not values and cond.get("value") not in (None, ""):
        values = [str(cond.get("value"))]
    words = SINGLE_WORDS.get(operator) if len(values) == 1 else None
    words = words or OPERATOR_WORDS.get(operator, operator.lower().replace("_", " "))
    text = f"{context_label(str(cond.get('contextName', '?')))} {words} {', '.join(values) or '(nothing)'}"
    if cond.get("caseInsensitive"):
        text += " (any case)"
    return f"not: {text}" if cond.get("inverted") else text


def _user_ids(params: Mapping[str, Any]) -> list[str]:
    return [u.strip() for u in str(params.get("userIds", "")).split(",") if u.strip()]


def strategy_text(strategy: Mapping[str, Any]) -> str:
    """Who a strategy gives the flag to, in words."""
    name = strategy.get("name")
    params = strategy.get("parameters") or {}
    if name == "default":
        text = "everyone"
    elif name == "flexibleRollout":
        text = f"rollout to {params.get('rollout', '?')} % of users"
    elif name in ("gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom"):
        text = f"rollout to {params.get('percentage', '?')} % of users"
    elif name == "userWithId":
        text = "target testers " + (", ".join(_user_ids(params)) or "(none)")
    elif name == "remoteAddress":
        text = "IP addresses " + str(params.get("IPs", "")).replace(",", ", ")
    else:
        text = f"strategy {name}"
    conditions = [condition_text(c) for c in strategy.get("constraints") or [] if isinstance(c, Mapping)]
    segments = [f"segment {s}" for s in strategy.get("segments") or []]
    if conditions or segments:
        text += " if " + " and ".join(conditions + segments)
    return text


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, list) and all(isinstance(v, Mapping) and "name" in v for v in value):
        return ", ".join(str(v["name"]) for v in value)  # named entries (probes, variants) by their names
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _list_changes(what: str, before: list[Any], after: list[Any], text: Callable[[Any], str]) -> list[str]:
    """Added/removed items of a list where order does not matter (conditions, segments, testers)."""
    old, new = {_key(i): i for i in before}, {_key(i): i for i in after}
    out = [f"Removed {what}: {text(old[k])}" for k in old if k not in new]
    out += [f"Added {what}: {text(new[k])}" for k in new if k not in old]
    return out


def _strategy_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Changes within one strategy that kept its type."""
    out: list[str] = []
    name = after.get("name")
    old_p, new_p = before.get("parameters") or {}, after.get("parameters") or {}
    for param in sorted(set(old_p) | set(new_p)):
        a, b = old_p.get(param), new_p.get(param)
        if a == b:
            continue
        if param in ("rollout", "percentage"):
            out.append(f"Rollout {_value(a)} % → {_value(b)} %")
        elif param == "userIds" and name == "userWithId":
            out += _list_changes("target tester", _user_ids(old_p), _user_ids(new_p), str)
        elif param == "groupId":
            out.append(f"Rollout group {_value(a)} → {_value(b)}")
        else:
            out.append(f"{param} {_value(a)} → {_value(b)}")
    out += _list_changes("condition", list(before.get("constraints") or []), list(after.get("constraints") or []),
                         condition_text)
    out += _list_changes("segment", list(before.get("segments") or []), list(after.get("segments") or []), str)
    if before.get("disabled") != after.get("disabled"):
        out.append(("Paused " if after.get("disabled") else "Resumed ") + strategy_text(after))
    rest = {k for k in set(before) | set(after)} - {"name", "parameters", "constraints", "segments", "disabled"}
    out += [f"Changed the {k} of {strategy_text(after)}" for k in sorted(rest) if before.get(k) != after.get(k)]
    return out


def _strategies_changes(before: list[Any], after: list[Any]) -> list[str]:
    out: list[str] = []
    for i in range(max(len(before), len(after))):
        a = before[i] if i < len(before) and isinstance(before[i], Mapping) else None
        b = after[i] if i < len(after) and isinstance(after[i], Mapping) else None
        if a is None and b is not None:
            out.append(f"Added {strategy_text(b)}")
        elif b is None and a is not None:
            out.append(f"Removed {strategy_text(a)}")
        elif a is not None and b is not None and a != b:
            if a.get("name") != b.get("name"):
                out.append(f"Replaced {strategy_text(a)} with {strategy_text(b)}")
            else:
                out += _strategy_changes(a, b)
    return out


def _named(items: list[Any], key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i.get(key)): i for i in items if isinstance(i, Mapping)}


def _variant_text(v: Mapping[str, Any]) -> str:
    weight = v.get("weight")
    return f"{v.get('name')}" + (f" (weight {weight})" if weight is not None else "")


def _variants_changes(before: list[Any], after: list[Any]) -> list[str]:
    old, new = _named(before, "name"), _named(after, "name")
    out = [f"Removed variant {_variant_text(old[n])}" for n in old if n not in new]
    out += [f"Added variant {_variant_text(new[n])}" for n in new if n not in old]
    for n in (n for n in new if n in old and new[n] != old[n]):
        for k in sorted(set(old[n]) | set(new[n])):
            if old[n].get(k) != new[n].get(k):
                out.append(f"Variant {n}: {k} {_value(old[n].get(k))} → {_value(new[n].get(k))}")
    return out


def _dependency_text(d: Mapping[str, Any]) -> str:
    text = f"parent flag {d.get('feature')}" + (" switched off" if d.get("enabled") is False else " switched on")
    if d.get("variants"):
        text += " with variant " + ", ".join(str(v) for v in d["variants"])
    return text


FLAG_ACTIONS = {"create": "Created", "update": "Changed", "enable": "Switched on", "disable": "Switched off",
                "rollout": "Changed the rollout", "restore": "Restored", "archive": "Archived",
                "unarchive": "Unarchived", "schedule": "Changed on schedule", "import": "Imported"}


def flag_action(action: str) -> str:
    return FLAG_ACTIONS.get(action, action.replace("_", " ").capitalize())


def flag_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """What one flag version changed, as sentences ("Rollout 30 % → 50 %", "Added condition: …")."""
    if before is None:
        return [f"Created, switched {'on' if (after or {}).get('enabled') else 'off'}"] + [
            f"Gives it to {strategy_text(s)}" for s in (after or {}).get("strategies") or [] if isinstance(s, Mapping)]
    after = after or {}
    out: list[str] = []
    if before.get("enabled") != after.get("enabled"):
        out.append("Switched on" if after.get("enabled") else "Switched off")
    if before.get("archived") != after.get("archived"):
        out.append("Archived" if after.get("archived") else "Unarchived")
    if before.get("type") != after.get("type"):
        out.append(f"Type {_value(before.get('type'))} → {_value(after.get('type'))}")
    if before.get("description") != after.get("description"):
        out.append(f"Description “{_value(before.get('description'))}” → “{_value(after.get('description'))}”")
    out += _strategies_changes(list(before.get("strategies") or []), list(after.get("strategies") or []))
    out += _variants_changes(list(before.get("variants") or []), list(after.get("variants") or []))
    out += _list_changes("dependency on", list(before.get("dependencies") or []),
                         list(after.get("dependencies") or []), _dependency_text)
    for key, words in (("enable_at", "Switch on"), ("disable_at", "Switch off")):
        a, b = before.get(key), after.get(key)
        if a != b:
            out.append(f"{words} at {when_text(b)}" if b else f"{words} at {when_text(a)} canceled")
    return out


FIELD_WORDS = {"contextName": "field", "operator": "operator", "values": "values", "value": "value",
               "rollout": "rollout", "userIds": "target testers", "inverted": "not", "caseInsensitive": "ignore case"}


def field_words(path: str) -> str:
    """A field path of a flag's definition in words: "strategies[1].constraints[0].values" → "condition 1, values"."""
    parts = []
    for piece in path.split("."):
        name, _, index = piece.partition("[")
        if name in ("strategies", "parameters"):
            continue
        if name == "constraints" and index:
            parts.append(f"condition {int(index.rstrip(']')) + 1}" if index.rstrip("]").isdigit() else "condition")
        else:
            parts.append(FIELD_WORDS.get(name, name))
    return ", ".join(parts) or path


# --------------------------------------------------------------------------- user agents


@lru_cache(maxsize=1024)
def user_agent(raw: str | None) -> str:
    """ "Chrome 131 on macOS" from a raw User-Agent (ua-parser's maintained rules), or "—"."""
    if not raw or not raw.strip():
        return "—"
    result = parse_user_agent(raw)
    browser, os_ = result.user_agent, result.os
    name = browser.family if browser and browser.family != "Other" else ""
    name = {"Mobile Safari": "Safari", "Chrome Mobile": "Chrome", "Firefox Mobile": "Firefox",
            "Chrome Mobile iOS": "Chrome", "Chrome Mobile WebView": "Android WebView"}.get(name, name)
    if name and browser and browser.major:
        name += f" {browser.major}"
    system = os_.family if os_ and os_.family != "Other" else ""
    system = {"Mac OS X": "macOS"}.get(system, system)
    if system in ("iOS", "Android") and os_ and os_.major:
        system += f" {os_.major}"
    device = result.device.family if result.device and result.device.family not in ("Other", "Mac") else ""
    if device in ("iPhone", "iPad"):
        system = f"{system} ({device})" if system else device
    if name and system:
        return f"{name} on {system}"
    return name or system or "Unknown browser"


# --------------------------------------------------------------------------- schedules


@lru_cache(maxsize=512)
def cron_words(expression: str | None) -> str:
    """ "At 08:00, only on Monday" for "0 8 * * 1" (cron-descriptor); "" when it cannot be read."""
    if not expression or not expression.strip():
        return ""
    options = Options()
    options.use_24hour_time_format = True
    options.casing_type = CasingTypeEnum.Sentence
    options.verbose = False
    try:
        text = ExpressionDescriptor(expression.strip(), options).get_description()
    except (FormatException, ValueError, KeyError, IndexError):
        return ""
    return text + " (UTC)" if any(ch.isdigit() for ch in text) and ":" in text else text


def every_words(seconds: int | None) -> str:
    if not seconds:
        return ""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds % size == 0:
            n = seconds // size
            return f"Every {unit}" if n == 1 else f"Every {n} {unit}s"
    return f"Every {seconds} seconds"


# --------------------------------------------------------------------------- attempts and outcomes


def attempts_text(attempts: int | None, max_attempts: int | None, manual: int | None = None) -> str:
    """How often a job ran, truthfully: "1 of 3"; after retries by hand "2 (1 of 1 automatic, 1 retried by hand)".

    `manual` is how many times it was retried by hand as far as is known (a "retry all failed" leaves no record
    per job, so runs beyond the automatic allowance count as by hand too). The first attempt is never one by
    hand; a retry not started yet is said so."""
    attempts, allowed = max(int(attempts or 0), 0), max(int(max_attempts or 1), 1)
    beyond = max(attempts - allowed, 0)  # runs past the automatic allowance were started by hand, whatever is known
    manual = beyond if manual is None else max(manual, beyond)
    started = min(max(manual, 0), max(attempts - 1, 0))
    waiting = " · retried by hand, waiting to run" if manual > started else ""
    if attempts == 0:
        return f"none yet (up to {allowed})" + waiting
    if started == 0:
        return f"{attempts} of {allowed}" + waiting
    return f"{attempts} ({attempts - started} of {allowed} automatic, {started} retried by hand)" + waiting


def run_status_text(status: str, failed_steps: int = 0) -> str:
    """A run's outcome that never hides failed steps: "succeeded with 2 failed steps"."""
    if status == "succeeded" and failed_steps:
        return f"succeeded with {failed_steps} failed step{'s' if failed_steps != 1 else ''}"
    return status


# --------------------------------------------------------------------------- audit sentences


@dataclass(frozen=True)
class Sentence:
    """One audit event in words: `verb` then the object (linked when it still has a page), then `detail`."""
    verb: str
    obj: str = ""
    endpoint: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.verb, self.obj) if p) + (f" ({self.detail})" if self.detail else "")


def actor_text(actor: str) -> str:
    """Who did it: "admin@example.com", "root on the command line", "workflow Weekly digest"."""
    kind, _, name = actor.partition(":")
    if kind == "cli" and name:
        return f"{name} on the command line"
    if kind == "workflow" and name:
        return f"workflow {name}"
    return actor


def _after(e: Any) -> Mapping[str, Any]:
    return e.after if isinstance(e.after, Mapping) else {}


def _before(e: Any) -> Mapping[str, Any]:
    return e.before if isinstance(e.before, Mapping) else {}


def _feedback(e: Any, verb: str, detail: str = "") -> Sentence:
    fid = e.target.partition(":")[2]
    if not fid.isdigit():
        return Sentence(verb, f"feedback {e.target}", detail=detail)
    return Sentence(verb, f"feedback #{fid}", "feedback.admin_show", {"feedback_id": int(fid)}, detail)


def _workflow(e: Any, verb: str, detail: str = "", link: bool = True) -> Sentence:
    wid = e.target.partition(":")[2]
    name = _after(e).get("name") or _before(e).get("name") or f"#{wid}"
    if link and wid.isdigit():
        return Sentence(verb, f"workflow {name}", "workflows.show", {"workflow_id": int(wid)}, detail)
    return Sentence(verb, f"workflow {name}", detail=detail)


def _tester(e: Any, verb: str, detail: str = "") -> Sentence:
    return Sentence(verb, f"tester {e.target}", "testers.index", {"q": e.target}, detail) if e.target else \
        Sentence(verb, "a tester", detail=detail)


# what a flag has per environment (nous.flags.models.FlagIn.HERE): a change of one of them names its environment
_FLAG_HERE = ("enabled", "strategies", "enable_at", "disable_at")


def _flag(e: Any, verb: str, detail: str = "", here: bool | None = None) -> Sentence:
    """A flag's change, with the environment it was made in when it changed something of that environment's
    (switch, strategies, schedule; `here` says so without looking), linked to the flag's page there."""
    before, after = _before(e), _after(e)
    environment = after.get("environment") or before.get("environment")
    if here is None:
        here = not before or any(before.get(k) != after.get(k) for k in _FLAG_HERE)
    if not here or not isinstance(environment, str) or not environment:
        return Sentence(verb, f"flag {e.target}", "flags.show_flag", {"key": e.target}, detail)
    return Sentence(verb, f"flag {e.target} in {environment}", "flags.show_flag",
                    {"key": e.target, "env": environment}, detail)


def _job(e: Any, verb: str) -> Sentence:
    return Sentence(verb, f"job {e.target[:8]}", "jobs.detail", {"job_id": e.target})


# Each setting's label by key. The settings area fills it at start-up (its init_app): the words here
# import no area, so every area's pages can use them.
SETTING_LABELS: dict[str, str] = {}


def _setting(e: Any) -> Sentence:
    label = SETTING_LABELS.get(e.target, e.target)
    detail = f"{_value(e.before)} → {_value(e.after)}"
    anchor = "setting-" + e.target.replace(".", "-")
    return Sentence("Changed setting", label, "settings.index", {"_anchor": anchor}, detail)


def _run(e: Any) -> Sentence:
    run_id = _after(e).get("run_id")
    sentence = _workflow(e, "Ran")
    return Sentence(sentence.verb, sentence.obj, sentence.endpoint, sentence.values,
                    f"run {run_id}" if run_id else "")


SENTENCES: dict[str, Callable[[Any], Sentence]] = {
    "auth.signed_in": lambda e: Sentence("Signed in", detail=f"with {_after(e).get('method', 'a link')}".replace(
        "oidc", "single sign-on").replace("login_link", "a sign-in link")),
    "auth.signed_out": lambda e: Sentence("Signed out"),
    "auth.signed_out_everywhere": lambda e: Sentence("Signed out everywhere", detail="every open session ended"),
    "auth.refused": lambda e: Sentence("Refused a sign-in", f"for {e.target}" if e.target else "",
                                       detail=str(_after(e).get("reason", ""))),
    "auth.login_link_created": lambda e: Sentence("Created a sign-in link", f"for {e.target}"),
    "jobs.cancel": lambda e: _job(e, "Canceled"),
    "jobs.retry": lambda e: _job(e, "Retried"),
    "jobs.delete": lambda e: Sentence("Deleted", f"job {e.target[:8]}", detail=str(_before(e).get("task", ""))),
    "jobs.retry_all_failed": lambda e: Sentence(
        "Retried all failed jobs", f"of {e.target}" if e.target not in ("", "*") else "",
        detail=f"{_after(e).get('retried', 0)} retried"),
    "jobs.enqueue": lambda e: Sentence("Started", f"job {e.target[:8]}", "jobs.detail", {"job_id": e.target},
                                       str(_after(e).get("task", ""))),
    "jobs.run_schedule": lambda e: Sentence("Ran the schedule", e.target, "jobs.detail",
                                            {"job_id": _after(e).get("job_id")} if _after(e).get("job_id") else {},
                                            "now"),
    "feedback.status": lambda e: _feedback(e, "Set the status of", f"{_before(e).get('status')} → "
                                                                   f"{_after(e).get('status')}"),
    "feedback.tags": lambda e: _feedback(e, "Tagged", ", ".join(_after(e).get("tags") or []) or "no tags"),
    "feedback.reply": lambda e: _feedback(e, "Replied to", f"to {_after(e).get('to', '')}"),
    "feedback.attachment.delete": lambda e: _feedback(e, "Deleted a file of", _before(e).get("filename", "")),
    "feedback.attachment.read_again": lambda e: _feedback(e, "Had the text read again in a file of",
                                                          _before(e).get("filename", "")),
    "demo.seed": lambda e: Sentence("Added the demo data"),
    "workflows.create": lambda e: _workflow(e, "Created"),
    "workflows.update": lambda e: _workflow(e, "Changed"),
    "workflows.enable": lambda e: _workflow(e, "Switched on"),
    "workflows.disable": lambda e: _workflow(e, "Switched off"),
    "workflows.delete": lambda e: _workflow(e, "Deleted", link=False),
    "workflows.run": _run,
    "workflows.run.cancel": lambda e: Sentence("Canceled", f"workflow run {e.target.partition(':')[2]}",
                                               "workflows.run_detail", {"run_id": int(e.target.partition(':')[2])}
                                               if e.target.partition(':')[2].isdigit() else {}),
    "settings.set": _setting,
    "testers.add": lambda e: _tester(e, "Added"),
    "testers.update": lambda e: _tester(e, "Changed", ", ".join(
        f"{k} {_value(_before(e).get(k))} → {_value(v)}" for k, v in _after(e).items())),
    "testers.deactivate": lambda e: _tester(e, "Deactivated"),
    "testers.reactivate": lambda e: _tester(e, "Reactivated"),
    "testers.remove": lambda e: Sentence("Removed", f"tester {e.target}"),
    "testers.flag_override": lambda e: _tester(e, "Changed a flag override of", ", ".join(
        f"{k}: {_value(_before(e).get(k))} → {_value(v)}" for k, v in _after(e).items())),
    "testers.invite": lambda e: _tester(e, "Invited"),
    "testers.resend": lambda e: _tester(e, "Sent the invitation again to"),
    "testers.joined": lambda e: _tester(e, "Joined as"),
    "email.test": lambda e: Sentence("Sent a test email", f"to {e.target}"),
    "email.resend": lambda e: Sentence("Sent again", f"email {e.target}", "email.message",
                                       {"outbox_id": int(e.target)} if e.target.isdigit() else {}),
    "email.test_connection": lambda e: Sentence("Tested the mail server connection",
                                                detail="works" if _after(e).get("ok") else "failed"),
    "flags.create": lambda e: _flag(e, "Created"),
    "flags.update": lambda e: _flag(e, "Changed", "; ".join(flag_changes(e.before, e.after)[:3])),
    "flags.archive": lambda e: _flag(e, "Archived", here=False),
    "flags.unarchive": lambda e: _flag(e, "Unarchived", here=False),
    "flags.restore": lambda e: _flag(e, "Restored an earlier version of"),
    "flags.import": lambda e: Sentence("Imported flags", "", "flags.index"),
    "flags.segment": lambda e: Sentence("Saved segment", e.target, "flags.segments"),
    "flags.segment.delete": lambda e: Sentence("Deleted segment", e.target),
    "flags.token.create": lambda e: Sentence("Created the client token", e.target, "flags.tokens"),
    "flags.token.revoke": lambda e: Sentence("Revoked the client token", e.target, "flags.tokens"),
    "flags.environment.add": lambda e: Sentence("Added the flag environment", e.target, "flags.environments"),
    "flags.environment.rename": lambda e: Sentence(f"Renamed the flag environment {_before(e).get('name', '')} to",
                                                   e.target, "flags.environments"),
    "flags.environment.move": lambda e: Sentence("Moved the flag environment", e.target, "flags.environments",
                                                 detail=", ".join(map(str, _after(e).get("order") or []))),
    "flags.environment.remove": lambda e: Sentence("Removed the flag environment", e.target),
    "adminapi.token.create": lambda e: Sentence("Created the admin API token", e.target, "api_tokens.index"),
    "adminapi.token.revoke": lambda e: Sentence("Revoked the admin API token", e.target, "api_tokens.index"),
}


def audit_sentence(event: Any) -> Sentence:
    """An audit event (anything with action, target, before, after) as a sentence about its object."""
    if isinstance(event, Mapping):  # an exported record (as_dict)
        event = SimpleNamespace(**{"before": None, "after": None, "target": "", **event})
    describe = SENTENCES.get(event.action)
    if describe is not None:
        try:
            return describe(event)
        except (AttributeError, TypeError, ValueError):
            pass  # an older record of another shape: fall back to the plain words below
    words = event.action.replace("_", " ").replace(".", " ")
    return Sentence(words[:1].upper() + words[1:], event.target or "")


def audit_html(event: Any) -> Markup:
    """The sentence with its object linked to the object's page (plain text when it has none)."""
    s = audit_sentence(event)
    obj: Markup | str = s.obj
    if s.obj and s.endpoint:
        try:
            obj = Markup('<a href="{}">{}</a>').format(url_for(s.endpoint, **s.values), s.obj)
        except BuildError:  # the object's page needs a value this record lacks
            obj = s.obj
    html = escape(s.verb) + (Markup(" ") + escape(obj) if s.obj else Markup(""))
    if s.detail:
        html += Markup(' <span class="muted">({})</span>').format(s.detail)
    return html


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when, "when_text": when_text, "exact_time": exact_text,
    "condition_text": condition_text, "operator_text": lambda op: OPERATOR_WORDS.get(op, op),
    "flag_changes": flag_changes, "flag_action": flag_action, "field_words": field_words,
    "user_agent": user_agent, "cron_words": cron_words, "every_words": every_words,
    "attempts_text": attempts_text, "run_status_text": run_status_text,
    "audit_html": audit_html, "audit_text": lambda e: audit_sentence(e).text, "actor_text": actor_text,
}
