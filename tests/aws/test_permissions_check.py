"""Roles can do their job: the needs read from a real GetJob answer are judged by
SimulatePrincipalPolicy in moto's server (install()), and every denied action is named with
its resource, why it is needed and IAM's decision. Answers moto cannot give (a throttled
IAM, a paged answer) come from botocore's Stubber."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, CheckInconclusive, Where
from pytest_ohpen.checks.permissions import (
    Need,
    check_role_can_do_its_job,
    glue_job_needs,
    role_needs,
)
from pytest_ohpen.emulator.iam_simulation import install

WHERE = Where("123456789012", "eu-west-1")
AT = "in account 123456789012 eu-west-1"
ROLE = "ohpen-transaction-etl-spark-role"
JOB = "ohpen-transaction-etl-spark"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "glue.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
LEAST_PRIVILEGE = {  # infra/terraform/etl.tf
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [
                "arn:aws:s3:::ohpen-bronze",
                "arn:aws:s3:::ohpen-bronze/*",
                "arn:aws:s3:::ohpen-artifacts/*",
            ],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::ohpen-silver/*",
        },
    ],
}
OUTPUT = "arn:aws:s3:::ohpen-silver/transactions/*"
OUTPUT_WHY = f"Glue job {JOB} --output_path s3://ohpen-silver/transactions/"


@pytest.fixture
def aws(fresh_moto: str) -> AwsClients:
    install()
    return moto_clients(fresh_moto)


def _glue_role(aws: AwsClients, policy: dict[str, Any] = LEAST_PRIVILEGE) -> list[Need]:
    """The job's role with ``policy`` inline, the job, and the role's needs read from GetJob."""
    iam, glue = aws.client("iam"), aws.client("glue")
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=ROLE, PolicyName=f"{JOB}-least-privilege", PolicyDocument=json.dumps(policy)
    )
    glue.create_job(
        Name=JOB,
        Role=arn,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://ohpen-artifacts/glue/{JOB}/main.py"},
        DefaultArguments={
            "--input_path": "s3://ohpen-bronze/transactions/",
            "--output_path": "s3://ohpen-silver/transactions/",
        },
    )
    return role_needs([glue.get_job(JobName=JOB)["Job"]], [], ROLE, [])


def _failure(call: Callable[[], None], kind: type[AssertionError] = CheckFailed) -> str:
    with pytest.raises(kind) as raised:
        call()
    assert type(raised.value) is kind
    return str(raised.value)


def test_a_role_that_can_do_its_job_passes(aws: AwsClients) -> None:
    needs = _glue_role(aws)
    assert len(needs) == 4  # script, input (read and list), output
    check_role_can_do_its_job(aws.client("iam"), ROLE, needs, WHERE)


def test_an_explicit_deny_is_named_with_its_policy(aws: AwsClients) -> None:
    needs = _glue_role(aws)
    aws.client("iam").put_role_policy(
        RoleName=ROLE,
        PolicyName="deny-s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::ohpen-silver/*"}
                ],
            }
        ),
    )
    message = _failure(lambda: check_role_can_do_its_job(aws.client("iam"), ROLE, needs, WHERE))
    assert message == (
        f"IAM role {ROLE}: denied s3:PutObject on {OUTPUT} ({OUTPUT_WHY}, explicitDeny by deny-s3)"
        f" {AT}"
    )


def test_a_missing_statement_is_an_implicit_deny(aws: AwsClients) -> None:
    reads_only = {**LEAST_PRIVILEGE, "Statement": LEAST_PRIVILEGE["Statement"][:1]}
    needs = _glue_role(aws, reads_only)
    needs.append(Need("kms:Decrypt", "*", "[permissions] of the role"))
    arn = f"arn:aws:iam::123456789012:role/{ROLE}"
    message = _failure(lambda: check_role_can_do_its_job(aws.client("iam"), arn, needs, WHERE))
    assert message == (
        f"IAM role {ROLE}: denied s3:PutObject on {OUTPUT} ({OUTPUT_WHY}, implicitDeny); "
        f"kms:Decrypt on * ([permissions] of the role, implicitDeny) {AT}"
    )


@pytest.mark.parametrize("role", [ROLE, f"arn:aws:iam::123456789012:role/{ROLE}"])
def test_a_missing_role_is_not_found(aws: AwsClients, role: str) -> None:
    needs = [Need("s3:GetObject", "arn:aws:s3:::ohpen-bronze/*", "input")]
    message = _failure(lambda: check_role_can_do_its_job(aws.client("iam"), role, needs, WHERE))
    assert message == f"IAM role {ROLE}: not found (NoSuchEntity) {AT}"


def test_a_role_under_a_path_is_simulated_by_its_arn(aws: AwsClients) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName=ROLE, Path="/etl/", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName=ROLE, PolicyName="p", PolicyDocument=json.dumps(LEAST_PRIVILEGE))
    allowed = [Need("s3:PutObject", OUTPUT, "output")]
    check_role_can_do_its_job(iam, ROLE, allowed, WHERE)
    denied = [Need("s3:PutObject", "arn:aws:s3:::ohpen-bronze/x", "oops")]
    message = _failure(lambda: check_role_can_do_its_job(iam, ROLE, denied, WHERE))
    assert message.startswith(
        f"IAM role {ROLE}: denied s3:PutObject on arn:aws:s3:::ohpen-bronze/x"
    )


def test_a_throttled_simulation_is_inconclusive(aws: AwsClients) -> None:
    iam = aws.client("iam")
    with Stubber(iam) as stubber:
        stubber.add_response("get_role", _role_answer())
        stubber.add_client_error(
            "simulate_principal_policy", service_error_code="Throttling", http_status_code=400
        )
        message = _failure(
            lambda: check_role_can_do_its_job(iam, ROLE, [Need("s3:GetObject", "*", "x")], WHERE),
            CheckInconclusive,
        )
    throttled = "could not be checked: throttled (Throttling), still after retries"
    assert message == f"IAM role {ROLE}: {throttled} {AT}"


def test_one_call_per_resource_with_its_actions_following_markers(aws: AwsClients) -> None:
    iam = aws.client("iam")
    arn = f"arn:aws:iam::123456789012:role/{ROLE}"
    needs = [
        Need("s3:GetObject", "arn:aws:s3:::b/*", "read"),
        Need("s3:PutObject", "arn:aws:s3:::b/*", "write"),
        Need("s3:GetObject", "arn:aws:s3:::b/*", "read again"),
        Need("glue:StartJobRun", "arn:aws:glue:eu-west-1:1:job/j", "run"),
    ]

    def result(action: str, resource: str, decision: str) -> dict[str, Any]:
        return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}

    asked = {"PolicySourceArn": arn, "ActionNames": ["s3:GetObject", "s3:PutObject"]}
    with Stubber(iam) as stubber:
        stubber.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [result("s3:GetObject", "arn:aws:s3:::b/*", "allowed")],
                "IsTruncated": True,
                "Marker": "m1",
            },
            {**asked, "ResourceArns": ["arn:aws:s3:::b/*"]},
        )
        stubber.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [result("s3:PutObject", "arn:aws:s3:::b/*", "implicitDeny")],
                "IsTruncated": False,
            },
            {**asked, "ResourceArns": ["arn:aws:s3:::b/*"], "Marker": "m1"},
        )
        stubber.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [
                    result("glue:StartJobRun", "arn:aws:glue:eu-west-1:1:job/j", "allowed")
                ],
                "IsTruncated": False,
            },
            {
                "PolicySourceArn": arn,
                "ActionNames": ["glue:StartJobRun"],
                "ResourceArns": ["arn:aws:glue:eu-west-1:1:job/j"],
            },
        )
        message = _failure(lambda: check_role_can_do_its_job(iam, arn, needs, WHERE))
        stubber.assert_no_pending_responses()
    assert message == (
        f"IAM role {ROLE}: denied s3:PutObject on arn:aws:s3:::b/* (write, implicitDeny) {AT}"
    )


def test_no_needs_asks_nothing(aws: AwsClients) -> None:
    iam = aws.client("iam")
    with Stubber(iam):  # any call would fail: nothing is stubbed
        check_role_can_do_its_job(iam, ROLE, [], WHERE)


def _role_answer() -> dict[str, Any]:
    return {
        "Role": {
            "Path": "/",
            "RoleName": ROLE,
            "RoleId": "AROAEXAMPLEEXAMPLE01",
            "Arn": f"arn:aws:iam::123456789012:role/{ROLE}",
            "CreateDate": "2026-01-01T00:00:00Z",
        }
    }


def test_the_glue_job_needs_are_derived_from_getjob(aws: AwsClients) -> None:
    _glue_role(aws)
    role, needs = glue_job_needs(aws.client("glue").get_job(JobName=JOB)["Job"])
    assert role == f"arn:aws:iam::123456789012:role/{ROLE}"
    assert Need("s3:PutObject", OUTPUT, OUTPUT_WHY) in needs
