"""Post-rollback, step 5: the restored configuration equals the target state version's.

The target is `--target-state-version` (an id, `latest` or `previous`), else the newest
known-good mark; without one, these tests are skipped with the reason.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.configuration import (
    TargetState,
    check_glue_job_matches,
    check_lambda_matches,
    check_state_machine_matches,
)

NO_TARGET = (
    "no known target state version: pass --target-state-version VERSION|previous|latest, "
    "or let a green smoke run record a known-good mark"
)


def _target(state: TargetState | None) -> TargetState:
    if state is None:
        pytest.skip(NO_TARGET)
    return state


def test_glue_job_matches_target(
    ohpen_glue_job: str,
    ohpen_target_state: TargetState | None,
    ohpen_aws: AwsClients,
    ohpen_where: Where,
) -> None:
    """Worker type, number of workers, timeout and script location are the target's."""
    check_glue_job_matches(
        ohpen_aws.client("glue"), ohpen_glue_job, _target(ohpen_target_state), ohpen_where
    )


def test_lambda_matches_target(
    ohpen_lambda: str,
    ohpen_target_state: TargetState | None,
    ohpen_aws: AwsClients,
    ohpen_where: Where,
) -> None:
    """Runtime, handler, memory and timeout are the target's."""
    check_lambda_matches(
        ohpen_aws.client("lambda"), ohpen_lambda, _target(ohpen_target_state), ohpen_where
    )


def test_state_machine_matches_target(
    ohpen_state_machine: str,
    ohpen_target_state: TargetState | None,
    ohpen_aws: AwsClients,
    ohpen_where: Where,
) -> None:
    """The definition (by hash) and the role are the target's."""
    check_state_machine_matches(
        ohpen_aws.client("stepfunctions"),
        ohpen_state_machine,
        _target(ohpen_target_state),
        ohpen_where,
    )
