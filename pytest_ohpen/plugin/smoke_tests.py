"""The smoke checks as pytest tests: the playbook's list, one test per resource and check.

They live in the package so that ``suites/smoke`` and ``suites/post_rollback`` collect the
very same functions (nothing copied). Run right after `terraform apply`:
`pytest suites/smoke --env prod`.
"""

from __future__ import annotations

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.awslambda import check_lambda_active, check_lambda_invocable
from pytest_ohpen.checks.glue import check_glue_job_exists
from pytest_ohpen.checks.s3 import check_bucket_accessible
from pytest_ohpen.checks.stepfunctions import check_state_machine_active
from pytest_ohpen.plugin.outcomes import skip_by_choice


def test_bucket_accessible(ohpen_bucket: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The bucket exists and this account can read it (head, then list one key)."""
    check_bucket_accessible(ohpen_aws.client("s3"), ohpen_bucket, ohpen_where)


def test_glue_job_exists(ohpen_glue_job: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The Glue job is defined."""
    check_glue_job_exists(ohpen_aws.client("glue"), ohpen_glue_job, ohpen_where)


def test_state_machine_active(
    ohpen_state_machine: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """The state machine exists and is ACTIVE."""
    check_state_machine_active(ohpen_aws.client("stepfunctions"), ohpen_state_machine, ohpen_where)


def test_lambda_active(ohpen_lambda: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The Lambda function exists and its state is Active."""
    check_lambda_active(ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where)


def test_lambda_invocable(
    ohpen_lambda: str, ohpen_aws: AwsClients, ohpen_where: Where, ohpen_invoke_lambda: bool
) -> None:
    """The Lambda function runs without a function error (opt-in: it executes code)."""
    if not ohpen_invoke_lambda:
        skip_by_choice("invocation is opt-in: --invoke-lambda or SMOKE_INVOKE_LAMBDA=1")
    check_lambda_active(ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where)
    check_lambda_invocable(ohpen_aws.invoker(), ohpen_lambda, ohpen_where)
