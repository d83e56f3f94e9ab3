"""The checks that need time after a deploy, as pytest tests: the bake window over the
alarms, and run durations against their baseline. ``suites/bake`` runs them after the smoke
suite and before the rollback decision; ``suites/post_rollback`` runs them again.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.bake import BakeWindow, watch_alarm
from pytest_ohpen.checks.durations import (
    NotEnoughHistory,
    check_glue_job_duration,
    check_state_machine_duration,
)
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.plugin.services import uses


@pytest.mark.ohpen_bake
@uses("cloudwatch", "s3")
def test_alarm_quiet_during_bake(
    ohpen_alarm: str, ohpen_bake_window: BakeWindow, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 4: the alarm is not in ALARM, and does not go into it, from the deploy until
    the bake window ends (its history, not only its state now). The window is one for the
    run: the first alarm's test waits it out, the others then look once."""
    watch_alarm(ohpen_aws.client("cloudwatch"), ohpen_alarm, ohpen_bake_window, ohpen_where)


@uses("glue", "s3")
def test_glue_job_duration(
    ohpen_glue_job: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 4: the newest completed run took at most duration_regression_factor times the
    median of the runs before it."""
    try:
        check_glue_job_duration(
            ohpen_aws.client("glue"),
            ohpen_glue_job,
            ohpen_env.duration_regression_factor,
            ohpen_where,
        )
    except NotEnoughHistory as reason:
        pytest.skip(str(reason))


@uses("stepfunctions", "s3")
def test_state_machine_duration(
    ohpen_state_machine: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 4: the newest succeeded execution took at most duration_regression_factor
    times the median of the ones before it."""
    try:
        check_state_machine_duration(
            ohpen_aws.client("stepfunctions"),
            ohpen_state_machine,
            ohpen_env.duration_regression_factor,
            ohpen_where,
        )
    except NotEnoughHistory as reason:
        pytest.skip(str(reason))
