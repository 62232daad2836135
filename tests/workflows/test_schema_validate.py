"""Workflow documents' validation: the schema and the rules beyond it, each problem naming line and field."""

from __future__ import annotations

import textwrap

import pytest

from nous.workflows import schema
from tests.workflows.documents import problems


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


def test_an_expression_written_without_its_dollar_is_refused_where_it_stands():
    [p] = problems("""\
        name: x
        steps:
          - id: a
            uses: feedback.classify
            with:
              text: "{{ input.message }}"
        """)
    assert (p.line, p.field) == (6, "steps[0].with.text")
    assert p.message == "{{ input.message }} would be passed on as text; an expression is written ${{ input.message }}"
    [nested] = problems("""\
        name: x
        steps:
          - id: a
            uses: email.send
            with: {template: test, context: {lines: ["ok", "rated {{feedback.rating}}"]}}
        """)
    assert nested.field == "steps[0].with.context.lines[1]" and "${{feedback.rating}}" in nested.message
    schema.parse(textwrap.dedent("""\
        name: x
        steps:
          - id: a
            uses: feedback.classify
            with: {text: "${{ input.message }} {{ not an expression }} {{}} ${{ input.extra }}"}
        """))  # braces around text that is no expression are text
