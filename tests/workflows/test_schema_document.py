"""Workflow documents as a whole: valid ones are normalized and written back; nonsense is refused."""

from __future__ import annotations

import json

import pytest
import yaml

from nous.workflows import schema
from nous.workflows.examples import example_files

GOOD = """\
name: Triage
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
    continue_on_error: true
"""


def test_a_valid_document_is_normalized():
    doc = schema.parse(GOOD)
    d = doc.definition
    assert doc.format == "yaml"
    assert d["trigger"] == {"type": "event", "event": "feedback.created"}
    assert [s["id"] for s in d["steps"]] == ["classify", "tag"]
    assert d["steps"][1]["retry"] == {"max": 3, "backoff": [10.0, 20.0, 40.0]}  # doubled per retry
    assert d["steps"][1]["continue_on_error"] is True
    assert d["steps"][0]["timeout"] == 300
    assert d["notify"] == {"on": "failure", "to": []}


def test_json_and_yaml_give_the_same_definition():
    as_json = json.dumps(yaml.safe_load(GOOD), indent=2)
    assert schema.parse(as_json).format == "json"
    assert schema.parse(as_json).definition == schema.parse(GOOD).definition


def test_dump_and_parse_round_trip_in_both_formats():
    definition = schema.parse(GOOD).definition
    for fmt in ("yaml", "json"):
        assert schema.parse(schema.dump(definition, fmt), fmt).definition == definition


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_the_shipped_examples_are_valid(path):
    assert schema.parse(path.read_text()).definition["steps"]


@pytest.mark.parametrize("text", ["", "   \n", "\x00name: x", "name: [unclosed", "{", 123, b"\xff\xfe"])
def test_nonsense_is_refused_with_a_problem_not_an_exception(text):
    with pytest.raises(schema.DocumentInvalid) as info:
        schema.parse(text)
    assert info.value.problems and str(info.value)
