"""IAM's decision as the embedded account's SimulatePrincipalPolicy computes it, on literal
policies: an explicit Deny wins, else any Allow, else an implicit deny. The moto wiring is
tests/aws/test_iam_simulation_server.py."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.emulator.iam_simulation import Decision, evaluate

SILVER = "arn:aws:s3:::ohpen-silver/transactions/part-0.parquet"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


WRITE_SILVER = _policy(
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::ohpen-silver/*"}
)
DENY_S3 = _policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})


def test_an_allow_allows() -> None:
    assert evaluate([("write", WRITE_SILVER)], "s3:PutObject", SILVER) == Decision(
        "allowed", ("write",)
    )


def test_an_explicit_deny_beats_an_allow_whatever_the_order() -> None:
    expected = Decision("explicitDeny", ("deny-s3",))
    assert evaluate([("write", WRITE_SILVER), ("deny-s3", DENY_S3)], "s3:PutObject", SILVER) == (
        expected
    )
    assert evaluate([("deny-s3", DENY_S3), ("write", WRITE_SILVER)], "s3:PutObject", SILVER) == (
        expected
    )


def test_nothing_matching_is_an_implicit_deny() -> None:
    decision = evaluate([("write", WRITE_SILVER)], "s3:GetObject", SILVER)
    assert decision == Decision("implicitDeny")
    assert decision.policy is None
    assert evaluate([], "s3:GetObject", SILVER).decision == "implicitDeny"


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:*", "s3:PutObject", True),
        ("S3:put*", "s3:PutObject", True),  # actions are case-insensitive
        ("s3:Put*", "s3:GetObject", False),
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:?etObject", "s3:GetObjectAcl", False),
        ("*", "glue:StartJobRun", True),
        ("s3:*", "s3express:CreateSession", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, matches: bool) -> None:
    policy = _policy({"Effect": "Allow", "Action": pattern, "Resource": "*"})
    assert (evaluate([("p", policy)], action, "*").decision == "allowed") is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:s3:::ohpen-silver/*", SILVER, True),
        ("arn:aws:s3:::ohpen-silver/*", "arn:aws:s3:::ohpen-silver", False),
        (
            "arn:aws:s3:::ohpen-silver/transactions/*",
            "arn:aws:s3:::ohpen-silver/transactions/*",
            True,
        ),
        ("arn:aws:s3:::ohpen-silver/transactions/*", "arn:aws:s3:::ohpen-silver/other/x", False),
        ("arn:aws:s3:::Ohpen-Silver/*", SILVER, False),  # resources are case-sensitive
        ("arn:aws:s3:::ohpen-?ilver/*", SILVER, True),
        (
            "arn:aws:lambda:*:*:function:ohpen-*",
            "arn:aws:lambda:eu-west-1:1:function:ohpen-x",
            True,
        ),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, matches: bool) -> None:
    policy = _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": pattern})
    assert (evaluate([("p", policy)], "s3:GetObject", resource).decision == "allowed") is matches


def test_not_action_allows_everything_else() -> None:
    policy = _policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert evaluate([("p", policy)], "s3:GetObject", SILVER).decision == "allowed"
    assert evaluate([("p", policy)], "iam:CreateRole", "*").decision == "implicitDeny"


def test_not_action_deny_denies_everything_else() -> None:
    deny = _policy({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})
    allow = _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert evaluate([("a", allow), ("d", deny)], "s3:PutObject", SILVER).decision == (
        "explicitDeny"
    )
    assert evaluate([("a", allow), ("d", deny)], "s3:GetObject", SILVER).decision == "allowed"


def test_not_resource() -> None:
    policy = _policy(
        {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::ohpen-silver/*"}
    )
    assert evaluate([("p", policy)], "s3:GetObject", "arn:aws:s3:::ohpen-bronze/x").decision == (
        "allowed"
    )
    assert evaluate([("p", policy)], "s3:GetObject", SILVER).decision == "implicitDeny"


def test_every_matching_policy_is_named_once() -> None:
    other = _policy(
        {"Effect": "Allow", "Action": "s3:Put*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
    )
    decision = evaluate([("write", WRITE_SILVER), ("other", other)], "s3:PutObject", SILVER)
    assert decision == Decision("allowed", ("write", "other"))
    assert decision.policy == "write"


def test_a_single_statement_object_is_read() -> None:
    policy = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
    assert evaluate([("p", policy)], "s3:GetObject", SILVER).decision == "allowed"


def test_a_conditional_allow_does_not_show_the_role_can() -> None:
    policy = _policy(
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}},
        }
    )
    assert evaluate([("p", policy)], "s3:PutObject", SILVER).decision == "implicitDeny"


@pytest.mark.parametrize(
    ("condition", "denies"),
    [
        ({"StringNotEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}, True),
        ({"Null": {"aws:SourceVpc": "true"}}, True),
        ({"Null": {"aws:SourceVpc": "false"}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"StringEquals": {"aws:PrincipalTag/team": "x"}}, False),
    ],
)
def test_a_conditional_deny_counts_only_when_it_holds_without_context(
    condition: dict[str, Any], denies: bool
) -> None:
    deny = _policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": condition})
    decision = evaluate([("w", WRITE_SILVER), ("d", deny)], "s3:PutObject", SILVER)
    assert decision.decision == ("explicitDeny" if denies else "allowed")
