"""The stack's own descriptions of its Glue jobs and state machines, read once per check
that derives something from them (which role runs what, what a definition references).

A resource that is not there is left out: its own existence check reports it, and what it
would have needed cannot be known. An AWS that could not answer is inconclusive.
"""

from __future__ import annotations

from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.glue import NOT_FOUND as GLUE_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import NOT_FOUND as SFN_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import state_machine_arn


def described_jobs(glue: Any, jobs: tuple[str, ...], where: Where) -> list[dict[str, Any]]:
    """GetJob's ``Job`` for each job that exists."""
    found = []
    for job in jobs:
        try:
            with probing("Glue job", job, where, GLUE_NOT_FOUND):
                found.append(dict(glue.get_job(JobName=job)["Job"]))
        except CheckFailed:
            continue
    return found


def described_state_machines(
    sfn: Any, machines: tuple[str, ...], where: Where
) -> list[dict[str, Any]]:
    """DescribeStateMachine for each state machine that exists."""
    found = []
    for machine in machines:
        try:
            with probing("state machine", machine, where, SFN_NOT_FOUND):
                found.append(
                    dict(
                        sfn.describe_state_machine(
                            stateMachineArn=state_machine_arn(machine, where)
                        )
                    )
                )
        except CheckFailed:
            continue
    return found
