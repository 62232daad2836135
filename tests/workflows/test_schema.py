"""Workflow documents: valid ones are normalized; invalid ones are refused naming line and field."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from nous.workflows import schema
from nous.workflows.examples import example_files


def problems(text: str, fmt: str | None = None) -> list[schema.Problem]:
    with pytest.raises(schema.DocumentInvalid) as info:
        schema.parse(textwrap.dedent(text), fmt)
    return info.value.problems


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


def test_bad_yaml_names_the_line():
    [p] = problems("""\
        name: x
        steps:
          - id: a
           uses: delay
        """)
    assert p.line == 4 and "invalid YAML" in p.message


def test_bad_json_names_line_and_column():
    [p] = problems('{"name": "x",\n "steps": [\n  {"id": "a" "uses": "delay"}\n ]\n}')
    assert (p.line, p.column) == (3, 14) and "invalid JSON" in p.message


def test_unknown_handler_names_line_and_field_and_lists_the_handlers():
    [p] = problems("""\
        name: x
        steps:
          - id: a
            uses: delay
            with: {seconds: 1}
          - id: b
            uses: feedback.clasify
        """)
    assert (p.line, p.field) == (7, "steps[1].uses")
    assert p.message == "unknown handler 'feedback.clasify'; did you mean 'feedback.classify'?"
    assert str(p).startswith("line 7, steps[1].uses: ")
    [far] = problems("name: x\nsteps:\n  - id: a\n    uses: zzz\n")
    assert far.message.startswith("unknown handler 'zzz'; the handlers are ") and "delay, " in far.message


def test_duplicate_step_id_names_both_places():
    [p] = problems("""\
        name: x
        steps:
          - id: a
            uses: delay
            with: {seconds: 1}
          - id: a
            uses: delay
            with: {seconds: 2}
        """)
    assert (p.line, p.field) == (6, "steps[1].id")
    assert "duplicate step id 'a'" in p.message and "line 3" in p.message


@pytest.mark.parametrize(("where", "fragment"), [
    ("if: feedback.rating <=", "syntax error"),
    ("if: __import__('os')", "unknown function __import__"),
    ("if: feedback.__class__", "names starting with '_'"),
])
def test_bad_expression_in_if_names_the_line(where, fragment):
    [p] = problems(f"""\
        name: x
        steps:
          - id: a
            uses: delay
            {where}
            with: {{seconds: 1}}
        """)
    assert (p.line, p.field) == (5, "steps[0].if")
    assert "invalid expression" in p.message and fragment in p.message


def test_bad_expression_in_a_with_template_names_the_parameter():
    [p] = problems("""\
        name: x
        steps:
          - id: a
            uses: text.extract_entities
            with:
              text: "${{ feedback.message + }}"
        """)
    assert (p.line, p.field) == (6, "steps[0].with.text")


def test_cycle_in_references_between_steps_is_refused():
    found = problems("""\
        name: x
        steps:
          - id: a
            uses: text.extract_entities
            with:
              text: ${{ steps.b.output.text }}
          - id: b
            uses: text.extract_entities
            with:
              text: ${{ steps.a.output.urls }}
        """)
    [p] = found
    assert (p.line, p.field) == (6, "steps[0].with.text")
    assert "cycle in references between steps: a → b → a" in p.message


def test_forward_self_and_unknown_references_are_refused():
    found = problems("""\
        name: x
        steps:
          - id: a
            uses: delay
            if: steps.a.status == "succeeded"
            with: {seconds: 1}
          - id: b
            uses: delay
            if: steps.c.output.seconds > 1
            with: {seconds: 1}
          - id: c
            uses: delay
            if: steps.nope.status == "x"
            with: {seconds: 1}
        """)
    by_line = {p.line: p.message for p in found}
    assert "refers to its own output" in by_line[5]
    assert "runs later" in by_line[9]
    assert "'nope', which does not exist" in by_line[13]


@pytest.mark.parametrize(("text", "line", "field", "fragment"), [
    ("steps:\n  - id: a\n    uses: delay\n    with: {seconds: 1}\n", 1, "", "missing required field 'name'"),
    ("name: x\nstep: []\n", 2, "step", "unknown field 'step'"),
    ("name: x\nsteps:\n  - id: 1a\n    uses: delay\n    with: {seconds: 1}\n", 3, "steps[0].id", "a step id is"),
    ("name: x\nsteps:\n  - id: a\n    uses: delay\n    with: {seconds: soon}\n", 5, "steps[0].with.seconds",
     "must be a number"),
    ("name: x\nsteps:\n  - id: a\n    uses: delay\n    with: {second: 1}\n", 5, "steps[0].with.second",
     "unknown parameter 'second'"),
    ("name: x\nsteps:\n  - id: a\n    uses: delay\n", 3, "steps[0].with", "missing parameter 'seconds'"),
    ("name: x\ntrigger: {event: feedback.deleted}\nsteps:\n  - id: a\n    uses: delay\n    with: {seconds: 1}\n",
     2, "trigger", "trigger is `manual`"),
    ("name: x\ntrigger: {cron: '61 * * * *'}\nsteps:\n  - id: a\n    uses: delay\n    with: {seconds: 1}\n",
     2, "trigger.cron", "not a cron expression"),
    ("name: x\nsteps:\n  - id: a\n    uses: delay\n    with: {seconds: 1}\n    retry: {max: 11}\n", 6,
     "steps[0].retry.max", "11"),
    ("name: x\nname: y\nsteps: []\n", 2, "name", "duplicate field 'name' (first on line 1)"),
    ("name: &n x\ndescription: *n\nsteps: []\n", 1, "description", "aliases"),
    ("- a\n- b\n", 1, "", "must be a mapping"),
    ("name: x\nsteps: []\n", 2, "steps", "should be non-empty"),
    ("name: x\nsteps:\n  - id: a\n    uses: email.send\n    with: {template: nope}\n", 5, "steps[0].with.template",
     "'nope' is not one of"),
])
def test_schema_problems_name_line_and_field(text, line, field, fragment):
    found = problems(text)
    assert any(p.line == line and p.field == field and fragment in p.message for p in found), \
        [str(p) for p in found]


def test_missing_handler_parameter_is_reported():
    [p] = problems("name: x\nsteps:\n  - id: a\n    uses: delay\n    with: {}\n")
    assert p.field == "steps[0].with" and "missing parameter 'seconds'" in p.message


def test_json_problems_also_name_the_line():
    text = '{\n  "name": "x",\n  "steps": [\n    {"id": "a", "uses": "nope"}\n  ]\n}\n'
    [p] = problems(text)
    assert (p.line, p.field) == (4, "steps[0].uses")


@pytest.mark.parametrize("text", ["", "   \n", "\x00name: x", "name: [unclosed", "{", 123, b"\xff\xfe"])
def test_nonsense_is_refused_with_a_problem_not_an_exception(text):
    with pytest.raises(schema.DocumentInvalid) as info:
        schema.parse(text)
    assert info.value.problems and str(info.value)


def test_yaml_dates_become_text_and_unsafe_tags_are_refused():
    doc = schema.parse("name: x\nsteps:\n  - id: a\n    uses: data.validate\n    with:\n      data: 2024-05-01\n"
                       "      schema: {type: string}\n")
    assert doc.definition["steps"][0]["with"]["data"] == "2024-05-01"
    [p] = problems("name: !!python/object:os.system x\nsteps: []\n")
    assert p.line == 1 and "invalid YAML" in p.message
