"""What an AWS error says, read from real botocore errors of a moto server's S3 answers.

The restore, the data rollback and the lock reader decide "absent", "lost to another
writer" and "no such version" from these readings, so they are checked against the
answers S3 (as moto serves it) really sends, not against hand-made dicts.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions as bex
import pytest
from conftest import moto_clients

from pytest_ohpen.aws.errors import (
    S3_NO_SUCH_KEY,
    S3_NO_VERSION_BODY,
    code_or_text,
    error_code,
    error_message,
    http_status,
    lost_condition,
)

BUCKET = "ohpen-errors"


@pytest.fixture
def s3(fresh_moto: str) -> Any:
    client = moto_clients(fresh_moto).client("s3")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def _raised(call: Any, **kwargs: Any) -> bex.ClientError:
    with pytest.raises(bex.ClientError) as caught:
        call(**kwargs)
    return caught.value


def test_a_missing_object_reads_as_no_such_key_with_its_status_and_message(s3: Any) -> None:
    error = _raised(s3.get_object, Bucket=BUCKET, Key="absent.json")
    assert error_code(error) == "NoSuchKey"
    assert error_code(error) in S3_NO_SUCH_KEY
    assert http_status(error) == 404
    assert error_message(error)  # S3 says what is missing
    assert code_or_text(error) == "NoSuchKey"


def test_a_missing_object_seen_by_head_is_absent_too(s3: Any) -> None:
    """HeadObject answers without a body, so the code is only the status: still absent."""
    error = _raised(s3.head_object, Bucket=BUCKET, Key="absent.json")
    assert error_code(error) in S3_NO_SUCH_KEY


def test_a_missing_bucket_is_not_a_missing_object(s3: Any) -> None:
    error = _raised(s3.get_object, Bucket="no-such-bucket-here", Key="k")
    assert error_code(error) == "NoSuchBucket"
    assert error_code(error) not in S3_NO_SUCH_KEY
    assert not lost_condition(error)


def test_a_write_conditional_on_an_old_etag_lost_to_another_writer(s3: Any) -> None:
    old = s3.put_object(Bucket=BUCKET, Key="state", Body=b"one")["ETag"]
    s3.put_object(Bucket=BUCKET, Key="state", Body=b"two")
    error = _raised(s3.put_object, Bucket=BUCKET, Key="state", Body=b"three", IfMatch=old)
    assert lost_condition(error)


def test_a_version_that_does_not_exist_or_is_a_delete_marker_has_no_body(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="state", Body=b"one")
    marker = s3.delete_object(Bucket=BUCKET, Key="state")["VersionId"]
    deleted = _raised(s3.get_object, Bucket=BUCKET, Key="state", VersionId=marker)
    unknown = _raised(s3.get_object, Bucket=BUCKET, Key="state", VersionId="no-such-version")
    assert error_code(deleted) in S3_NO_VERSION_BODY
    assert error_code(unknown) in S3_NO_VERSION_BODY
