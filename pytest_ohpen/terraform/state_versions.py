"""Terraform state versions in the S3 backend: list them, read one, and say what it holds.

The playbook's Steps 1-3 (list the state versions, download the target one, check its
JSON) as functions. Everything here is read-only; boto3 clients are passed in, so the
functions work on any account the caller chose (and on a Stubber in tests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SUPPORTED_FORMAT = 4
"""The state format Terraform 0.12 and later write (the JSON ``version``)."""


@dataclass(frozen=True)
class StateVersion:
    """One version of the state object, or a delete marker, as S3 lists it."""

    version_id: str
    last_modified: datetime
    """Aware, in UTC."""
    is_latest: bool
    size: int
    is_delete_marker: bool = False


@dataclass(frozen=True)
class StateSummary:
    """What a state version records: enough to tell two versions apart in a report."""

    format_version: int
    terraform_version: str
    serial: int
    lineage: str
    resource_count: int
    """Entries of the state's ``resources`` (resource blocks, managed and data)."""


class StateParseError(Exception):
    """A state body is not a usable Terraform state; ``str(error)`` is one line saying why."""


def parse_state(body: bytes) -> StateSummary:
    """The summary of a Terraform state body; StateParseError if it is not one.

    The format version is checked before the other keys: an old format names
    things differently, and "format 3 is not supported" is the useful message then.
    """
    if not body.strip():
        raise StateParseError("empty body")
    try:
        state = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StateParseError(f"not JSON: {_one_line(error)}") from None
    if not isinstance(state, dict):
        raise StateParseError(f"not a JSON object (a {type(state).__name__})")
    format_version = _integer(state, "version")
    if format_version != SUPPORTED_FORMAT:
        raise StateParseError(
            f"state format version {format_version} is not supported (expected {SUPPORTED_FORMAT})"
        )
    terraform_version = _string(state, "terraform_version")
    serial = _integer(state, "serial")
    lineage = _string(state, "lineage")
    if not lineage:
        raise StateParseError("'lineage' is empty")
    resources = state.get("resources", [])
    if not isinstance(resources, list):
        raise StateParseError("'resources' is not a list")
    return StateSummary(
        format_version=format_version,
        terraform_version=terraform_version,
        serial=serial,
        lineage=lineage,
        resource_count=len(resources),
    )


def list_versions(s3: Any, bucket: str, key: str) -> list[StateVersion]:
    """Every version and delete marker of exactly ``key``, newest first.

    S3 lists by prefix, so ``terraform.tfstate.backup`` would come along with
    ``terraform.tfstate``: other keys are dropped. Keys are listed in order, so the
    listing stops at the first page that has moved past ``key``.
    """
    found: list[StateVersion] = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        entries = [(v, False) for v in page.get("Versions", [])]
        entries += [(m, True) for m in page.get("DeleteMarkers", [])]
        found += [
            StateVersion(
                version_id=str(entry["VersionId"]),
                last_modified=_utc(entry["LastModified"]),
                is_latest=bool(entry.get("IsLatest", False)),
                size=int(entry.get("Size", 0)),
                is_delete_marker=marker,
            )
            for entry, marker in entries
            if entry.get("Key") == key
        ]
        if any(str(entry.get("Key", "")) > key for entry, _ in entries):
            break
    # S3 lists a key's versions newest first, but botocore splits versions and delete
    # markers into two lists; a stable sort merges them and keeps S3's order on ties.
    found.sort(key=lambda v: (not v.is_latest, -v.last_modified.timestamp()))
    return found


def read_version(s3: Any, bucket: str, key: str, version_id: str) -> bytes:
    """The body of one version of ``key`` (a delete marker has none: S3 refuses it)."""
    response = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
    return bytes(response["Body"].read())


def bucket_versioning(s3: Any, bucket: str) -> str:
    """The bucket's versioning: "Enabled", "Suspended", or "Disabled" (never turned on).

    Without "Enabled" the backend keeps no new previous versions to roll back to.
    """
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return str(status) if status else "Disabled"


def _integer(state: dict[str, Any], name: str) -> int:
    if name not in state:
        raise StateParseError(f"missing {name!r}")
    value = state[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateParseError(f"{name!r} is not an integer")
    return value


def _string(state: dict[str, Any], name: str) -> str:
    if name not in state:
        raise StateParseError(f"missing {name!r}")
    value = state[name]
    if not isinstance(value, str):
        raise StateParseError(f"{name!r} is not a string")
    return value


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # botocore always parses an offset; be safe anyway
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
