"""`flask nous workflows list|import|export|run|runs|cancel`."""

from __future__ import annotations

import json

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.workflows import service
from tests.conftest import run_cli
from tests.workflows.conftest import HANDLER_ENV

DOC = """\
# comments survive an export
name: CLI flow
steps:
  - id: classify
    uses: feedback.classify
    with: {text: "${{ text }}"}
"""


def invoke(runner, *args: str):
    return runner.invoke(args=["nous", "workflows", *args], catch_exceptions=False)


def test_import_list_export(runner, tmp_path, ctx):
    path = tmp_path / "flow.yaml"
    path.write_text(DOC)
    result = invoke(runner, "import", str(path))
    assert result.exit_code == 0 and "created workflow 'CLI flow'" in result.output
    again = invoke(runner, "import", str(path))
    assert again.exit_code == 0 and "unchanged workflow 'CLI flow'" in again.output

    listed = invoke(runner, "list")
    assert "CLI flow" in listed.output and "enabled" in listed.output and "manual" in listed.output
    as_json = json.loads(invoke(runner, "list", "--json").output)
    assert as_json[0]["name"] == "CLI flow" and as_json[0]["last_run"] is None

    assert invoke(runner, "export", "CLI flow").output == DOC
    converted = json.loads(invoke(runner, "export", "CLI flow", "--format", "json").output)
    assert converted["steps"][0]["uses"] == "feedback.classify"
    out = tmp_path / "out.json"
    assert invoke(runner, "export", "CLI flow", "--format", "json", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == converted

    assert [e.action for e in db.session.scalars(db.select(AuditEvent))] == ["workflows.create"]
    assert db.session.scalars(db.select(AuditEvent)).first().actor.startswith("cli:")


def test_a_refused_import_names_file_line_and_field_and_exits_1(runner, tmp_path, ctx):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - id: a\n    uses: delay\n    with: {seconds: 1}\n  - id: a\n    uses: nope\n")
    result = runner.invoke(args=["nous", "workflows", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:6: steps[1].id: duplicate step id 'a'" in result.output
    assert f"{bad}:7: steps[1].uses: unknown handler 'nope'" in result.output
    assert service.list_workflows() == []


def test_errors_are_clear_and_exit_1(runner, tmp_path, ctx):
    missing = runner.invoke(args=["nous", "workflows", "export", "nope"])
    assert missing.exit_code == 1 and "no workflow named 'nope'" in missing.output
    service.create(DOC, "admin@nous.test")
    bad_input = runner.invoke(args=["nous", "workflows", "run", "CLI flow", "--input", "{oops"])
    assert bad_input.exit_code == 1 and "not valid JSON" in bad_input.output
    cancel = runner.invoke(args=["nous", "workflows", "cancel", "12345"])
    assert cancel.exit_code == 1 and "no workflow run 12345" in cancel.output
    unreadable = runner.invoke(args=["nous", "workflows", "import", str(tmp_path / "absent.yaml")])
    assert unreadable.exit_code == 1 and "cannot read" in unreadable.output


def test_run_queues_and_runs_lists_and_cancel_cancels(runner, ctx):
    service.create(DOC, "admin@nous.test")
    result = invoke(runner, "run", "CLI flow", "--input", '{"text": "it crashes"}')
    assert result.exit_code == 0 and "queued" in result.output
    [run] = service.list_runs().rows
    assert run.input == {"text": "it crashes"} and run.actor.startswith("cli:")
    assert f"#{run.id}" in invoke(runner, "runs").output
    assert invoke(runner, "cancel", str(run.id)).output.strip() == f"run {run.id}: canceled"


def test_run_wait_in_a_real_subprocess_with_a_real_worker(ctx, tmp_path, wf_worker):
    service.create(DOC.replace("CLI flow", "CLI waits"), "admin@nous.test")
    wf_worker()
    done = run_cli("nous", "workflows", "run", "CLI waits", "--input", '{"text": "please add dark mode"}', "--wait",
                   "--timeout", "60", env=HANDLER_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "classify" in done.stdout and "succeeded" in done.stdout


def test_list_and_runs_show_the_last_run_and_json(runner, tmp_path, ctx):
    from nous.workflows.examples import seed_examples

    seed_examples()
    wf = service.by_name("Triage crash reports")
    input_file = tmp_path / "input.json"
    input_file.write_text('{"feedback": {"id": 1, "rating": 5, "message": "fine"}}')
    assert invoke(runner, "run", "Triage crash reports", "--input", f"@{input_file}").exit_code == 0
    [run] = service.list_runs(wf.id).rows
    assert f"#{run.id} queued" in invoke(runner, "list").output
    rows = json.loads(invoke(runner, "runs", "Triage crash reports", "--json").output)
    assert rows[0]["id"] == run.id and rows[0]["input"]["feedback"]["rating"] == 5
    listed = json.loads(invoke(runner, "list", "--json").output)
    assert {w["name"]: w["last_run"] and w["last_run"]["status"] for w in listed} == {
        "Triage crash reports": "queued", "Weekly low-rating export": None}
    waited = runner.invoke(args=["nous", "workflows", "run", "Weekly low-rating export", "--wait", "--timeout", "1"])
    assert waited.exit_code == 1 and "still queued after 1 s" in waited.output  # no worker in this test
    missing = runner.invoke(args=["nous", "workflows", "runs", "nope"])
    assert missing.exit_code == 1 and "no workflow named 'nope'" in missing.output


def test_runs_keep_their_columns_whatever_the_status_says(runner, make_workflow):
    from tests.workflows.conftest import ADMIN, run_here

    partly = make_workflow("""\
        name: Partly
        steps:
          - id: call
            uses: http.request
            with: {url: "http://10.0.0.1/"}
            continue_on_error: true
        """)
    plain = make_workflow("name: Plain\nsteps:\n  - id: wait\n    uses: delay\n    with: {seconds: 0}\n")
    service.run_now(partly.id, {}, ADMIN)
    run_here()
    service.run_now(plain.id, {}, ADMIN)
    lines = invoke(runner, "runs").output.splitlines()
    assert [line.split()[1] for line in lines] == ["Plain", "Partly"]
    assert "succeeded with 1 failed step" in lines[1]
    assert len({line.index(" manual ") for line in lines}) == 1, lines  # the trigger column lines up
