"""Policy documents are read as AWS does: a TLS-only deny, too broad allows, URL-encoded JSON.

Pure functions of the security checks on literal documents, no AWS; the checks on real
buckets, roles and functions are tests/aws/test_checks_security.py.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from accounts import ADMIN, ALL_BUT_IAM, DENY_NON_TLS, READ_FROM_PIPELINE, SCOPED

from pytest_ohpen.checks.security import (
    denies_insecure_transport,
    policy_document,
    policy_problems,
)


def _with(**changes: Any) -> dict[str, Any]:
    """A policy holding DENY_NON_TLS with some elements replaced (None removes one)."""
    statement = {k: v for k, v in {**DENY_NON_TLS, **changes}.items() if v is not None}
    return {"Version": "2012-10-17", "Statement": [READ_FROM_PIPELINE, statement]}


@pytest.mark.parametrize(
    ("policy", "denies"),
    [
        (_with(), True),
        ({"Statement": DENY_NON_TLS}, True),
        (_with(Principal={"AWS": "*"}), True),
        (_with(Principal={"AWS": ["*"]}), True),
        (_with(Action="*"), True),
        (_with(Action=["s3:GetObject", "S3:*"]), True),
        (_with(Condition={"BoolIfExists": {"aws:SecureTransport": "false"}}), True),
        (_with(Condition={"Bool": {"aws:securetransport": ["FALSE"]}}), True),
        (_with(Condition={"Bool": {"aws:SecureTransport": False}}), True),
        (_with(Effect="Allow"), False),
        (_with(Principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
        (_with(Principal={"Service": "*"}), False),
        (_with(Action="s3:GetObject"), False),
        (_with(Action=["s3:GetObject", "s3:PutObject"]), False),
        (_with(Condition={"Bool": {"aws:SecureTransport": "true"}}), False),
        (_with(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), False),
        (_with(Condition=None), False),
        ({"Version": "2012-10-17", "Statement": []}, False),
        ({}, False),
    ],
)
def test_denies_insecure_transport(policy: dict[str, Any], denies: bool) -> None:
    assert denies_insecure_transport(policy) is denies


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        (ADMIN, ["policy p allows every action on every resource"]),
        (
            {"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": "*"}},
            ["policy p allows every action on every resource"],
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::b", "*"]}
                ]
            },
            ["policy p allows every action on every resource"],
        ),
        (ALL_BUT_IAM, ["policy p allows with NotAction [iam:*, organizations:*]"]),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}
                ]
            },
            ["policy p allows with NotAction [iam:*]"],
        ),
        (
            {"Statement": [ADMIN["Statement"][0], ADMIN["Statement"][0], ALL_BUT_IAM["Statement"]]},
            [
                "policy p allows every action on every resource",
                "policy p allows with NotAction [iam:*, organizations:*]",
            ],
        ),
        (
            {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            ["policy p allows whole services s3:* on *"],
        ),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]},
            ["policy p allows every action on arn:aws:s3:::b/*"],
        ),
        ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, []),
        ({"Statement": [{"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]}, []),
        (SCOPED, []),
        ({}, []),
    ],
)
def test_policy_problems(document: dict[str, Any], problems: list[str]) -> None:
    assert policy_problems("p", document) == problems


@pytest.mark.parametrize(
    ("document", "parsed"),
    [
        (ADMIN, ADMIN),
        (json.dumps(ADMIN), ADMIN),
        (quote(json.dumps(ADMIN)), ADMIN),
        ("not a policy", None),
        ("[1, 2]", None),
        (None, None),
    ],
)
def test_policy_document_accepts_dicts_json_and_url_encoded_json(
    document: object, parsed: dict[str, Any] | None
) -> None:
    assert policy_document(document) == parsed
