"""Bucket encryption as the environment configures it: default encryption on (SSE-KMS,
with the configured key, where ``[security] kms`` asks for it), and, where
``require_encrypted_uploads`` asks for it, a bucket policy refusing unencrypted uploads.

A rollback can bring back a bucket whose default encryption is gone or uses another key;
a policy that denies unencrypted PutObject is AWS's documented way to refuse objects
that do not ask for encryption themselves. The rules are pure
(:func:`encryption_problems`, :func:`allows_unencrypted_uploads`).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where
from pytest_ohpen.checks.security import (
    BUCKET_NOT_FOUND,
    _is_everyone,
    _statements,
    _strings,
    _unless_absent,
    bucket_policy,
    policy_document,
)

KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
SSE_ALGORITHMS = frozenset({"AES256", *KMS_ALGORITHMS})
AWS_MANAGED_KEY = "alias/aws/s3"
"""The key S3 uses for SSE-KMS when the configuration names none."""
KMS_ARN = re.compile(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:(?P<kind>key|alias)/(?P<id>.+)$")
ENCRYPTION_HEADER = "s3:x-amz-server-side-encryption"
KMS_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def encryption_problems(rules: list[dict[str, Any]], kms: bool, kms_key: str | None) -> list[str]:
    """What is wrong with GetBucketEncryption's rules: none at all, an algorithm weaker
    than asked (SSE-S3 at least; SSE-KMS when ``kms``), or another KMS key than ``kms_key``
    (a key ARN, key id, alias ARN or ``alias/name``)."""
    defaults = [rule.get("ApplyServerSideEncryptionByDefault") or {} for rule in rules]
    if not defaults:
        return ["no default encryption"]
    problems: list[str] = []
    for default in defaults:
        algorithm = str(default.get("SSEAlgorithm") or "none")
        accepted = KMS_ALGORITHMS if kms else SSE_ALGORITHMS
        if algorithm not in accepted:
            expected = "SSE-KMS" if kms else "SSE-S3 or SSE-KMS"
            problems.append(f"default encryption {algorithm}, expected {expected}")
            continue
        if kms and kms_key:
            used = str(default.get("KMSMasterKeyID") or AWS_MANAGED_KEY)
            if not same_kms_key(used, kms_key):
                problems.append(f"default encryption uses KMS key {used}, expected {kms_key}")
    return list(dict.fromkeys(problems))


def same_kms_key(used: str, configured: str) -> bool:
    """Whether two ways of naming a KMS key name the same one, as far as their text says:
    a key ARN and its key id match, an alias ARN and ``alias/name`` match; an alias and a
    key id cannot be matched without asking KMS, so they do not."""
    if used == configured:
        return True
    (used_kind, used_id, used_arn), (kind, ident, arn) = _key_name(used), _key_name(configured)
    if used_arn and arn:
        return used == configured
    return (used_kind, used_id) == (kind, ident)


def _key_name(key: str) -> tuple[str, str, bool]:
    """(``key`` or ``alias``, its id or alias name, whether it was an ARN)."""
    arn = KMS_ARN.match(key)
    if arn:
        return arn["kind"], arn["id"], True
    if key.startswith("alias/"):
        return "alias", key.removeprefix("alias/"), False
    return "key", key, False


def allows_unencrypted_uploads(policy: dict[str, Any] | None) -> bool:
    """True unless a statement denies everyone s3:PutObject on every object of the bucket
    when the request does not ask for encryption: AWS's documented patterns, a ``Null``
    test of s3:x-amz-server-side-encryption being true, or a ``StringNotEquals`` on it
    (or on the KMS key id header), which also matches a request without the header.

    A statement with any further condition denies only some requests, so it does not count.
    """
    if policy is None:
        return True
    for statement in _statements(policy):
        if (
            statement.get("Effect") == "Deny"
            and _is_everyone(statement.get("Principal"))
            and any(
                fnmatchcase("s3:putobject", action.lower())
                for action in _strings(statement.get("Action"))
            )
            and any(_every_object(resource) for resource in _strings(statement.get("Resource")))
            and _tests_missing_encryption(statement.get("Condition"))
        ):
            return False
    return True


def _every_object(resource: str) -> bool:
    """``*`` or ``arn:aws:s3:::bucket/*``: a prefix would leave other keys open."""
    return resource == "*" or re.fullmatch(r"arn:aws[\w-]*:s3:::[^/*]+/\*", resource) is not None


def _tests_missing_encryption(condition: object) -> bool:
    if not isinstance(condition, dict) or len(condition) != 1:
        return False
    ((operator, tests),) = condition.items()
    if not isinstance(tests, dict) or len(tests) != 1:
        return False
    ((key, value),) = tests.items()
    values = [str(item).lower() for item in (value if isinstance(value, list) else [value])]
    if operator == "Null":
        return key.lower() == ENCRYPTION_HEADER and values == ["true"]
    return operator == "StringNotEquals" and key.lower() in {ENCRYPTION_HEADER, KMS_KEY_HEADER}


def check_bucket_encryption(
    s3: Any,
    bucket: str,
    kms: bool,
    kms_key: str | None,
    require_encrypted_uploads: bool,
    where: Where,
) -> None:
    """GetBucketEncryption (and, with ``require_encrypted_uploads``, GetBucketPolicy):
    default encryption as configured, and uploads without encryption refused."""
    answer = _unless_absent(
        "bucket",
        bucket,
        where,
        BUCKET_NOT_FOUND,
        "ServerSideEncryptionConfigurationNotFoundError",
        lambda: s3.get_bucket_encryption(Bucket=bucket, ExpectedBucketOwner=where.account_id),
    )
    rules = (answer or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    problems = encryption_problems(rules, kms, kms_key)
    if require_encrypted_uploads:
        found = bucket_policy(s3, bucket, where)
        if found is None:
            problems.append("no bucket policy denying unencrypted uploads")
        elif allows_unencrypted_uploads(policy_document(found.get("Policy"))):
            problems.append(
                f"bucket policy does not deny unencrypted uploads "
                f"(s3:PutObject without {ENCRYPTION_HEADER})"
            )
    if problems:
        raise CheckFailed(f"bucket {bucket}: {'; '.join(problems)} {where}")
