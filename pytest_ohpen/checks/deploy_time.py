"""When the deployment under check finished: the time the checks that look back "since the
deploy" (Lambda errors, the bake window) start from.

Terraform writes its state object as the apply ends, so the state object's LastModified in
the backend bucket is the deploy's time as the account records it, whoever ran the apply.
"""

from __future__ import annotations

import re
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
    return parse_lambda_time(str(config["LastModified"]))


def parse_lambda_time(text: str) -> datetime:
    """Lambda's LastModified ("2026-12-02T10:00:00.000+0000"; emulators also write "Z" and
    nanoseconds) as an aware UTC datetime; the fraction is cut to microseconds."""
    found = _LAMBDA_TIME.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not a Lambda LastModified time: {text!r}")
    zone = found["zone"] or "Z"
    zone = "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[-2:]}"
    fraction = (found["fraction"] or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{found['base']}.{fraction}{zone}").astimezone(UTC)


_LAMBDA_TIME = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
