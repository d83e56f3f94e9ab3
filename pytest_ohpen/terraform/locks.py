"""Who holds the Terraform state lock: read-only looks at both places the S3 backend locks.

A rollback pushes or applies state; doing that while an apply holds the lock is the
playbook's "concurrent deployments" risk. The S3 backend locks in a DynamoDB table
(``dynamodb_table``) or, from Terraform 1.10, in a ``<key>.tflock`` object next to the
state (``use_lockfile``). Both hold the same JSON lock record.

Only "there is no lock" is answered with None; any other error (no such table or
bucket, access denied) propagates, so the caller reports "could not verify" instead
of a false "not locked".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_SUCH_KEY, error_code

LOCKFILE_SUFFIX = ".tflock"


@dataclass(frozen=True)
class LockInfo:
    """A held lock. Fields are "" when the lock record does not say (or is not JSON)."""

    source: str
    """``dynamodb:<table>`` or ``s3:<bucket>/<key>.tflock``."""
    lock_id: str
    who: str
    operation: str
    created: str
    raw: dict[str, Any]
    """The whole lock record; ``{"Info": <text>}`` when it is not a JSON object."""


def dynamodb_lock(dynamodb: Any, table: str, bucket: str, key: str) -> LockInfo | None:
    """The lock on ``bucket/key`` in the DynamoDB lock table, or None when none is held.

    Terraform keeps the item ``<bucket>/<key>`` only while the lock is held; the
    ``<bucket>/<key>-md5`` item is the state's digest and is never read here. A
    consistent read, so a lock taken a moment ago is seen.
    """
    response = dynamodb.get_item(
        TableName=table,
        Key={"LockID": {"S": f"{bucket}/{key}"}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    if not item:
        return None
    info = item.get("Info", {}).get("S", "")
    return _lock_info(f"dynamodb:{table}", str(info))


def s3_lockfile(s3: Any, bucket: str, key: str) -> LockInfo | None:
    """The lock in ``<key>.tflock`` next to the state, or None when that object is absent."""
    import botocore.exceptions as bex

    lockfile = f"{key}{LOCKFILE_SUFFIX}"
    try:
        response = s3.get_object(Bucket=bucket, Key=lockfile)
    except bex.ClientError as error:
        if error_code(error) in S3_NO_SUCH_KEY:
            return None
        raise
    body = response["Body"].read()
    return _lock_info(f"s3:{bucket}/{lockfile}", body.decode("utf-8", errors="replace"))


def _lock_info(source: str, text: str) -> LockInfo:
    """A held lock from its record; an unreadable record is still a held lock."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        record = None
    raw: dict[str, Any] = record if isinstance(record, dict) else {"Info": text}

    def get(name: str) -> str:
        value = raw.get(name) if isinstance(record, dict) else None
        return "" if value is None else str(value)

    return LockInfo(
        source=source,
        lock_id=get("ID"),
        who=get("Who"),
        operation=get("Operation"),
        created=get("Created"),
        raw=raw,
    )
