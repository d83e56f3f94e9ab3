"""Plan a Terraform state restore: read the current state and the target, check, say what.

The playbook's Manual Rollback Steps 1-3 (list the versions, download the target, compare
it with the current state) as reads and pure checks, nothing written: the target must be
a state Terraform could have written, of the same ``lineage`` as the current one, and not
the current state itself. The plan it returns is the new body (the target with ``serial``
set to the current serial + 1, which Terraform accepts as a newer snapshot of the same
state) and the ETag it read, which :mod:`pytest_ohpen.terraform.restore_apply` writes
conditionally on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_SUCH_KEY, S3_NO_VERSION_BODY, error_code
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.terraform.state_versions import (
    StateParseError,
    StateSummary,
    list_versions,
    parse_state,
)

MIN_STATE_BYTES = 64
"""Below this a body cannot be a state Terraform wrote (its empty state is ~180 bytes)."""


class RestoreRefused(OhpenError):
    """The restore is not safe or not possible as asked; nothing was written."""


@dataclass(frozen=True)
class CurrentState:
    """The latest version of the state object, read in one GetObject."""

    version_id: str
    """``"null"`` in a bucket that never had versioning (as S3 lists it)."""
    etag: str
    body: bytes


@dataclass(frozen=True)
class RestorePlan:
    """What a restore would write, and the current version it would replace."""

    bucket: str
    key: str
    source: str
    """Where the target comes from: ``version <id>`` or ``file <path>``."""
    current_version_id: str
    current_etag: str
    current_serial: int
    lineage: str
    target_version_id: str | None
    """None when the target is a file (``--from-file``)."""
    target_serial: int
    new_serial: int
    body: bytes
    """The target's JSON with ``serial`` set to ``new_serial``; everything else unchanged."""
    current_body: bytes = field(repr=False)
    """The current version's exact bytes: what the backup file holds."""
    current_resource_count: int = 0
    target_resource_count: int = 0

    def describe(self) -> list[str]:
        """What would be written, in a few lines for an operator to check."""
        return [
            f"restore s3://{self.bucket}/{self.key} to {self.source} "
            f"(serial {self.target_serial}, {self.target_resource_count} resources)",
            f"replaces the current version {self.current_version_id} "
            f"(serial {self.current_serial}, {self.current_resource_count} resources)",
            f"writes a new version with serial {self.new_serial}, lineage {self.lineage} "
            f"(unchanged), {len(self.body)} bytes",
            f"only if the current version's ETag is still {self.current_etag} "
            "(a writer in between makes it fail)",
        ]


def validate_state(body: bytes) -> StateSummary:
    """The summary of a state body fit to restore; StateParseError (one line) if it is not.

    Stricter than :func:`parse_state`: the body must be UTF-8 text (Terraform writes
    nothing else) and not so small that it cannot be a state Terraform wrote.
    """
    summary = parse_state(body)
    if len(body) < MIN_STATE_BYTES:
        raise StateParseError(f"only {len(body)} bytes: too small to be a Terraform state")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StateParseError(f"not UTF-8 text: {error.reason} at byte {error.start}") from None
    return summary


def read_latest(s3: Any, bucket: str, key: str) -> CurrentState:
    """The latest version's id, ETag and bytes; RestoreRefused when there is none to read."""
    import botocore.exceptions as bex

    where = f"s3://{bucket}/{key}"
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = bytes(response["Body"].read())
    except bex.ClientError as error:
        code = error_code(error)
        if code in S3_NO_SUCH_KEY:
            raise RestoreRefused(_missing_message(s3, bucket, key)) from None
        raise RestoreRefused(f"cannot read the current state {where} ({code})") from None
    except bex.BotoCoreError as error:
        raise RestoreRefused(f"cannot read the current state {where} ({error})") from None
    return CurrentState(
        version_id=str(response.get("VersionId") or "null"),
        etag=str(response["ETag"]),
        body=body,
    )


