"""The security-posture checks pass on a hardened account and name each weakness otherwise.

Resources live in a real moto server. moto enforces bucket policies on object calls and
ignores their conditions, so a deny-non-TLS policy is put on a bucket only after its
objects are written, and only bucket-level APIs are called afterwards. Answers moto cannot
give (IAM's URL-encoded documents, access denied) come from botocore's Stubber. Reading a
policy document alone is tests/unit/test_policy_documents.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from accounts import ADMIN, ALL_BUT_IAM, DENY_NON_TLS, READ_FROM_PIPELINE, SCOPED
from botocore.stub import Stubber
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.encryption import check_bucket_encryption
from pytest_ohpen.checks.security import (
    check_lambda_policy_no_public_principal,
    check_public_access_blocked,
    check_role_policies_least_privilege,
    check_state_machine_logging,
    check_tls_only,
    check_versioning_enabled,
)

WHERE = Where("123456789012", "eu-west-1")
AT = "in account 123456789012 eu-west-1"
BUCKET = "ohpen-bronze"
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
PASS_ONLY = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/states/ohpen:*"


@pytest.fixture
def aws(fresh_moto: str) -> AwsClients:
    """Clients of an empty emulated account."""
    return moto_clients(fresh_moto)


def _bucket(s3: Any, name: str = BUCKET) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def _failure(check: Callable[[], None]) -> str:
    with pytest.raises(CheckFailed) as failure:
        check()
    return str(failure.value)


# ---------------------------------------------------------------- S3


S3_CHECKS: dict[str, Callable[[Any, str, Where], None]] = {
    "public access": check_public_access_blocked,
    "tls": check_tls_only,
    "versioning": check_versioning_enabled,
    "kms": lambda s3, bucket, where: check_bucket_encryption(s3, bucket, True, None, False, where),
}


@pytest.mark.parametrize("kind", list(S3_CHECKS))
def test_s3_checks_name_a_missing_bucket(kind: str, aws: AwsClients) -> None:
    message = _failure(lambda: S3_CHECKS[kind](aws.client("s3"), "ohpen-silver", WHERE))
    assert message == f"bucket ohpen-silver: not found (NoSuchBucket) {AT}"


def test_public_access_fully_blocked_passes(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=ALL_BLOCKED)
    check_public_access_blocked(s3, BUCKET, WHERE)


def test_bucket_without_public_access_block_fails(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    message = _failure(lambda: check_public_access_blocked(s3, BUCKET, WHERE))
    assert message == f"bucket {BUCKET}: no public access block {AT}"


def test_public_access_block_names_every_setting_that_is_off(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            **ALL_BLOCKED,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    message = _failure(lambda: check_public_access_blocked(s3, BUCKET, WHERE))
    assert message == (
        f"bucket {BUCKET}: public access not fully blocked "
        f"(BlockPublicPolicy=false, RestrictPublicBuckets=false) {AT}"
    )


def test_public_access_block_that_cannot_be_read_says_access_denied(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    with Stubber(s3) as stubber:
        stubber.add_client_error(
            "get_public_access_block", service_error_code="AccessDenied", http_status_code=403
        )
        message = _failure(lambda: check_public_access_blocked(s3, BUCKET, WHERE))
    assert message.startswith(f"bucket {BUCKET}: access denied (AccessDenied) {AT}")


def test_bucket_denying_non_tls_access_passes(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    s3.put_object(Bucket=BUCKET, Key="raw/2026/01/tx.csv", Body=b"id,amount\n")
    # From here on moto refuses every object call on this bucket (it ignores the condition).
    policy = {"Version": "2012-10-17", "Statement": [READ_FROM_PIPELINE, DENY_NON_TLS]}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    check_tls_only(s3, BUCKET, WHERE)


def test_bucket_without_policy_fails_the_tls_check(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    message = _failure(lambda: check_tls_only(s3, BUCKET, WHERE))
    assert message == f"bucket {BUCKET}: no bucket policy denying non-TLS access {AT}"


def test_bucket_policy_without_tls_deny_fails(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    policy = {"Version": "2012-10-17", "Statement": [READ_FROM_PIPELINE]}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    message = _failure(lambda: check_tls_only(s3, BUCKET, WHERE))
    assert message == (
        f"bucket {BUCKET}: bucket policy does not deny non-TLS access "
        f"(aws:SecureTransport false) {AT}"
    )


def test_versioning_enabled_passes(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    check_versioning_enabled(s3, BUCKET, WHERE)


def test_suspended_versioning_fails(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    message = _failure(lambda: check_versioning_enabled(s3, BUCKET, WHERE))
    assert message == f"bucket {BUCKET}: versioning Suspended, expected Enabled {AT}"


def test_never_versioned_bucket_fails(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    message = _failure(lambda: check_versioning_enabled(s3, BUCKET, WHERE))
    assert message == f"bucket {BUCKET}: versioning not enabled {AT}"


def _encryption(s3: Any, algorithm: str) -> None:
    default: dict[str, str] = {"SSEAlgorithm": algorithm}
    if algorithm.startswith("aws:kms"):
        default["KMSMasterKeyID"] = "alias/ohpen-data"
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
        },
    )


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_kms_default_encryption_passes(aws: AwsClients, algorithm: str) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    _encryption(s3, algorithm)
    check_bucket_encryption(s3, BUCKET, True, None, False, WHERE)


def test_sse_s3_default_encryption_fails(aws: AwsClients) -> None:
    s3 = aws.client("s3")
    _bucket(s3)
    _encryption(s3, "AES256")
    message = _failure(lambda: check_bucket_encryption(s3, BUCKET, True, None, False, WHERE))
    assert message == f"bucket {BUCKET}: default encryption AES256, expected SSE-KMS {AT}"


def test_bucket_without_default_encryption_fails(aws: AwsClients) -> None:
    # moto, unlike AWS since 2023, keeps a bucket without any default encryption.
    s3 = aws.client("s3")
    _bucket(s3)
    message = _failure(lambda: check_bucket_encryption(s3, BUCKET, True, None, False, WHERE))
    assert message == f"bucket {BUCKET}: no default encryption {AT}"


# ---------------------------------------------------------------- IAM


def _role(iam: Any, name: str, managed: dict[str, Any], inline: dict[str, Any]) -> str:
    """A role with managed policies (attached) and inline ones, by name."""
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    )
    for policy, document in managed.items():
        created = iam.create_policy(PolicyName=policy, PolicyDocument=json.dumps(document))
        iam.attach_role_policy(RoleName=name, PolicyArn=created["Policy"]["Arn"])
    for policy, document in inline.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document))
    return arn


def test_role_with_scoped_policies_passes(aws: AwsClients) -> None:
    iam = aws.client("iam")
    _role(iam, "ohpen-etl-role", {"ohpen-etl-data": SCOPED}, {"ohpen-etl-logs": SCOPED})
    check_role_policies_least_privilege(iam, "ohpen-etl-role", WHERE)


def test_role_with_admin_managed_policy_fails(aws: AwsClients) -> None:
    iam = aws.client("iam")
    _role(iam, "ohpen-etl-role", {"ohpen-etl-data": SCOPED, "ohpen-admin": ADMIN}, {})
    message = _failure(lambda: check_role_policies_least_privilege(iam, "ohpen-etl-role", WHERE))
    assert message == (
        f"IAM role ohpen-etl-role: policy ohpen-admin allows every action on every resource {AT}"
    )


def test_role_with_not_action_inline_policy_fails(aws: AwsClients) -> None:
    iam = aws.client("iam")
    _role(iam, "ohpen-etl-role", {"ohpen-etl-data": SCOPED}, {"ohpen-all-but-iam": ALL_BUT_IAM})
    message = _failure(lambda: check_role_policies_least_privilege(iam, "ohpen-etl-role", WHERE))
    assert message == (
        "IAM role ohpen-etl-role: policy ohpen-all-but-iam allows with NotAction "
        f"[iam:*, organizations:*] {AT}"
    )


def test_every_too_broad_policy_of_the_role_is_named(aws: AwsClients) -> None:
    iam = aws.client("iam")
    _role(iam, "ohpen-etl-role", {"ohpen-admin": ADMIN}, {"ohpen-all-but-iam": ALL_BUT_IAM})
    message = _failure(lambda: check_role_policies_least_privilege(iam, "ohpen-etl-role", WHERE))
    assert message == (
        "IAM role ohpen-etl-role: policy ohpen-admin allows every action on every resource; "
        f"policy ohpen-all-but-iam allows with NotAction [iam:*, organizations:*] {AT}"
    )


def test_missing_role_is_not_found(aws: AwsClients) -> None:
    message = _failure(
        lambda: check_role_policies_least_privilege(aws.client("iam"), "ohpen-gone-role", WHERE)
    )
    assert message == f"IAM role ohpen-gone-role: not found (NoSuchEntity) {AT}"


def test_url_encoded_documents_from_aws_are_read(aws: AwsClients) -> None:
    """Real IAM sends documents URL-encoded (moto sends them decoded); both are judged."""
    iam = aws.client("iam")
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    with Stubber(iam) as stubber:
        stubber.add_response(
            "list_attached_role_policies",
            {"AttachedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": arn}]},
        )
        stubber.add_response("list_role_policies", {"PolicyNames": []})
        stubber.add_response("get_policy", {"Policy": {"Arn": arn, "DefaultVersionId": "v7"}})
        stubber.add_response(
            "get_policy_version",
            {"PolicyVersion": {"Document": quote(json.dumps(ADMIN)), "VersionId": "v7"}},
            {"PolicyArn": arn, "VersionId": "v7"},
        )
        message = _failure(lambda: check_role_policies_least_privilege(iam, "r", WHERE))
    assert (
        message
        == f"IAM role r: policy AdministratorAccess allows every action on every resource {AT}"
    )


# ---------------------------------------------------------------- Lambda


def _function(aws: AwsClients, name: str = "ohpen-read-run-summary") -> Any:
    """A function (moto needs its role to exist); its code never runs here."""
    role = _role(aws.client("iam"), f"{name}-role", {}, {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    client = aws.client("lambda")
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="handler.handler",
        Role=role,
        Code={"ZipFile": buffer.getvalue()},
    )
    return client


def test_lambda_without_resource_policy_passes(aws: AwsClients) -> None:
    # GetPolicy answers ResourceNotFoundException for a function that has no policy.
    check_lambda_policy_no_public_principal(_function(aws), "ohpen-read-run-summary", WHERE)


def test_lambda_with_conditional_service_principal_passes(aws: AwsClients) -> None:
    client = _function(aws)
    client.add_permission(
        FunctionName="ohpen-read-run-summary",
        StatementId="s3-bronze",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{BUCKET}",
        SourceAccount=WHERE.account_id,
    )
    check_lambda_policy_no_public_principal(client, "ohpen-read-run-summary", WHERE)


def test_lambda_anyone_may_invoke_fails(aws: AwsClients) -> None:
    client = _function(aws)
    client.add_permission(
        FunctionName="ohpen-read-run-summary",
        StatementId="open-to-all",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    message = _failure(
        lambda: check_lambda_policy_no_public_principal(client, "ohpen-read-run-summary", WHERE)
    )
    assert message == (
        "Lambda ohpen-read-run-summary: resource policy lets anyone invoke it "
        f"(statement open-to-all, no condition) {AT}"
    )


def test_lambda_public_statements_are_all_named(aws: AwsClients) -> None:
    client = aws.client("lambda")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "aws-any", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"},
            {"Sid": "svc-any", "Effect": "Allow", "Principal": {"Service": "*"}, "Action": "*"},
            {
                "Sid": "conditional",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "*",
                "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"}},
            },
            {"Sid": "denied", "Effect": "Deny", "Principal": "*", "Action": "*"},
        ],
    }
    with Stubber(client) as stubber:
        stubber.add_response("get_policy", {"Policy": json.dumps(policy), "RevisionId": "1"})
        message = _failure(lambda: check_lambda_policy_no_public_principal(client, "f", WHERE))
    assert message == (
        f"Lambda f: resource policy lets anyone invoke it (statements aws-any, svc-any, "
        f"no condition) {AT}"
    )


def test_missing_lambda_is_not_found(aws: AwsClients) -> None:
    message = _failure(
        lambda: check_lambda_policy_no_public_principal(aws.client("lambda"), "ohpen-gone", WHERE)
    )
    assert message == f"Lambda ohpen-gone: not found (ResourceNotFoundException) {AT}"


# ---------------------------------------------------------------- Step Functions


def _state_machine(aws: AwsClients, name: str, **logging: Any) -> Any:
    role = _role(aws.client("iam"), f"{name}-role", {}, {})
    sfn = aws.client("stepfunctions")
    options = {"loggingConfiguration": logging} if logging else {}
    sfn.create_state_machine(name=name, definition=PASS_ONLY, roleArn=role, **options)
    return sfn


def test_state_machine_logging_to_cloudwatch_passes(aws: AwsClients) -> None:
    sfn = _state_machine(
        aws,
        "ohpen-etl-orchestration",
        level="ALL",
        includeExecutionData=True,
        destinations=[{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    )
    check_state_machine_logging(sfn, "ohpen-etl-orchestration", WHERE)


@pytest.mark.parametrize("logging", [{}, {"level": "OFF"}], ids=["not-configured", "off"])
def test_state_machine_without_logging_fails(aws: AwsClients, logging: dict[str, str]) -> None:
    # moto, like AWS, describes a machine created without loggingConfiguration as level OFF.
    sfn = _state_machine(aws, "ohpen-etl-orchestration", **logging)
    message = _failure(lambda: check_state_machine_logging(sfn, "ohpen-etl-orchestration", WHERE))
    assert message == f"state machine ohpen-etl-orchestration: logging OFF {AT}"


def test_state_machine_logging_nowhere_fails(aws: AwsClients) -> None:
    # AWS refuses a level without destinations; moto accepts it, which this reproduces.
    sfn = _state_machine(aws, "ohpen-etl-orchestration", level="ERROR")
    message = _failure(lambda: check_state_machine_logging(sfn, "ohpen-etl-orchestration", WHERE))
    assert message == (
        f"state machine ohpen-etl-orchestration: logging ERROR with no log destination {AT}"
    )


def test_state_machine_described_without_logging_configuration_fails(aws: AwsClients) -> None:
    sfn = aws.client("stepfunctions")
    with Stubber(sfn) as stubber:
        stubber.add_response(
            "describe_state_machine",
            {
                "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:m",
                "name": "m",
                "definition": PASS_ONLY,
                "roleArn": "arn:aws:iam::123456789012:role/r",
                "type": "STANDARD",
                "creationDate": "2026-01-01T00:00:00Z",
            },
        )
        message = _failure(lambda: check_state_machine_logging(sfn, "m", WHERE))
    assert message == f"state machine m: logging OFF {AT}"


def test_missing_state_machine_is_not_found(aws: AwsClients) -> None:
    sfn = aws.client("stepfunctions")
    message = _failure(lambda: check_state_machine_logging(sfn, "ohpen-gone", WHERE))
    assert message == f"state machine ohpen-gone: not found (StateMachineDoesNotExist) {AT}"
