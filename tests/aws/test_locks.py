"""The state lock is found where Terraform's S3 backend keeps it, and only there.

Lock records are written to a real moto server exactly as Terraform writes them: a
DynamoDB item ``<bucket>/<key>`` (next to the ``-md5`` digest item) or a ``.tflock``
object next to the state.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.exceptions
import pytest
from accounts import STATE_BUCKET, STATE_KEY

from pytest_ohpen.terraform.locks import LockInfo, dynamodb_lock, s3_lockfile

REGION = "eu-west-1"
TABLE = "ohpen-terraform-locks"
LOCK_RECORD = {
    "ID": "3f6a1c52-7c1e-4b0a-9d3e-2a1b5c6d7e8f",
    "Operation": "OperationTypeApply",
    "Info": "",
    "Who": "runner@ci-host",
    "Version": "1.5.0",
    "Created": "2026-01-29T15:00:00.123456Z",
    "Path": f"{STATE_BUCKET}/{STATE_KEY}",
}


@pytest.fixture
def lock_table(fresh_moto: str) -> Any:
    """The backend's lock table, holding only the state's digest item (no lock)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=fresh_moto, region_name=REGION)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}-md5"},
            "Digest": {"S": "0123456789abcdef0123456789abcdef"},
        },
    )
    return dynamodb


@pytest.fixture
def s3(fresh_moto: str) -> Any:
    """The state bucket with a state object and no lock file."""
    client: Any = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    client.create_bucket(
        Bucket=STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    client.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=b'{"version": 4}')
    return client


def test_the_digest_item_alone_is_not_a_lock(lock_table: Any) -> None:
    """The -md5 item stays after every apply; only the <bucket>/<key> item is a lock."""
    assert dynamodb_lock(lock_table, TABLE, STATE_BUCKET, STATE_KEY) is None


def test_a_held_dynamodb_lock_names_who_and_what(lock_table: Any) -> None:
    """While an apply runs, the item holds the lock record as JSON in "Info"."""
    lock_table.put_item(
        TableName=TABLE,
        Item={
            "LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}"},
            "Info": {"S": json.dumps(LOCK_RECORD)},
        },
    )

    lock = dynamodb_lock(lock_table, TABLE, STATE_BUCKET, STATE_KEY)

    assert lock == LockInfo(
        source=f"dynamodb:{TABLE}",
        lock_id=LOCK_RECORD["ID"],
        who="runner@ci-host",
        operation="OperationTypeApply",
        created="2026-01-29T15:00:00.123456Z",
        raw=LOCK_RECORD,
    )


def test_a_lock_on_another_state_is_not_this_states_lock(lock_table: Any) -> None:
    """Other workspaces or projects share the table; their locks do not block this one."""
    lock_table.put_item(
        TableName=TABLE,
        Item={
            "LockID": {"S": f"{STATE_BUCKET}/other-project/terraform.tfstate"},
            "Info": {"S": json.dumps(LOCK_RECORD)},
        },
    )

    assert dynamodb_lock(lock_table, TABLE, STATE_BUCKET, STATE_KEY) is None


def test_an_unreadable_lock_record_is_still_a_held_lock(lock_table: Any) -> None:
    """Whoever wrote it, an item under the state's LockID blocks Terraform: report it."""
    lock_table.put_item(
        TableName=TABLE,
        Item={"LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}"}, "Info": {"S": "not json"}},
    )

    lock = dynamodb_lock(lock_table, TABLE, STATE_BUCKET, STATE_KEY)

    assert lock is not None
    assert (lock.lock_id, lock.who, lock.raw) == ("", "", {"Info": "not json"})


def test_a_missing_lock_table_is_an_error_not_an_unlocked_state(fresh_moto: str) -> None:
    """A wrong table name must read as "could not verify", never as "not locked"."""
    dynamodb = boto3.client("dynamodb", endpoint_url=fresh_moto, region_name=REGION)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        dynamodb_lock(dynamodb, "no-such-table", STATE_BUCKET, STATE_KEY)

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_no_lockfile_means_no_lock(s3: Any) -> None:
    """use_lockfile: the .tflock object exists only while the lock is held."""
    assert s3_lockfile(s3, STATE_BUCKET, STATE_KEY) is None


def test_a_held_s3_lockfile_names_who_and_what(s3: Any) -> None:
    """Terraform 1.10+ writes the same lock record into <key>.tflock."""
    s3.put_object(
        Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.tflock", Body=json.dumps(LOCK_RECORD).encode()
    )

    lock = s3_lockfile(s3, STATE_BUCKET, STATE_KEY)

    assert lock is not None
    assert lock.source == f"s3:{STATE_BUCKET}/{STATE_KEY}.tflock"
    assert (lock.lock_id, lock.who, lock.operation, lock.created) == (
        LOCK_RECORD["ID"],
        "runner@ci-host",
        "OperationTypeApply",
        "2026-01-29T15:00:00.123456Z",
    )
    assert lock.raw == LOCK_RECORD


def test_a_released_lockfile_in_a_versioned_bucket_is_no_lock(s3: Any) -> None:
    """Unlocking deletes the .tflock; in a versioned bucket a delete marker remains."""
    s3.put_object(
        Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.tflock", Body=json.dumps(LOCK_RECORD).encode()
    )
    s3.delete_object(Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.tflock")

    assert s3_lockfile(s3, STATE_BUCKET, STATE_KEY) is None


def test_a_missing_state_bucket_is_an_error_not_an_unlocked_state(fresh_moto: str) -> None:
    """NoSuchBucket is not "no lock file": it propagates for a "could not verify"."""
    client = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        s3_lockfile(client, "no-such-state-bucket", STATE_KEY)

    assert raised.value.response["Error"]["Code"] == "NoSuchBucket"
