"""SimulatePrincipalPolicy in moto's server once install() has run: boto3 parses IAM's
answer for a role's inline and attached managed policies, pages it, and gets NoSuchEntity
for a role that does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import moto_clients

from pytest_ohpen.emulator.iam_simulation import install

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
OUTPUT = "arn:aws:s3:::ohpen-silver/transactions/*"
INPUT = "arn:aws:s3:::ohpen-bronze/transactions/*"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def iam(fresh_moto: str) -> Any:
    install()
    install()  # idempotent
    return moto_clients(fresh_moto).client("iam")


@pytest.fixture
def role_arn(iam: Any) -> str:
    """A role under a path, with an inline policy and an attached managed one."""
    arn = iam.create_role(
        RoleName="ohpen-etl-role", Path="/pipeline/", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="ohpen-etl-role",
        PolicyName="read-bronze",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ohpen-bronze/*"}
        ),
    )
    managed = iam.create_policy(
        PolicyName="write-silver",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "s3:Put*", "Resource": "arn:aws:s3:::ohpen-silver/*"}
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="ohpen-etl-role", PolicyArn=managed)
    return str(arn)


def _decisions(answer: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    return [
        (
            r["EvalActionName"],
            r["EvalResourceName"],
            r["EvalDecision"],
            [s["SourcePolicyId"] for s in r.get("MatchedStatements", [])],
        )
        for r in answer["EvaluationResults"]
    ]


def test_inline_and_managed_policies_decide(iam: Any, role_arn: str) -> None:
    assert role_arn == "arn:aws:iam::123456789012:role/pipeline/ohpen-etl-role"
    answer = iam.simulate_principal_policy(
        PolicySourceArn=role_arn,
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=[INPUT, OUTPUT],
    )
    assert answer["IsTruncated"] is False
    assert _decisions(answer) == [
        ("s3:GetObject", INPUT, "allowed", ["read-bronze"]),
        ("s3:GetObject", OUTPUT, "implicitDeny", []),
        ("s3:PutObject", INPUT, "implicitDeny", []),
        ("s3:PutObject", OUTPUT, "allowed", ["write-silver"]),
    ]


def test_an_explicit_deny_wins_and_is_named(iam: Any, role_arn: str) -> None:
    iam.put_role_policy(
        RoleName="ohpen-etl-role",
        PolicyName="deny-s3",
        PolicyDocument=_policy({"Effect": "Deny", "Action": "s3:*", "Resource": OUTPUT}),
    )
    answer = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["s3:PutObject"], ResourceArns=[OUTPUT]
    )
    assert _decisions(answer) == [("s3:PutObject", OUTPUT, "explicitDeny", ["deny-s3"])]


def test_without_resources_the_resource_is_star(iam: Any, role_arn: str) -> None:
    answer = iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=["s3:GetObject"])
    assert _decisions(answer) == [("s3:GetObject", "*", "implicitDeny", [])]


def test_results_are_paged(iam: Any, role_arn: str) -> None:
    asked = {
        "PolicySourceArn": role_arn,
        "ActionNames": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "ResourceArns": [OUTPUT],
        "MaxItems": 2,
    }
    first = iam.simulate_principal_policy(**asked)
    assert first["IsTruncated"] is True
    second = iam.simulate_principal_policy(**asked, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == [
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == ["s3:DeleteObject"]


def test_a_users_policies_are_simulated(iam: Any) -> None:
    arn = iam.create_user(UserName="deployer")["User"]["Arn"]
    iam.put_user_policy(
        UserName="deployer",
        PolicyName="deploy",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "glue:*", "Resource": "*"}),
    )
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["glue:GetJob"])
    assert _decisions(answer) == [("glue:GetJob", "*", "allowed", ["deploy"])]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/ohpen-gone-role",
        "arn:aws:iam::123456789012:role/ohpen-etl-role",  # exists, but under /pipeline/
        "arn:aws:iam::123456789012:user/nobody",
    ],
)
def test_an_unknown_principal_is_no_such_entity(iam: Any, role_arn: str, arn: str) -> None:
    with pytest.raises(ClientError) as raised:
        iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"])
    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
