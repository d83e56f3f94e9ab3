"""The Terraform backend's own resources in the embedded account: the versioned state
bucket and the lock table. They are outside the stack's code (a backend cannot create the
bucket it stores its state in), as in a real account, so they are made here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients


def create_backend(clients: AwsClients, state_bucket: str | None, lock_table: str | None) -> None:
    """The state bucket (versioned, SSE-S3, public access blocked) and the lock table; a
    None name is one the account must not have (``--emulator-omit``)."""
    if state_bucket:
        _state_bucket(clients.client("s3"), state_bucket, clients.env.region)
    if lock_table:
        clients.client("dynamodb").create_table(
            TableName=lock_table,
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def _state_bucket(s3: Any, name: str, region: str) -> None:
    options: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**options)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
