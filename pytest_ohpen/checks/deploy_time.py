"""When the deployment under check finished: the time the checks that look back "since the
deploy" (Lambda errors, the bake window) start from.

Terraform writes its state object as the apply ends, so the state object's LastModified in
the backend bucket is the deploy's time as the account records it, whoever ran the apply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})


def state_written_at(s3: Any, bucket: str, key: str, where: Where) -> datetime:
    """HeadObject of the Terraform state: when the last apply (or rollback) wrote it, in UTC."""
    try:
        with probing("Terraform state", f"s3://{bucket}/{key}", where, NOT_FOUND):
            head = s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=where.account_id)
    except CheckFailed as failure:
        raise CheckFailed(
            f"{failure}; the deploy's time is read from the state object's LastModified"
        ) from None
    moment: datetime = head["LastModified"]
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def function_updated_at(lambda_client: Any, function: str, where: Where) -> datetime:
    """GetFunctionConfiguration's LastModified: when the function's code or settings last
    changed, the start of "since the deploy" where no Terraform state says when it was."""
    with probing("Lambda", function, where, frozenset({"ResourceNotFoundException"})):
        config = lambda_client.get_function_configuration(FunctionName=function)
    text = str(config["LastModified"])  # "2026-12-02T10:00:00.000+0000"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
