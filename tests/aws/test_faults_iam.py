"""The IAM faults break exactly one check each: etl-permission-denied the Glue role's
permission check (a Deny is never too broad), service-wildcard-policy the role's
least-privilege check (an extra Allow denies nothing the job needs)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.permissions import check_role_can_do_its_job, role_needs
from pytest_ohpen.checks.security import check_role_policies_least_privilege
from pytest_ohpen.emulator.faults_iam import FAULTS
from pytest_ohpen.emulator.iam_simulation import install
from pytest_ohpen.emulator.stack import Stack

WHERE = Where("123456789012", "eu-west-1")
AT = "in account 123456789012 eu-west-1"
JOB = "ohpen-transaction-etl-spark"
ROLE = f"{JOB}-role"
STACK = Stack(("ohpen-bronze", "ohpen-silver", "ohpen-artifacts"), (JOB,), (), ())
POLICY = {  # infra/terraform/etl.tf
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


@pytest.fixture
def aws(fresh_moto: str) -> AwsClients:
    """The Glue job and its least-privilege role, as the stack deploys them."""
    install()
    aws = moto_clients(fresh_moto)
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "glue.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="lp", PolicyDocument=json.dumps(POLICY))
    aws.client("glue").create_job(
        Name=JOB,
        Role=arn,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://ohpen-artifacts/glue/{JOB}/main.py"},
        DefaultArguments={
            "--input_path": "s3://ohpen-bronze/transactions/",
            "--output_path": "s3://ohpen-silver/transactions/",
        },
    )
    return aws


def _checks(aws: AwsClients) -> dict[str, str | None]:
    """Each check's failure message, or None when it passes."""
    iam = aws.client("iam")
    needs = role_needs([aws.client("glue").get_job(JobName=JOB)["Job"]], [], ROLE, [])
    outcome: dict[str, str | None] = {}
    checks: dict[str, Any] = {
        "can do its job": lambda: check_role_can_do_its_job(iam, ROLE, needs, WHERE),
        "least privilege": lambda: check_role_policies_least_privilege(iam, ROLE, WHERE),
    }
    for name, check in checks.items():
        try:
            check()
            outcome[name] = None
        except CheckFailed as failed:
            outcome[name] = str(failed)
    return outcome


def test_the_healthy_role_passes_both(aws: AwsClients) -> None:
    assert _checks(aws) == {"can do its job": None, "least privilege": None}


def test_etl_permission_denied_fails_only_the_permission_check(aws: AwsClients) -> None:
    fault = FAULTS["etl-permission-denied"]
    assert fault.kind == "glue_jobs"
    fault.inject(aws, STACK, JOB)
    assert _checks(aws) == {
        "can do its job": (
            f"IAM role {ROLE}: denied s3:PutObject on arn:aws:s3:::ohpen-silver/transactions/* "
            f"(Glue job {JOB} --output_path s3://ohpen-silver/transactions/, explicitDeny by "
            f"injected-deny-output) {AT}"
        ),
        "least privilege": None,
    }


def test_etl_permission_denied_falls_back_to_the_silver_bucket(aws: AwsClients) -> None:
    glue = aws.client("glue")
    job = glue.get_job(JobName=JOB)["Job"]
    glue.delete_job(JobName=JOB)
    glue.create_job(Name=JOB, Role=job["Role"], Command=job["Command"])  # no output argument
    FAULTS["etl-permission-denied"].inject(aws, STACK, JOB)
    document = aws.client("iam").get_role_policy(RoleName=ROLE, PolicyName="injected-deny-output")
    assert document["PolicyDocument"]["Statement"][0]["Resource"] == ["arn:aws:s3:::ohpen-silver/*"]


def test_service_wildcard_policy_fails_only_least_privilege(aws: AwsClients) -> None:
    fault = FAULTS["service-wildcard-policy"]
    assert fault.kind == "roles"
    fault.inject(aws, STACK, ROLE)
    assert _checks(aws) == {
        "can do its job": None,
        "least privilege": (
            f"IAM role {ROLE}: policy injected-service-wildcards allows whole services "
            f"s3:*, iam:* on * {AT}"
        ),
    }
