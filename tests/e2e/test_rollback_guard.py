"""Issue 11 items 4 and 5 for ``ohpen rollback terraform --apply`` (and the playbook's
script forwarding to it): the readiness blockers are gathered right before the apply and
refuse it (a RUNNING Step Functions execution here: moto keeps it RUNNING) unless
``--force --reason`` overrides them, recorded; and a ``rollback_terraform`` record with
``status: started`` is written before anything is applied, or nothing is.

The setting (repository, environments file, moto backend, Terraform stand-in) is the one
of ``test_rollback.py``.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from accounts import etl_pipeline
from test_rollback import ENV, REGION, Prod, make_prod, use_stand_in
from test_rollback_cli import run_script

MACHINE = "ohpen-etl-orchestration"
REASON = "the ETL run is hung on a dead worker; the data team agreed"


@pytest.fixture
def prod(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Prod:
    """test_rollback's setting, with the ETL state machine among the resources."""
    prod = use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys))
    prod.toml.write_text(
        prod.toml.read_text() + f'[{ENV}.resources]\nstate_machines = ["{MACHINE}"]\n'
    )
    etl_pipeline(fresh_moto, MACHINE)
    return prod


def start_pipeline(prod: Prod) -> None:
    sfn = boto3.client("stepfunctions", endpoint_url=prod.url, region_name=REGION)
    [machine] = sfn.list_state_machines()["stateMachines"]
    sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="etl-hung")


def test_a_running_pipeline_refuses_the_apply(prod: Prod) -> None:
    start_pipeline(prod)
    before = prod.versions()

    done = prod.rollback("--apply")

    assert done.code == 1, done.out + done.err
    refusals = [line for line in done.out.splitlines() if line.startswith("refused: ")]
    assert len(refusals) == 1
    assert "pipeline_running" in refusals[0] and "etl-hung" in refusals[0]
    assert "apply" not in prod.steps()
    assert prod.versions() == before
    assert prod.records("rollback_terraform") == []
    outcome = prod.incident().data["outcome"]
    assert outcome.startswith("refused: blocked by pipeline_running"), outcome


def test_force_with_a_reason_applies_and_records_both(prod: Prod) -> None:
    start_pipeline(prod)

    done = prod.rollback("--apply", "--force", "--reason", REASON)

    assert done.code == 0, done.out + done.err
    assert prod.steps()[-1] == "apply"
    assert "warning: rollback terraform --force overrides pipeline_running" in done.out
    [started] = prod.records("rollback_terraform")
    assert started.data["status"] == "started"
    assert (started.data["force"], started.data["force_reason"]) == (True, REASON)
    assert [b["code"] for b in started.data["blockers"]] == ["pipeline_running"]
    incident = prod.incident().data
    assert (incident["outcome"], incident["reason"]) == ("applied", REASON)
    assert incident["details"]["started_record"] == started.id
    assert incident["details"]["force"] is True


def test_force_without_a_reason_is_a_usage_error(prod: Prod) -> None:
    done = prod.rollback("--apply", "--force")

    assert done.code == 2
    assert done.err.count("\n") == 1 and "--force needs --reason TEXT" in done.err
    assert prod.steps() == []


def test_the_script_passes_force_and_reason_through(prod: Prod) -> None:
    start_pipeline(prod)

    done = run_script(prod, "--apply", "--force", "--reason", REASON)

    assert done.returncode == 0, done.stdout + done.stderr
    assert prod.steps()[-1] == "apply"
    assert prod.incident().data["details"]["force_reason"] == REASON


def test_nothing_is_applied_when_the_started_record_cannot_be_written(prod: Prod) -> None:
    blocker = prod.root / "afile"
    blocker.write_text("not a folder\n")
    text = prod.toml.read_text().replace(str(prod.ops / "audit"), str(blocker / "audit"))
    prod.toml.write_text(text)
    before = prod.versions()

    done = prod.rollback("--apply")

    assert done.code == 1, done.out + done.err
    assert "refused: cannot record the rollback before applying it" in done.out
    assert "apply" not in prod.steps()
    assert prod.versions() == before
