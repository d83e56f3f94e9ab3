"""Reading a data layer: its completed runs and its promotion pointer, nothing written.

Step 1 of the playbook's "Data Rollback (Reverting _LATEST.json)" (the run history) and
what planning and applying a rollback read. A layer
(``[<env>.data.<layer>]``: bucket and prefix ``P``; ``P`` is used with one trailing ``/``)
is laid out in its bucket as:

- ``P<run_id>/...``: one ETL run's data objects, never modified once written, and
  ``P<run_id>/_SUCCESS``, the JSON the ETL writes when the run completed::

      {"run_id": "...", "completed_at": "2026-01-31T06:00:00Z", "rows": 1000,
       "quarantined": 12, "quarantine_rate": 0.012, "source": "s3://..."}

  ``quarantine_rate`` is a fraction (0.012 is 1.2 %). A run without ``_SUCCESS`` never
  completed and is never a rollback target.
- ``P_LATEST.json``: the promotion pointer consumers read::

      {"schema_version": 1,
       "layer": "silver",
       "run_id": "<promoted run>",
       "location": "s3://<bucket>/P<run_id>/",
       "current_prefix": "s3://<bucket>/Pcurrent/",
       "promoted_at": "2026-01-31T07:00:00Z",
       "promoted_by": "<who>",
       "previous_run_id": "<the run promoted before it, or null>",
       "rows": 1000,
       "reason": "<why>"}

- ``Pcurrent/...``: a copy of the promoted run's data objects (not its ``_SUCCESS``), at
  the same keys relative to the run folder; what consumers query.

Planning a rollback is :mod:`pytest_ohpen.rollback.data_plan`, applying it
:mod:`pytest_ohpen.rollback.data_apply`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_SUCH_KEY, error_code
from pytest_ohpen.config.environments import DataLayer
from pytest_ohpen.errors import OhpenError

POINTER = "_LATEST.json"
SUCCESS = "_SUCCESS"
CURRENT = "current"


class DataRollbackRefused(OhpenError):
    """The rollback is not possible or not safe as asked; what was written is said."""


@dataclass(frozen=True)
class Run:
    """A completed run of a layer (it has ``_SUCCESS``), as its metadata describes it."""

    run_id: str
    completed_at: str
    rows: int | None
    quarantine_rate: float | None
    metadata: dict[str, Any]
    promoted: bool
    """Whether ``_LATEST.json`` points at this run."""


def layer_prefix(layer: DataLayer) -> str:
    """The layer's prefix with exactly one trailing ``/`` (empty: the bucket's root)."""
    stripped = layer.prefix.strip("/")
    return f"{stripped}/" if stripped else ""


def read_pointer(s3: Any, layer: DataLayer) -> tuple[dict[str, Any] | None, str | None]:
    """``_LATEST.json`` and its ETag, or (None, None) when there is none.

    DataRollbackRefused when it exists but is not a JSON object (nothing can be checked
    against a pointer that cannot be read).
    """
    import botocore.exceptions as bex

    key = f"{layer_prefix(layer)}{POINTER}"
    try:
        response = s3.get_object(Bucket=layer.bucket, Key=key)
    except bex.ClientError as error:
        if error_code(error) in S3_NO_SUCH_KEY:
            return None, None
        raise
    body = response["Body"].read()
    try:
        pointer = json.loads(body)
    except ValueError as error:
        raise DataRollbackRefused(
            f"s3://{layer.bucket}/{key} is not JSON ({error}); repair it by hand"
        ) from None
    if not isinstance(pointer, dict):
        raise DataRollbackRefused(f"s3://{layer.bucket}/{key} is not a JSON object")
    return pointer, str(response["ETag"])


def list_runs(s3: Any, layer: DataLayer) -> list[Run]:
    """The layer's completed runs, newest first by ``completed_at``; runs without
    ``_SUCCESS`` (incomplete) and ``current/`` are left out."""
    pointer, _ = read_pointer(s3, layer)
    promoted = pointer.get("run_id") if pointer else None
    runs: list[Run] = []
    for run_id in run_folders(s3, layer):
        run = read_run(s3, layer, run_id, promoted)
        if run is not None:
            runs.append(run)
    return sorted(runs, key=lambda run: (_moment(run.completed_at), run.run_id), reverse=True)


def run_folders(s3: Any, layer: DataLayer) -> list[str]:
    """Every run folder under the prefix (completed or not), sorted; not current/."""
    prefix = layer_prefix(layer)
    folders: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=layer.bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = str(common["Prefix"])[len(prefix) :].rstrip("/")
            if name and name != CURRENT:
                folders.append(name)
    return sorted(folders)


def objects_under(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size) of every object under ``prefix``."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield str(item["Key"]), int(item.get("Size", 0))


def current_copies(s3: Any, bucket: str, prefix: str, run_id: str) -> list[tuple[str, str, int]]:
    """(key, key in current/, size) of every data object of ``run_id`` (not its ``_SUCCESS``):
    promoting the run copies each to the same key relative to the run folder."""
    run_prefix = f"{prefix}{run_id}/"
    return [
        (key, f"{prefix}{CURRENT}/{key[len(run_prefix) :]}", size)
        for key, size in objects_under(s3, bucket, run_prefix)
        if key != f"{run_prefix}{SUCCESS}"
    ]


def read_run(s3: Any, layer: DataLayer, run_id: str, promoted: str | None) -> Run | None:
    """The run as its ``_SUCCESS`` describes it; None when it has none (incomplete).

    A ``_SUCCESS`` that is not a JSON object still marks the run complete: its metadata
    is then empty and ``completed_at`` is when ``_SUCCESS`` was written.
    """
    import botocore.exceptions as bex

    key = f"{layer_prefix(layer)}{run_id}/{SUCCESS}"
    try:
        response = s3.get_object(Bucket=layer.bucket, Key=key)
    except bex.ClientError as error:
        if error_code(error) in S3_NO_SUCH_KEY:
            return None
        raise
    body = response["Body"].read()
    try:
        metadata = json.loads(body) if body.strip() else {}
    except ValueError:
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    completed = metadata.get("completed_at")
    if not isinstance(completed, str):
        completed = iso_seconds(response["LastModified"])
    rows = metadata.get("rows")
    rate = metadata.get("quarantine_rate")
    return Run(
        run_id=run_id,
        completed_at=completed,
        rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
        quarantine_rate=float(rate)
        if isinstance(rate, int | float) and not isinstance(rate, bool)
        else None,
        metadata=metadata,
        promoted=run_id == promoted,
    )


def _moment(text: str) -> datetime:
    """``text`` as an aware datetime for ordering; unparseable sorts oldest."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_seconds(moment: datetime) -> str:
    """``moment`` in UTC to the second with ``Z``: how ``_SUCCESS`` and the pointer write it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def pointed_run(pointer: dict[str, Any] | None) -> str | None:
    """The run id the pointer names; None without a pointer or without a usable ``run_id``."""
    run_id = pointer.get("run_id") if pointer else None
    return run_id if isinstance(run_id, str) and run_id else None
