"""Bucket encryption is judged as configured: SSE-S3 at least, SSE-KMS with the configured
key where asked, and a bucket policy that refuses unencrypted uploads where asked.

Pure rules on literal GetBucketEncryption rules and bucket policies; the check on real
buckets is tests/aws/test_ops_checks.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.checks.encryption import (
    allows_unencrypted_uploads,
    encryption_problems,
    same_kms_key,
)

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID}"
ALIAS_ARN = "arn:aws:kms:eu-west-1:123456789012:alias/ohpen-data"


def _rule(algorithm: str, key: str | None = None) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if key:
        default["KMSMasterKeyID"] = key
    return {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}


# ---------------------------------------------------------------- default encryption


@pytest.mark.parametrize(
    ("rules", "kms", "key", "problems"),
    [
        ([], False, None, ["no default encryption"]),
        ([], True, KEY_ARN, ["no default encryption"]),
        ([{}], False, None, ["default encryption none, expected SSE-S3 or SSE-KMS"]),
        ([_rule("AES256")], False, None, []),
        ([_rule("aws:kms")], False, None, []),
        ([_rule("aws:kms:dsse", KEY_ARN)], False, None, []),
        ([_rule("AES256")], True, None, ["default encryption AES256, expected SSE-KMS"]),
        ([_rule("AES256")], True, KEY_ARN, ["default encryption AES256, expected SSE-KMS"]),
        ([_rule("aws:kms")], True, None, []),
        ([_rule("aws:kms:dsse", KEY_ARN)], True, KEY_ARN, []),
        ([_rule("aws:kms", KEY_ID)], True, KEY_ARN, []),
        ([_rule("aws:kms", KEY_ARN)], True, KEY_ID, []),
        ([_rule("aws:kms", ALIAS_ARN)], True, "alias/ohpen-data", []),
        ([_rule("aws:kms", "alias/ohpen-data")], True, ALIAS_ARN, []),
        ([_rule("aws:kms")], True, "alias/aws/s3", []),
        (
            [_rule("aws:kms")],
            True,
            KEY_ARN,
            [f"default encryption uses KMS key alias/aws/s3, expected {KEY_ARN}"],
        ),
        (
            [_rule("aws:kms", "arn:aws:kms:eu-west-1:123456789012:key/other")],
            True,
            KEY_ARN,
            [
                "default encryption uses KMS key arn:aws:kms:eu-west-1:123456789012:key/other, "
                f"expected {KEY_ARN}"
            ],
        ),
        (
            [_rule("aws:kms", KEY_ARN)],
            True,
            "alias/ohpen-data",
            [f"default encryption uses KMS key {KEY_ARN}, expected alias/ohpen-data"],
        ),
    ],
)
def test_default_encryption_as_configured(
    rules: list[dict[str, Any]], kms: bool, key: str | None, problems: list[str]
) -> None:
    assert encryption_problems(rules, kms, key) == problems


@pytest.mark.parametrize(
    ("used", "configured", "same"),
    [
        (KEY_ARN, KEY_ARN, True),
        (KEY_ID, KEY_ARN, True),
        (KEY_ARN, KEY_ID, True),
        (ALIAS_ARN, "alias/ohpen-data", True),
        ("alias/ohpen-data", "alias/ohpen-data", True),
        (KEY_ARN, KEY_ARN.replace("123456789012", "210987654321"), False),
        (KEY_ID, "alias/ohpen-data", False),
        ("alias/ohpen-data", "alias/ohpen-other", False),
        (KEY_ID, f"alias/{KEY_ID}", False),
    ],
)
def test_kms_keys_are_matched_by_what_their_names_say(
    used: str, configured: str, same: bool
) -> None:
    assert same_kms_key(used, configured) is same


# ---------------------------------------------------------------- uploads without encryption

BUCKET_OBJECTS = "arn:aws:s3:::ohpen-bronze/*"
NULL_TEST = {"Null": {"s3:x-amz-server-side-encryption": "true"}}
NOT_AES = {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}
DENY_UNENCRYPTED = {
    "Sid": "DenyUnencryptedObjectUploads",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": BUCKET_OBJECTS,
    "Condition": NULL_TEST,
}
AWS_DOCUMENTED = {
    "Version": "2012-10-17",
    "Id": "PutObjectPolicy",
    "Statement": [
        {**DENY_UNENCRYPTED, "Sid": "DenyIncorrectEncryptionHeader", "Condition": NOT_AES},
        DENY_UNENCRYPTED,
    ],
}


def _policy(**changes: Any) -> dict[str, Any]:
    """A policy holding DENY_UNENCRYPTED with some elements replaced (None removes one)."""
    statement = {k: v for k, v in {**DENY_UNENCRYPTED, **changes}.items() if v is not None}
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    "policy",
    [
        AWS_DOCUMENTED,
        _policy(),
        {"Statement": DENY_UNENCRYPTED},
        _policy(Condition=NOT_AES),
        _policy(Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": ["aws:kms"]}}),
        _policy(
            Condition={
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:k"}
            }
        ),
        _policy(Condition={"Null": {"s3:x-amz-server-side-encryption": True}}),
        _policy(Condition={"Null": {"S3:X-Amz-Server-Side-Encryption": ["TRUE"]}}),
        _policy(Principal={"AWS": "*"}),
        _policy(Action=["s3:GetObject", "s3:*"]),
        _policy(Action="*"),
        _policy(Action="s3:Put*"),
        _policy(Resource=["arn:aws:s3:::ohpen-bronze", BUCKET_OBJECTS]),
        _policy(Resource="*"),
    ],
)
def test_policies_denying_unencrypted_uploads(policy: dict[str, Any]) -> None:
    assert allows_unencrypted_uploads(policy) is False


@pytest.mark.parametrize(
    "policy",
    [
        None,
        {},
        {"Statement": []},
        _policy(Effect="Allow"),
        _policy(Principal={"AWS": "arn:aws:iam::123456789012:role/ohpen-etl-role"}),
        _policy(Action="s3:GetObject"),
        _policy(Resource="arn:aws:s3:::ohpen-bronze"),
        _policy(Resource="arn:aws:s3:::ohpen-bronze/landing/*"),
        _policy(Condition=None),
        _policy(Condition={"Null": {"s3:x-amz-server-side-encryption": "false"}}),
        _policy(Condition={"StringNotEqualsIfExists": NOT_AES["StringNotEquals"]}),
        _policy(Condition={"StringEquals": NOT_AES["StringNotEquals"]}),
        _policy(Condition={**NULL_TEST, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _policy(
            Condition={
                "Null": {"s3:x-amz-server-side-encryption": "true", "aws:SourceVpce": "false"}
            }
        ),
        _policy(Condition={"Bool": {"aws:SecureTransport": "false"}}),
    ],
)
def test_policies_letting_unencrypted_uploads_through(policy: dict[str, Any] | None) -> None:
    assert allows_unencrypted_uploads(policy) is True