def plan_restore(
    s3: Any,
    bucket: str,
    key: str,
    *,
    target_version_id: str | None = None,
    from_file: Path | None = None,
) -> RestorePlan:
    """Read the current state and the target (a version of ``key`` or a file) and say what
    a restore would write; RestoreRefused (one line) when it would not be safe."""
    if (target_version_id is None) == (from_file is None):
        raise ValueError("plan_restore: give exactly one of target_version_id and from_file")
    where = f"s3://{bucket}/{key}"
    current = read_latest(s3, bucket, key)
    try:
        now = validate_state(current.body)
    except StateParseError as error:
        raise RestoreRefused(
            f"the current state {where} (version {current.version_id}) is not a usable "
            f"Terraform state ({error}): its serial and lineage are unknown, so a restore "
            "cannot be checked"
        ) from None
    if target_version_id is not None:
        if target_version_id == current.version_id:
            raise RestoreRefused(
                f"version {target_version_id} is the current state of {where}: nothing to restore"
            )
        source = f"version {target_version_id}"
        body = _read_target_version(s3, bucket, key, target_version_id)
    else:
        assert from_file is not None
        source = f"file {from_file}"
        try:
            body = from_file.read_bytes()
        except OSError as error:
            raise RestoreRefused(f"cannot read {from_file}: {error.strerror or error}") from None
        if body == current.body:
            raise RestoreRefused(
                f"{from_file} is the current state of {where} (version {current.version_id}): "
                "nothing to restore"
            )
    try:
        target = validate_state(body)
    except StateParseError as error:
        raise RestoreRefused(f"{source} is not a usable Terraform state: {error}") from None
    if target.lineage != now.lineage:
        raise RestoreRefused(
            f"lineage {target.lineage} of the target is not the current state's "
            f"{now.lineage}: it is another state"
        )
    new_serial = now.serial + 1
    return RestorePlan(
        bucket=bucket,
        key=key,
        source=source,
        current_version_id=current.version_id,
        current_etag=current.etag,
        current_serial=now.serial,
        lineage=now.lineage,
        target_version_id=target_version_id,
        target_serial=target.serial,
        new_serial=new_serial,
        body=_with_serial(body, new_serial),
        current_body=current.body,
        current_resource_count=now.resource_count,
        target_resource_count=target.resource_count,
    )


def _read_target_version(s3: Any, bucket: str, key: str, version_id: str) -> bytes:
    import botocore.exceptions as bex

    where = f"s3://{bucket}/{key}"
    try:
        response = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        return bytes(response["Body"].read())
    except bex.ClientError as error:
        code = error_code(error)
        if code in S3_NO_VERSION_BODY:
            raise RestoreRefused(
                f"{where} has no version {version_id} with a body (no such version, "
                f"or a delete marker) ({code})"
            ) from None
        raise RestoreRefused(f"cannot read version {version_id} of {where} ({code})") from None
    except bex.BotoCoreError as error:
        raise RestoreRefused(f"cannot read version {version_id} of {where} ({error})") from None


def _missing_message(s3: Any, bucket: str, key: str) -> str:
    """Why there is no current state: deleted (a delete marker on top), or never written."""
    import botocore.exceptions as bex

    where = f"s3://{bucket}/{key}"
    try:
        versions = list_versions(s3, bucket, key)
    except (bex.ClientError, bex.BotoCoreError):
        versions = []
    if versions and versions[0].is_delete_marker:
        return (
            f"the latest version of {where} is a delete marker (the state was deleted): "
            "restore a version with 'terraform state push' or by copying it in S3"
        )
    return f"there is no state at {where}"


def _with_serial(body: bytes, serial: int) -> bytes:
    """The state with a new ``serial``, re-serialised as Terraform writes it (indent 2)."""
    state = json.loads(body)
    state["serial"] = serial
    return (json.dumps(state, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
