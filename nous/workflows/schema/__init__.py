"""Workflow documents: parse JSON or YAML, validate against the JSON Schema and the rules a schema
cannot express, and report every problem with the line and the field it is about.

    name: Triage crash reports
    trigger:
      event: feedback.created
    steps:
      - id: classify
        uses: feedback.classify
        if: feedback.rating <= 2 and "crash" in lower(feedback.message)
        with:
          feedback: ${{ feedback }}
      - id: tag
        uses: feedback.update
        with: {id: "${{ feedback.id }}", add_tags: ["${{ steps.classify.output.category }}"]}
        retry: {max: 3, backoff: 10}

The modules: `positions` (composing the text with each value's line and column), `validate` (the
JSON Schema and the rules beyond it) and `document` (parse, normalize, write back).
"""

from nous.workflows.schema.document import MAX_SOURCE, Document, dump, iter_problems, normalize, parse, to_document
from nous.workflows.schema.positions import MAX_NODES, DocumentInvalid, Path, Problem, detect_format, field_name
from nous.workflows.schema.validate import (
    CONTEXT_NAMES,
    DEFAULT_TIMEOUT,
    DOCUMENT_SCHEMA,
    EVENTS,
    MAX_BACKOFF,
    MAX_STEPS,
    MAX_TIMEOUT,
    NOTIFY_ON,
    STEP_ID_PATTERN,
    STEP_SCHEMA,
    in_words,
)

__all__ = ["CONTEXT_NAMES", "DEFAULT_TIMEOUT", "DOCUMENT_SCHEMA", "EVENTS", "MAX_BACKOFF", "MAX_NODES", "MAX_SOURCE",
           "MAX_STEPS", "MAX_TIMEOUT", "NOTIFY_ON", "STEP_ID_PATTERN", "STEP_SCHEMA", "Document", "DocumentInvalid",
           "Path", "Problem", "detect_format", "dump", "field_name", "in_words", "iter_problems", "normalize", "parse",
           "to_document"]
