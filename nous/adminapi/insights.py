"""/api/admin/v1/flags/{key}/feedback-comparison: what testers felt — the feedback of testers who had a
flag on against those who had it off, and per variant — through nous.feedback.service.by_flag, as the flag
page's card shows it."""

from __future__ import annotations

from flask import Response, request

from nous.adminapi.conventions import Problem, endpoint, param, respond, rfc3339, schemas
from nous.feedback import service as feedback

_by_flag = feedback.by_flag

_QUERY = [
    param("environment", {"type": "string", "maxLength": feedback.ENVIRONMENT_MAX},
          "The flag environment the flags were recorded in (the setting `flags.environment` when absent)."),
    param("days", {"type": "integer", "minimum": 1, "maximum": _by_flag.MAX_DAYS, "default": _by_flag.DEFAULT_DAYS},
          "The period: feedback of the last this many days."),
]


@endpoint("GET", "/flags/<key>/feedback-comparison", scope="feedback:read", tag="feedback",
          summary="Feedback with a flag on against off",
          description="From the flags each feedback's tester had when sending it (evaluated on the server, in "
                      "the environment of the setting `flags.environment` at the time): per group (on, off, "
                      "each variant) the count, the average rating with its 95 % confidence interval "
                      "(Student's t, n − 1 degrees of freedom), the share of bug reports and the most frequent "
                      "words and tags of its latest messages; spam is left out. `reading` says it in a "
                      "sentence: `too-few` below `min_group` feedback in either group, `no-clear-difference` "
                      "when the intervals overlap, else `higher` or `lower` (the flag on against off).",
          query=_QUERY, response="FeedbackComparison", errors=(404,))
def feedback_comparison(key: str) -> Response:
    try:
        found = _by_flag.compare_flag(key, request.args.get("environment"), request.args.get("days"))
    except _by_flag.ComparisonRefused as exc:
        raise Problem(exc.status, exc.message, exc.errors if exc.status != 404 else {}) from None
    return respond({**found.as_dict(), "since": rfc3339(found.since)})


_NUMBER = {"type": ["number", "null"]}
_GROUP = {"type": "object", "required": ["label", "state", "count", "average_rating", "ci95", "bug_share"],
          "properties": {
              "label": {"type": "string"}, "state": {"enum": ["on", "off"]}, "variant": {"type": ["string", "null"]},
              "count": {"type": "integer", "minimum": 0}, "average_rating": _NUMBER, "stdev": _NUMBER,
              "ci95": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                       "description": "Low and high end of the 95 % interval of the average (null below 2)."},
              "bug_reports": {"type": "integer"}, "bug_share": _NUMBER,
              "top_words": {"type": "array", "items": {"type": "object", "properties": {
                  "word": {"type": "string"}, "count": {"type": "integer"}}}},
              "top_tags": {"type": "array", "items": {"type": "object", "properties": {
                  "tag": {"type": "string"}, "count": {"type": "integer"}}}}}}
schemas(
    FeedbackComparisonGroup=_GROUP,
    FeedbackComparison={
        "type": "object",
        "required": ["flag", "environment", "days", "since", "on", "off", "variants", "verdict", "reading"],
        "properties": {
            "flag": {"type": "string"}, "environment": {"type": "string"}, "days": {"type": "integer"},
            "since": {"type": "string", "format": "date-time",
                      "description": "The start of the period: RFC 3339 in UTC with a `Z`, to the millisecond."},
            "min_group": {"type": "integer"},
            "confidence_interval": {"type": "string"},
            "on": {"$ref": "#/components/schemas/FeedbackComparisonGroup"},
            "off": {"$ref": "#/components/schemas/FeedbackComparisonGroup"},
            "variants": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackComparisonGroup"}},
            "verdict": {"enum": ["too-few", "no-clear-difference", "higher", "lower"]},
            "reading": {"type": "string"}, "variant_reading": {"type": "string"}},
        "example": {"flag": "checkout.new-flow", "environment": "production", "days": 30,
                    "since": "2026-11-06T14:00:00.000Z", "min_group": 10,
                    "confidence_interval": "95 %, Student's t with n - 1 degrees of freedom",
                    "on": {"label": "on", "state": "on", "variant": None, "count": 120, "average_rating": 4.3,
                           "stdev": 0.8, "ci95": [4.156, 4.444], "bug_reports": 12, "bug_share": 0.1,
                           "top_words": [{"word": "checkout", "count": 31}], "top_tags": []},
                    "off": {"label": "off", "state": "off", "variant": None, "count": 118, "average_rating": 3.7,
                            "stdev": 1.0, "ci95": [3.518, 3.882], "bug_reports": 30, "bug_share": 0.254,
                            "top_words": [{"word": "slow", "count": 22}], "top_tags": []},
                    "variants": [], "verdict": "higher",
                    "reading": "Testers with the flag on rated it 0.6 higher (4.3 vs 3.7).", "variant_reading": ""}},
)
