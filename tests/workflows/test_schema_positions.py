"""Workflow documents' positions: a problem in YAML or JSON names its line (and column)."""

from __future__ import annotations

from nous.workflows import schema
from tests.workflows.documents import problems


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


def test_json_problems_also_name_the_line():
    text = '{\n  "name": "x",\n  "steps": [\n    {"id": "a", "uses": "nope"}\n  ]\n}\n'
    [p] = problems(text)
    assert (p.line, p.field) == (4, "steps[0].uses")


def test_yaml_dates_become_text_and_unsafe_tags_are_refused():
    doc = schema.parse("name: x\nsteps:\n  - id: a\n    uses: data.validate\n    with:\n      data: 2024-05-01\n"
                       "      schema: {type: string}\n")
    assert doc.definition["steps"][0]["with"]["data"] == "2024-05-01"
    [p] = problems("name: !!python/object:os.system x\nsteps: []\n")
    assert p.line == 1 and "invalid YAML" in p.message
