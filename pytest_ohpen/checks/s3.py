"""S3: a bucket exists and this account can read it."""

from __future__ import annotations

from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"NoSuchBucket", "404", "NotFound"})


def check_bucket_accessible(s3: Any, bucket: str, where: Where) -> None:
    """HeadBucket, then list at most one key: the bucket exists and is readable."""
    try:
        with probing("bucket", bucket, where, NOT_FOUND):
            s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=where.account_id)
    except CheckFailed as failure:
        # HeadBucket has no body, so S3 answers "404"; say what that means.
        raise CheckFailed(
            str(failure).replace("not found (404)", "not found (NoSuchBucket)")
        ) from None
    with probing("bucket", bucket, where, NOT_FOUND):
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1, ExpectedBucketOwner=where.account_id)
