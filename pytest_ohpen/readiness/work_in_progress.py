"""Work in progress that must finish before a rollback, read-only.

The playbook's first "When NOT to Rollback" case: the data pipeline is running, so
wait for the current ETL runs to complete. A Step Functions execution or a Glue job
run that has not ended is such work. A state machine or job that does not exist has
nothing running: it is missing, not busy (the smoke checks report it as missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.aws.errors import error_code

SFN_NOT_FOUND = frozenset({"StateMachineDoesNotExist"})
GLUE_NOT_FOUND = frozenset({"EntityNotFoundException"})
GLUE_RUNNING = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
"""Glue run states that have not ended (a STOPPING run still writes until it stops)."""


@dataclass(frozen=True)
class RunningWork:
    """One execution or job run that has not ended."""

    kind: str
    """"execution" or "glue_job_run"."""
    resource: str
    """The state machine or Glue job name."""
    run_id: str
    """The execution ARN or the JobRunId."""
    started: str
    """ISO 8601 in UTC; "" when AWS did not say."""


def running_executions(sfn: Any, state_machine_arn: str, name: str) -> list[RunningWork]:
    """The state machine's RUNNING executions, newest first as AWS lists them."""
    import botocore.exceptions as bex

    found: list[RunningWork] = []
    paginator = sfn.get_paginator("list_executions")
    try:
        for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter="RUNNING"):
            found += [
                RunningWork(
                    kind="execution",
                    resource=name,
                    run_id=str(execution["executionArn"]),
                    started=_iso(execution.get("startDate")),
                )
                for execution in page.get("executions", [])
                if execution.get("status", "RUNNING") == "RUNNING"
            ]
    except bex.ClientError as error:
        if error_code(error) in SFN_NOT_FOUND:
            return []
        raise
    return found


def running_glue_runs(glue: Any, job: str) -> list[RunningWork]:
    """The job's runs that are starting, running, stopping or waiting."""
    import botocore.exceptions as bex

    found: list[RunningWork] = []
    paginator = glue.get_paginator("get_job_runs")
    try:
        for page in paginator.paginate(JobName=job):
            found += [
                RunningWork(
                    kind="glue_job_run",
                    resource=job,
                    run_id=str(run["Id"]),
                    started=_iso(run.get("StartedOn")),
                )
                for run in page.get("JobRuns", [])
                if run.get("JobRunState") in GLUE_RUNNING
            ]
    except bex.ClientError as error:
        if error_code(error) in GLUE_NOT_FOUND:
            return []
        raise
    return found


def _iso(moment: object) -> str:
    if not isinstance(moment, datetime):
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
