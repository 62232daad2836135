"""`feedback.classify`: category (bug, idea, praise, other) and sentiment, by rules you can read.

Each category and each sentiment has a short list of cue phrases with weights; the output names
every cue that matched, so the admin sees why a message landed where it did. The rating, when
given, weighs on the sentiment. Negations ("not working", "doesn't load") count as negative cues.
"""

from __future__ import annotations

import re
from typing import Any

from nous.workflows.handlers import StepContext, StepError, handler

CATEGORY_CUES: dict[str, dict[str, float]] = {
    "bug": {
        "crash": 3, "crashes": 3, "crashed": 3, "crashing": 3, "bug": 3, "error": 2, "exception": 3,
        "broken": 2, "freeze": 2, "freezes": 2, "frozen": 2, "hangs": 2, "stuck": 1.5, "not working": 3,
        "doesn't work": 3, "does not work": 3, "stopped working": 3, "fails": 2, "failed": 2, "failing": 2,
        "can't": 1, "cannot": 1, "won't load": 2, "doesn't load": 2, "blank screen": 2, "lost my": 2,
        "wrong": 1, "glitch": 2, "stack trace": 3, "timeout": 1.5, "slow": 1, "data loss": 3,
    },
    "idea": {
        "would be nice": 3, "it would be great": 3, "would love": 2, "please add": 3, "could you add": 3,
        "feature request": 3, "suggest": 2, "suggestion": 2, "wish": 2, "idea": 2, "option to": 2,
        "ability to": 2, "support for": 1.5, "should be able": 2, "add a": 1, "integrate": 1.5, "how about": 1.5,
    },
    "praise": {
        "love": 2.5, "great": 2, "awesome": 2.5, "amazing": 2.5, "excellent": 2.5, "fantastic": 2.5,
        "thank": 2, "thanks": 2, "perfect": 2, "helpful": 1.5, "well done": 2.5, "nice work": 2.5,
        "impressed": 2, "works great": 3, "brilliant": 2.5, "delight": 2,
    },
}
POSITIVE: dict[str, float] = {
    "love": 2, "great": 1.5, "awesome": 2, "amazing": 2, "excellent": 2, "fantastic": 2, "thank": 1.5,
    "thanks": 1.5, "perfect": 2, "helpful": 1.5, "good": 1, "nice": 1, "easy": 1, "fast": 1, "happy": 1.5,
    "brilliant": 2, "impressed": 1.5, "smooth": 1, "works great": 2,
}
NEGATIVE: dict[str, float] = {
    "crash": 2, "crashes": 2, "crashed": 2, "bug": 1, "broken": 2, "error": 1, "hate": 2.5, "terrible": 2.5,
    "awful": 2.5, "annoying": 1.5, "frustrating": 2, "useless": 2.5, "slow": 1, "worst": 2.5, "bad": 1.5,
    "confusing": 1.5, "disappointed": 2, "not working": 2, "doesn't work": 2, "lost my": 2, "unusable": 2.5,
    "fails": 1.5, "failed": 1.5, "freeze": 1.5, "stuck": 1,
}
# "not good", "never really works", "doesn't crash": a negator up to one word before the cue.
NEGATED = re.compile(r"(?:\bnot|\bno|\bnever|n't)\s+(?:\w+\s+)?$", re.IGNORECASE)
MAX_TEXT = 20_000


def _cue_regex(cue: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + re.escape(cue).replace(r"\ ", r"\s+") + r"(?![\w'])", re.IGNORECASE)


_CUES = {cue: _cue_regex(cue) for table in (*CATEGORY_CUES.values(), POSITIVE, NEGATIVE) for cue in table}


def _matches(text: str, table: dict[str, float]) -> list[tuple[str, float, bool]]:
    """(cue, weight, negated) for each cue of `table` in `text`; one entry per cue."""
    found = []
    for cue, weight in table.items():
        match = _CUES[cue].search(text)
        if match:
            negated = bool(NEGATED.search(text[max(0, match.start() - 30):match.start()]))
            found.append((cue, weight, negated))
    return found


def classify_text(text: str, rating: int | None = None) -> dict[str, Any]:
    """The classification with its reasons (pure: no database, no context)."""
    text = (text or "")[:MAX_TEXT]
    reasons: list[str] = []
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for category, table in CATEGORY_CUES.items():
        hits = [(cue, w) for cue, w, negated in _matches(text, table) if not negated]
        scores[category] = round(sum(w for _, w in hits), 2)
        matched[category] = [cue for cue, _ in hits]
    if rating is not None:
        if rating <= 2 and scores["bug"] > 0:
            scores["bug"] += 1
            reasons.append(f"rating {rating} of 5 strengthens 'bug'")
        if rating >= 4 and scores["praise"] > 0:
            scores["praise"] += 1
            reasons.append(f"rating {rating} of 5 strengthens 'praise'")
    best = max(scores, key=lambda c: (scores[c], c == "bug"))
    category = best if scores[best] > 0 else "other"
    for cat in CATEGORY_CUES:
        if matched[cat]:
            reasons.insert(0, f"{cat} cues: {', '.join(repr(c) for c in matched[cat])} (score {scores[cat]:g})")
    if category == "other":
        reasons.append("no category cue matched: 'other'")
    total = sum(scores.values())
    confidence = round(scores[category] / total, 2) if total and category != "other" else 0.0

    positive = negative = 0.0
    pos_cues, neg_cues = [], []
    for cue, weight, negated in _matches(text, POSITIVE):
        if negated:
            negative += weight
            neg_cues.append(f"not {cue}")
        else:
            positive += weight
            pos_cues.append(cue)
    for cue, weight, negated in _matches(text, NEGATIVE):
        if negated:
            continue  # "not slow", "never crashes": not a complaint
        negative += weight
        neg_cues.append(cue)
    if pos_cues:
        reasons.append(f"positive words: {', '.join(pos_cues)}")
    if neg_cues:
        reasons.append(f"negative words: {', '.join(neg_cues)}")
    if rating is not None:
        shift = {1: -3, 2: -2, 3: 0, 4: 1.5, 5: 2.5}[rating]
        if shift > 0:
            positive += shift
        elif shift < 0:
            negative += -shift
        if shift:
            reasons.append(f"rating {rating} of 5 counts {'+' if shift > 0 else ''}{shift:g}")
    raw = positive - negative
    score = round(raw / (positive + negative), 2) if positive + negative else 0.0
    sentiment = "positive" if score >= 0.25 else "negative" if score <= -0.25 else "neutral"
    return {"category": category, "confidence": confidence, "scores": scores, "sentiment": sentiment,
            "sentiment_score": score, "matched": matched, "reasons": reasons}


@handler(
    "feedback.classify",
    "Category (bug, idea, praise, other) and sentiment of a feedback message, by keyword rules; "
    "the output lists the reasons.",
    params={
        "text": {"type": "string", "maxLength": 20000, "description": "The message (or use `feedback`)."},
        "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "feedback": {"type": "object", "description": "A feedback record (its message and rating are used)."},
    },
    any_of=[{"required": ["text"]}, {"required": ["feedback"]}],
    example={"feedback": "${{ feedback }}"},
)
def classify(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    fb = params.get("feedback") or {}
    text = params.get("text") if params.get("text") is not None else fb.get("message")
    if not isinstance(text, str):
        raise StepError("no text to classify: give `text` or a `feedback` with a message", retryable=False)
    rating = params.get("rating", fb.get("rating"))
    if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5):
        rating = None
    return classify_text(text, rating)
