"""Post-rollback, step 2: the pipeline end to end (the playbook's "Test ETL pipeline").

For each state machine: a small verification input goes to the environment's first bucket
(its bronze/input bucket) under rollback-verification/, an execution named
rollback-verification-<UTC timestamp> runs on it, and the test passes on SUCCEEDED. The
input is removed afterwards. `e2e = false` in an environment keeps this from ever starting
anything there.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.pipeline import run_pipeline
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.plugin.outcomes import skip_by_choice


@pytest.mark.ohpen_pipeline
def test_pipeline_runs_end_to_end(
    ohpen_state_machine: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """An execution on a fresh input SUCCEEDS; a failure names the state, error and cause."""
    if not ohpen_env.e2e:
        skip_by_choice(f"e2e = false for environment {ohpen_env.name!r}: nothing is started there")
    if not ohpen_env.resources.buckets:
        pytest.skip("no input bucket: the environment lists no buckets")
    run_pipeline(
        ohpen_aws.client("s3"),
        ohpen_aws.client("stepfunctions"),
        ohpen_state_machine,
        ohpen_env.resources.buckets[0],
        ohpen_where,
        timeout=ohpen_env.pipeline_timeout,
    )
