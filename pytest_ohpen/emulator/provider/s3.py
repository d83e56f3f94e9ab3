"""S3: the data buckets, their versioning, encryption and public access block, and objects
(the Glue script)."""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Block, Schema
from tf.types import Bool

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code

MISSING_BUCKET = ("NoSuchBucket", "404", "NotFound")


def _region(aws: Any) -> str:
    return str(aws("s3").meta.region_name)


class Bucket(AwsResource):
    type_name = "aws_s3_bucket"
    name_key = "bucket"
    schema = Schema(
        attributes=[
            attr("bucket", required=True, requires_replace=True),
            attr("force_destroy", Bool(), optional=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        s3, name = self.aws("s3"), planned["bucket"]
        options: dict[str, Any] = {"Bucket": name}
        if _region(self.aws) != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": _region(self.aws)}
        s3.create_bucket(**options)
        return {**planned, "arn": f"arn:aws:s3:::{name}", "id": name}

    def look(self, current: State) -> State | None:
        name = current.get("bucket") or current["id"]
        try:
            self.aws("s3").head_bucket(Bucket=name)
        except Exception as error:
            if aws_code(error) in MISSING_BUCKET:
                return None
            raise
        return {
            "bucket": name,
            "force_destroy": current.get("force_destroy"),
            "arn": f"arn:aws:s3:::{name}",
            "id": name,
        }

    def change(self, current: State, planned: State) -> State:
        return {**current, "force_destroy": planned.get("force_destroy")}

    def remove(self, current: State) -> None:
        s3, name = self.aws("s3"), current["bucket"]
        if current.get("force_destroy"):
            listed = s3.list_object_versions(Bucket=name)
            for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
                s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
        s3.delete_bucket(Bucket=name)


class BucketVersioning(AwsResource):
    type_name = "aws_s3_bucket_versioning"
    name_key = "bucket"
    schema = Schema(
        attributes=[
            attr("bucket", required=True, requires_replace=True),
            attr("id", computed=True),
        ],
        block_types=[
            SetNestedBlock(
                "versioning_configuration", Block(attributes=[attr("status", required=True)])
            )
        ],
    )

    def make(self, planned: State) -> State:
        return self.change(planned, planned)

    def change(self, current: State, planned: State) -> State:
        status = planned["versioning_configuration"][0]["status"]
        self.aws("s3").put_bucket_versioning(
            Bucket=planned["bucket"], VersioningConfiguration={"Status": status}
        )
        return {**planned, "id": planned["bucket"]}

    def look(self, current: State) -> State | None:
        try:
            answer = self.aws("s3").get_bucket_versioning(Bucket=current["bucket"])
        except Exception as error:
            if aws_code(error) in MISSING_BUCKET:
                return None
            raise
        status = answer.get("Status")
        if status is None:
            return None
        return {**current, "versioning_configuration": [{"status": status}]}

    def remove(self, current: State) -> None:
        self.aws("s3").put_bucket_versioning(
            Bucket=current["bucket"], VersioningConfiguration={"Status": "Suspended"}
        )


_DEFAULT = SetNestedBlock(
    "apply_server_side_encryption_by_default",
    Block(
        attributes=[
            attr("sse_algorithm", required=True),
            attr("kms_master_key_id", optional=True),
        ]
    ),
)


class BucketEncryption(AwsResource):
    type_name = "aws_s3_bucket_server_side_encryption_configuration"
    name_key = "bucket"
    schema = Schema(
        attributes=[
            attr("bucket", required=True, requires_replace=True),
            attr("id", computed=True),
        ],
        block_types=[
            SetNestedBlock(
                "rule",
                Block(
                    attributes=[attr("bucket_key_enabled", Bool(), optional=True)],
                    block_types=[_DEFAULT],
                ),
            )
        ],
    )

    def make(self, planned: State) -> State:
        return self.change(planned, planned)

    def change(self, current: State, planned: State) -> State:
        rules = []
        for rule in planned["rule"]:
            default = rule["apply_server_side_encryption_by_default"][0]
            applied: dict[str, Any] = {"SSEAlgorithm": default["sse_algorithm"]}
            if default.get("kms_master_key_id"):
                applied["KMSMasterKeyID"] = default["kms_master_key_id"]
            entry: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": applied}
            if rule.get("bucket_key_enabled") is not None:
                entry["BucketKeyEnabled"] = rule["bucket_key_enabled"]
            rules.append(entry)
        self.aws("s3").put_bucket_encryption(
            Bucket=planned["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return {**planned, "id": planned["bucket"]}

    def look(self, current: State) -> State | None:
        try:
            answer = self.aws("s3").get_bucket_encryption(Bucket=current["bucket"])
        except Exception as error:
            if aws_code(error) in (
                *MISSING_BUCKET,
                "ServerSideEncryptionConfigurationNotFoundError",
            ):
                return None
            raise
        recorded = {r.get("bucket_key_enabled") for r in current.get("rule") or []}
        rules = []
        for rule in answer["ServerSideEncryptionConfiguration"]["Rules"]:
            applied = rule["ApplyServerSideEncryptionByDefault"]
            enabled = rule.get("BucketKeyEnabled")
            rules.append(
                {
                    # moto answers False for "not set": keep Terraform's null then
                    "bucket_key_enabled": None if not enabled and None in recorded else enabled,
                    "apply_server_side_encryption_by_default": [
                        {
                            "sse_algorithm": applied["SSEAlgorithm"],
                            "kms_master_key_id": applied.get("KMSMasterKeyID"),
                        }
                    ],
                }
            )
        return {**current, "rule": rules}

    def remove(self, current: State) -> None:
        self.aws("s3").delete_bucket_encryption(Bucket=current["bucket"])


_FLAGS = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


class PublicAccessBlock(AwsResource):
    type_name = "aws_s3_bucket_public_access_block"
    name_key = "bucket"
    schema = Schema(
        attributes=[
            attr("bucket", required=True, requires_replace=True),
            *(attr(flag, Bool(), optional=True) for flag in _FLAGS),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        return self.change(planned, planned)

    def change(self, current: State, planned: State) -> State:
        config = {key: bool(planned.get(flag)) for flag, key in _FLAGS.items()}
        self.aws("s3").put_public_access_block(
            Bucket=planned["bucket"], PublicAccessBlockConfiguration=config
        )
        return {**planned, "id": planned["bucket"]}

    def look(self, current: State) -> State | None:
        try:
            answer = self.aws("s3").get_public_access_block(Bucket=current["bucket"])
        except Exception as error:
            if aws_code(error) in (*MISSING_BUCKET, "NoSuchPublicAccessBlockConfiguration"):
                return None
            raise
        config = answer["PublicAccessBlockConfiguration"]
        return {**current, **{flag: bool(config.get(key)) for flag, key in _FLAGS.items()}}

    def remove(self, current: State) -> None:
        self.aws("s3").delete_public_access_block(Bucket=current["bucket"])


class Object(AwsResource):
    type_name = "aws_s3_object"
    name_key = "key"
    schema = Schema(
        attributes=[
            attr("bucket", required=True, requires_replace=True),
            attr("key", required=True, requires_replace=True),
            attr("source", optional=True),
            attr("content", optional=True),
            attr("content_type", optional=True, computed=True),
            attr("etag", optional=True, computed=True),
            attr("version_id", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        body = (
            self.aws.read_bytes(planned["source"])
            if planned.get("source")
            else str(planned.get("content") or "").encode()
        )
        options: dict[str, Any] = {"Bucket": planned["bucket"], "Key": planned["key"], "Body": body}
        content_type = planned.get("content_type")
        if isinstance(content_type, str):
            options["ContentType"] = content_type
        answer = self.aws("s3").put_object(**options)
        return {
            **planned,
            "content_type": content_type
            if isinstance(content_type, str)
            else "binary/octet-stream",
            "etag": str(answer["ETag"]).strip('"'),
            "version_id": answer.get("VersionId", ""),
            "id": planned["key"],
        }

    def change(self, current: State, planned: State) -> State:
        return self.make(planned)

    def look(self, current: State) -> State | None:
        try:
            answer = self.aws("s3").head_object(Bucket=current["bucket"], Key=current["key"])
        except Exception as error:
            if aws_code(error) in (*MISSING_BUCKET, "NoSuchKey"):
                return None
            raise
        return {
            **current,
            "content_type": answer.get("ContentType", current.get("content_type")),
            "etag": str(answer["ETag"]).strip('"'),
            "version_id": answer.get("VersionId", ""),
        }

    def remove(self, current: State) -> None:
        self.aws("s3").delete_object(Bucket=current["bucket"], Key=current["key"])


RESOURCES = (Bucket, BucketVersioning, BucketEncryption, PublicAccessBlock, Object)
