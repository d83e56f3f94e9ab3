"""Post-rollback, step 4: the security posture (the playbook's "Security Issues").

Encryption and least privilege are smoke checks (suites/smoke), run here through
test_smoke_checks.py."""

from __future__ import annotations

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.security import (
    check_lambda_policy_no_public_principal,
    check_public_access_blocked,
    check_state_machine_logging,
    check_tls_only,
    check_versioning_enabled,
)
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.plugin.outcomes import skip_by_choice


def test_bucket_blocks_public_access(
    ohpen_bucket: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """All four public-access-block settings are on."""
    check_public_access_blocked(ohpen_aws.client("s3"), ohpen_bucket, ohpen_where)


def test_bucket_denies_non_tls(
    ohpen_bucket: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """The bucket policy denies requests without TLS (aws:SecureTransport false)."""
    if not ohpen_env.security.tls_policy:
        skip_by_choice(f"[{ohpen_env.name}.security] tls_policy = false")
    check_tls_only(ohpen_aws.client("s3"), ohpen_bucket, ohpen_where)


def test_bucket_versioned(ohpen_bucket: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """Versioning is on: a rollback cannot restore deleted data, versions can."""
    check_versioning_enabled(ohpen_aws.client("s3"), ohpen_bucket, ohpen_where)


def test_lambda_not_public(ohpen_lambda: str, ohpen_aws: AwsClients, ohpen_where: Where) -> None:
    """The function's resource policy lets no anonymous principal invoke it unconditionally."""
    check_lambda_policy_no_public_principal(ohpen_aws.client("lambda"), ohpen_lambda, ohpen_where)


def test_state_machine_logs(
    ohpen_state_machine: str, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """Execution logging is on, so a failed run can be diagnosed."""
    check_state_machine_logging(ohpen_aws.client("stepfunctions"), ohpen_state_machine, ohpen_where)
