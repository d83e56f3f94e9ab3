"""The smoke checks as pytest tests: the playbook's list, one test per resource and check.

They live in the package so that ``suites/smoke`` and ``suites/post_rollback`` collect the
very same functions (nothing copied). Each answers in a few AWS calls per resource, so the
whole suite stays within the playbook's 2 minutes. Run right after `terraform apply`:
`pytest suites/smoke --env prod`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.awslambda import check_lambda_active, check_lambda_invocable
from pytest_ohpen.checks.catalog import check_table_schema_compatible
from pytest_ohpen.checks.deploy_time import function_updated_at
from pytest_ohpen.checks.encryption import check_bucket_encryption
from pytest_ohpen.checks.glue import check_glue_job_executable, check_glue_job_exists
from pytest_ohpen.checks.lambda_errors import check_lambda_no_errors
from pytest_ohpen.checks.permissions import Need, check_role_can_do_its_job, role_needs
from pytest_ohpen.checks.references import check_state_machine_references
from pytest_ohpen.checks.s3 import check_bucket_accessible
from pytest_ohpen.checks.security import check_role_policies_least_privilege
from pytest_ohpen.checks.stack_reads import described_jobs, described_state_machines
from pytest_ohpen.checks.stepfunctions import check_state_machine_active
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.plugin.outcomes import skip_by_choice
from pytest_ohpen.plugin.services import INVOKER, uses

# ---------------------------------------------------------------- the playbook's list


@uses("s3")
def test_bucket_accessible(ohpen_bucket: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The bucket exists and this account can read it (head, then list one key)."""
    check_bucket_accessible(ohpen_aws.client("s3"), ohpen_bucket, ohpen_where)


@uses("glue")
def test_glue_job_exists(ohpen_glue_job: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The Glue job is defined."""
    check_glue_job_exists(ohpen_aws.client("glue"), ohpen_glue_job, ohpen_where)


@uses("stepfunctions")
def test_state_machine_active(
    ohpen_state_machine: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """The state machine exists and is ACTIVE."""
    check_state_machine_active(ohpen_aws.client("stepfunctions"), ohpen_state_machine, ohpen_where)


@uses("lambda")
def test_lambda_active(ohpen_lambda: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The Lambda function exists and its state is Active."""
    check_lambda_active(ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where)


@uses("lambda", INVOKER)
def test_lambda_invocable(
    ohpen_lambda: str, ohpen_aws: AwsClients, ohpen_where: Where, ohpen_invoke_lambda: bool
) -> None:
    """The Lambda function runs without a function error (opt-in: it executes code)."""
    if not ohpen_invoke_lambda:
        skip_by_choice("invocation is opt-in: --invoke-lambda or SMOKE_INVOKE_LAMBDA=1")
    check_lambda_active(ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where)
    check_lambda_invocable(ohpen_aws.invoker(), ohpen_lambda, ohpen_where)


# ---------------------------------------------------------------- the playbook's failures


@uses("glue", "iam", "s3")
def test_glue_job_executable(
    ohpen_glue_job: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 1: the job's role exists and trusts glue.amazonaws.com; its script exists."""
    check_glue_job_executable(
        ohpen_aws.client("glue"),
        ohpen_aws.client("iam"),
        ohpen_aws.client("s3"),
        ohpen_glue_job,
        ohpen_where,
    )


@uses("glue", "stepfunctions", "iam")
def test_role_can_do_its_job(
    ohpen_role: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 2: IAM allows the role what its Glue jobs and state machines need (their
    script, input and output buckets, their tasks) and what [resources.permissions] lists."""
    resources = ohpen_env.resources
    extra = [
        Need(p.action, p.resource, "[resources.permissions]")
        for p in resources.permissions.get(ohpen_role, ())
    ]
    needs = role_needs(
        described_jobs(ohpen_aws.client("glue"), resources.glue_jobs, ohpen_where),
        described_state_machines(
            ohpen_aws.client("stepfunctions"), resources.state_machines, ohpen_where
        ),
        ohpen_role,
        extra,
    )
    if not needs:
        pytest.skip(
            f"IAM role {ohpen_role}: nothing known it must be allowed (no Glue job or state "
            f"machine of [{ohpen_env.name}.resources] runs as it, and "
            "[resources.permissions] lists nothing for it)"
        )
    check_role_can_do_its_job(ohpen_aws.client("iam"), ohpen_role, needs, ohpen_where)


@uses("stepfunctions", "lambda", "glue", "sns", "sqs", "s3")
def test_state_machine_references_exist(
    ohpen_state_machine: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 2: every Lambda, Glue job, topic, queue and bucket its definition names exists."""
    check_state_machine_references(
        ohpen_aws.client("stepfunctions"), _Clients(ohpen_aws), ohpen_state_machine, ohpen_where
    )


@uses("glue")
def test_table_schema_compatible(
    ohpen_table: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 3: the table's newest version drops no column and changes no type."""
    check_table_schema_compatible(ohpen_aws.client("glue"), ohpen_table, ohpen_where)


@uses("lambda", "cloudwatch", "s3")
def test_lambda_no_errors_since_deploy(
    ohpen_lambda: str,
    ohpen_deployed_at: datetime | None,
    ohpen_aws: AwsClients,
    ohpen_where: Where,
) -> None:
    """Scenario 3: CloudWatch counts no Errors of the function since the deploy (since its
    last update where no Terraform state says when the deploy was)."""
    since = ohpen_deployed_at or function_updated_at(
        ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where
    )
    check_lambda_no_errors(ohpen_aws.client("cloudwatch"), ohpen_lambda, since, ohpen_where)


@uses("iam")
def test_role_least_privilege(ohpen_role: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """Scenario 5: no policy of the role allows * on *, a whole service (s3:*, iam:*), write or
    permissions-management actions on every resource, iam:PassRole on *, or NotAction."""
    check_role_policies_least_privilege(ohpen_aws.client("iam"), ohpen_role, ohpen_where)


@uses("s3")
def test_bucket_encryption(
    ohpen_bucket: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Scenario 5: default encryption as the environment says (SSE-KMS with its key where
    kms, else SSE-S3 at least); where asked, the policy refuses unencrypted uploads."""
    security = ohpen_env.security
    check_bucket_encryption(
        ohpen_aws.client("s3"),
        ohpen_bucket,
        security.kms,
        security.kms_key,
        security.require_encrypted_uploads,
        ohpen_where,
    )


class _Clients(Mapping[str, Any]):
    """The run's clients by service name, each made when a check first asks for it."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws

    def __getitem__(self, service: str) -> Any:
        return self._aws.client(service)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
