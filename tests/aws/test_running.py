"""Executions and Glue runs that have not ended are found; ended or missing ones are not.

A moto server holds real state machines and jobs. moto only moves a Glue run through
its states when told how (the state manager); STOPPING and WAITING, which moto never
reaches, are tests/unit/test_running_glue_states.py (botocore's Stubber).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from pytest_ohpen.readiness.work_in_progress import (
    RunningWork,
    running_executions,
    running_glue_runs,
)

REGION = "eu-west-1"
MACHINE = "ohpen-etl-orchestration"
JOB = "ohpen-transaction-etl-spark"
PASS_ONLY = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::123456789012:role/ohpen-etl-role"


def _moto_api(url: str, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/{path}", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture
def sfn(fresh_moto: str) -> Any:
    """A Step Functions client whose executions stay RUNNING until stopped.

    Another test may have told the shared server to execute state machines; this one
    must not, or executions would end on their own.
    """
    _moto_api(fresh_moto, "config", {"stepfunctions": {"execute_state_machine": False}})
    return boto3.client("stepfunctions", endpoint_url=fresh_moto, region_name=REGION)


def _machine(sfn: Any) -> str:
    created = sfn.create_state_machine(name=MACHINE, definition=PASS_ONLY, roleArn=ROLE)
    return str(created["stateMachineArn"])


@pytest.fixture
def glue(fresh_moto: str) -> Iterator[Any]:
    """A Glue client and the ETL job; the run-state progression is moto's default again after."""
    client = boto3.client("glue", endpoint_url=fresh_moto, region_name=REGION)
    client.create_job(
        Name=JOB,
        Role=ROLE,
        Command={"Name": "glueetl", "ScriptLocation": "s3://ohpen-artifacts/glue/main.py"},
        ExecutionProperty={"MaxConcurrentRuns": 5},
    )
    _moto_api(fresh_moto, "state-manager/unset-transition", {"model_name": "glue::job_run"})
    yield client
    _moto_api(fresh_moto, "state-manager/unset-transition", {"model_name": "glue::job_run"})


def _started(work: RunningWork) -> datetime:
    started = datetime.fromisoformat(work.started)
    assert started.utcoffset() is not None
    return started.astimezone(UTC)


def test_a_running_execution_is_work_in_progress(sfn: Any) -> None:
    """An execution still RUNNING means the pipeline is busy: wait before rolling back."""
    arn = _machine(sfn)
    before = datetime.now(UTC).replace(microsecond=0)
    execution = sfn.start_execution(stateMachineArn=arn, name="etl-2026-01-29")

    [work] = running_executions(sfn, arn, MACHINE)

    assert (work.kind, work.resource, work.run_id) == (
        "execution",
        MACHINE,
        execution["executionArn"],
    )
    assert _started(work) >= before


def test_a_stopped_execution_is_not_running(sfn: Any) -> None:
    """Once stopped (or ended) an execution no longer blocks a rollback."""
    arn = _machine(sfn)
    execution = sfn.start_execution(stateMachineArn=arn, name="etl-2026-01-29")
    sfn.stop_execution(executionArn=execution["executionArn"])

    assert running_executions(sfn, arn, MACHINE) == []


def test_every_page_of_running_executions_is_read(sfn: Any) -> None:
    """One execution per page: all three are found."""
    arn = _machine(sfn)
    started = {
        sfn.start_execution(stateMachineArn=arn, name=f"etl-{n}")["executionArn"] for n in range(3)
    }
    calls: list[str] = []

    def one_per_page(params: dict[str, Any], **_: Any) -> None:
        params["maxResults"] = 1
        calls.append(params["stateMachineArn"])

    sfn.meta.events.register("provide-client-params.states.ListExecutions", one_per_page)

    found = running_executions(sfn, arn, MACHINE)

    assert {w.run_id for w in found} == started
    assert len(calls) >= 3


def test_a_missing_state_machine_has_nothing_running(sfn: Any) -> None:
    """Missing is not busy: the smoke checks already report a missing state machine."""
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:{MACHINE}"

    assert running_executions(sfn, arn, MACHINE) == []


def test_a_running_glue_run_is_work_in_progress(fresh_moto: str, glue: Any) -> None:
    """A run seen RUNNING blocks a rollback; once it has SUCCEEDED it no longer does.

    moto's state manager, manual progression: one step per GetJobRuns, so the first
    look sees RUNNING (from STARTING) and the second SUCCEEDED.
    """
    _moto_api(
        fresh_moto,
        "state-manager/set-transition",
        {"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1}},
    )
    before = datetime.now(UTC).replace(microsecond=0)
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]

    [work] = running_glue_runs(glue, JOB)

    assert (work.kind, work.resource, work.run_id) == ("glue_job_run", JOB, run_id)
    assert _started(work) >= before
    assert running_glue_runs(glue, JOB) == []
    assert glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"


def test_a_finished_glue_run_is_not_running(glue: Any) -> None:
    """moto's default: a run has SUCCEEDED by the time anyone looks."""
    glue.start_job_run(JobName=JOB)

    assert running_glue_runs(glue, JOB) == []


def test_a_missing_glue_job_has_nothing_running(glue: Any) -> None:
    """Missing is not busy."""
    assert running_glue_runs(glue, "no-such-job") == []
