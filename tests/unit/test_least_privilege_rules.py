"""Least privilege beyond "* on *": whole services, write and permissions-management
actions on Resource "*" (wildcards expanded with policyuniverse), and iam:PassRole on "*".
Deny statements are never a problem, and actions AWS authorizes only on "*" are not flagged.
The stack's own role policies (infra/terraform) are judged too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_ohpen.checks.security import policy_problems


def _allow(action: object, resource: object = "*", **more: object) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **more}],
    }


# The stack's inline policies as infra/terraform renders them for the playbook's names.
GLUE_ROLE_POLICY = {  # etl.tf aws_iam_role_policy.glue
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
SUMMARY_ROLE_POLICY = {  # summary.tf aws_iam_role_policy.summary
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/ohpen-*",
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ohpen-silver/*"},
    ],
}


def _pipeline_role_policy(glue_resource: str) -> dict[str, Any]:
    """pipeline.tf aws_iam_role_policy.pipeline, with its Glue statement on ``glue_resource``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["glue:StartJobRun", "glue:GetJobRun"],
                "Resource": glue_resource,
            },
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": "arn:aws:lambda:*:*:function:ohpen-*",
            },
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:ohpen-*"},
        ],
    }


@pytest.mark.parametrize(
    "document",
    [
        GLUE_ROLE_POLICY,
        SUMMARY_ROLE_POLICY,
        _pipeline_role_policy("arn:aws:glue:*:*:job/ohpen-*"),
    ],
    ids=["glue", "summary", "pipeline-scoped-to-its-jobs"],
)
def test_the_stacks_scoped_role_policies_pass(document: dict[str, Any]) -> None:
    assert policy_problems("p", document) == []


def test_starting_any_glue_job_is_a_write_on_every_resource() -> None:
    """pipeline.tf today grants glue:StartJobRun on "*": any job in the account, not its own."""
    assert policy_problems("p", _pipeline_role_policy("*")) == [
        "policy p allows write actions on *: glue:StartJobRun"
    ]


@pytest.mark.parametrize(
    ("action", "resource", "problems"),
    [
        (["s3:*", "iam:*"], "*", ["policy p allows whole services s3:*, iam:* on *"]),
        (
            "s3:*",
            "arn:aws:s3:::ohpen-silver/*",
            ["policy p allows whole services s3:* on arn:aws:s3:::ohpen-silver/*"],
        ),
        (
            "*",
            ["arn:aws:s3:::b/*", "arn:aws:s3:::c/*"],
            ["policy p allows every action on arn:aws:s3:::b/*, arn:aws:s3:::c/*"],
        ),
        ("*", "*", ["policy p allows every action on every resource"]),
        ("iam:PassRole", "*", ["policy p allows iam:PassRole on * (any role)"]),
        ("iam:PassRole", "arn:aws:iam::1:role/ohpen-glue-role", []),
        (
            "iam:PutRolePolicy",
            "*",
            ["policy p allows permissions-management actions on *: iam:PutRolePolicy"],
        ),
        ("s3:PutObject", "*", ["policy p allows write actions on *: s3:PutObject"]),
        ("s3:PutObject", "arn:aws:s3:::ohpen-silver/*", []),
    ],
)
def test_broad_allows_are_named(action: object, resource: object, problems: list[str]) -> None:
    assert policy_problems("p", _allow(action, resource)) == problems


def test_wildcards_are_expanded_and_listed_compactly() -> None:
    passrole, writes, permissions = policy_problems("p", _allow(["s3:Put*", "iam:Pass*"]))
    assert passrole == "policy p allows iam:PassRole on * (any role)"
    write_list = writes.removeprefix("policy p allows write actions on *: ")
    named, _, more = write_list.rpartition(" and ")
    assert re.fullmatch(r"(s3:Put[A-Za-z]+, ){4}s3:Put[A-Za-z]+", named), writes
    assert re.fullmatch(r"\d+ more", more) and int(more.split()[0]) >= 10, writes
    assert "s3:PutObject" not in named  # sorted: the first five, AWS's spelling
    assert named.startswith("s3:PutAccelerateConfiguration, "), writes
    assert permissions.startswith("policy p allows permissions-management actions on *: s3:Put")
    assert "s3:PutBucketAcl" in permissions, permissions


@pytest.mark.parametrize(
    "action",
    [
        ["logs:DescribeLogGroups", "s3:ListAllMyBuckets", "glue:GetJobRun"],  # read and list
        "s3:Get*",
        # AWS authorizes these only on "*".
        ["cloudwatch:PutMetricData", "xray:PutTraceSegments", "logs:CreateLogDelivery"],
        "s3:TagResource",  # tagging is neither write nor permissions management
    ],
)
def test_reading_and_star_only_actions_on_every_resource_pass(action: object) -> None:
    assert policy_problems("p", _allow(action)) == []


def test_a_deny_is_never_too_broad() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"}]}
    assert policy_problems("p", deny) == []


def test_not_resource_counts_as_every_resource() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::x/*"}
        ]
    }
    assert policy_problems("p", document) == ["policy p allows write actions on *: s3:PutObject"]


def test_problems_of_several_statements_are_named_once_each() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        ]
    }
    assert policy_problems("p", document) == [
        "policy p allows whole services s3:* on *",
        "policy p allows iam:PassRole on * (any role)",
    ]
