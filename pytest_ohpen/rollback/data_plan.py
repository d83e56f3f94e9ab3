"""Plan a data rollback: which run the pointer moves to, what is copied and removed.

Steps 2-3 of the playbook's "Data Rollback (Reverting _LATEST.json)" worked out from reads
only: the target must be a completed run of the layer that is not the promoted one, and
the plan keeps the pointer's ETag so :mod:`pytest_ohpen.rollback.data_apply` writes
nothing if a promotion happened since. The layout is described in
:mod:`pytest_ohpen.rollback.data_runs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytest_ohpen.config.environments import DataLayer
from pytest_ohpen.rollback.data_runs import (
    CURRENT,
    POINTER,
    SUCCESS,
    DataRollbackRefused,
    current_copies,
    iso_seconds,
    layer_prefix,
    objects_under,
    pointed_run,
    read_pointer,
    read_run,
    run_folders,
)

SCHEMA_VERSION = 1
"""The version of the pointer's JSON layout."""
MAX_COPY_BYTES = 5 * 1024**3
"""CopyObject copies at most 5 GiB in one call; a larger object needs a multipart copy."""


@dataclass
class DataRollbackPlan:
    """What a rollback would write, read while planning; apply checks it still holds."""

    layer: str
    bucket: str
    prefix: str
    """The layer's prefix, normalised to end with ``/`` (or empty)."""
    from_run: str | None
    """The run ``_LATEST.json`` pointed at when the plan was made (None: no pointer)."""
    to_run: str
    pointer_etag: str | None
    copies: list[tuple[str, str]] = field(default_factory=list)
    """(source key, target key): the target run's data objects and their keys in current/."""
    stale: list[str] = field(default_factory=list)
    """Keys in current/ that are not in the target run (removed after the copies)."""
    new_pointer: dict[str, Any] = field(default_factory=dict)

    @property
    def pointer_key(self) -> str:
        """The key of ``_LATEST.json``."""
        return f"{self.prefix}{POINTER}"

    def describe(self) -> list[str]:
        """The plan for a human: the pointer before and after, what is copied and removed."""
        current = f"s3://{self.bucket}/{self.prefix}{CURRENT}/"
        return [
            f"data rollback of layer {self.layer}: s3://{self.bucket}/{self.pointer_key}",
            f"before: pointer -> run {self.from_run or '(no pointer)'}",
            f"after:  pointer -> run {self.to_run} (previous_run_id {self.from_run}), "
            f"promoted_by {self.new_pointer.get('promoted_by')}",
            f"copy {_count(len(self.copies), 'object')} of run {self.to_run} to {current} "
            "(server-side)",
            f"then remove {_count(len(self.stale), 'stale object')} from {current} "
            f"(not in run {self.to_run})",
            f"reason: {self.new_pointer.get('reason')}",
        ]


def plan_data_rollback(
    s3: Any,
    layer_name: str,
    layer: DataLayer,
    to_run_id: str,
    reason: str,
    operator: str,
    now: datetime,
) -> DataRollbackPlan:
    """Read the pointer (with its ETag) first, then the target run; DataRollbackRefused
    (nothing written) for an unknown run, one that never completed, or the promoted one."""
    if now.tzinfo is None:
        raise ValueError("plan_data_rollback: now must be timezone-aware")
    prefix = layer_prefix(layer)
    where = f"s3://{layer.bucket}/{prefix}"
    pointer, etag = read_pointer(s3, layer)
    from_run = pointed_run(pointer)
    if not to_run_id or "/" in to_run_id or to_run_id == CURRENT:
        raise DataRollbackRefused(f"{to_run_id!r} is not a run id of {where}")
    folders = run_folders(s3, layer)
    if to_run_id not in folders:
        raise DataRollbackRefused(
            f"unknown run {to_run_id} in {where}; runs there: {', '.join(folders) or 'none'}"
        )
    target = read_run(s3, layer, to_run_id, from_run)
    if target is None:
        raise DataRollbackRefused(f"run {to_run_id} has no {SUCCESS}: it never completed; refusing")
    if target.promoted:
        raise DataRollbackRefused(
            f"run {to_run_id} is already promoted ({where}{POINTER} points at it): "
            "nothing to roll back"
        )
    run_prefix = f"{prefix}{to_run_id}/"
    current_prefix = f"{prefix}{CURRENT}/"
    copies: list[tuple[str, str]] = []
    for key, target_key, size in current_copies(s3, layer.bucket, prefix, to_run_id):
        if size > MAX_COPY_BYTES:
            raise DataRollbackRefused(
                f"s3://{layer.bucket}/{key} is larger than 5 GiB; CopyObject cannot copy it, "
                "copy it to current/ with a multipart copy first"
            )
        copies.append((key, target_key))
    if not copies:
        raise DataRollbackRefused(
            f"run {to_run_id} has no data objects besides {SUCCESS}; refusing to empty current/"
        )
    targets = {target_key for _, target_key in copies}
    in_current = objects_under(s3, layer.bucket, current_prefix)
    stale = [key for key, _ in in_current if key not in targets]
    new_pointer: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "layer": layer_name,
        "run_id": to_run_id,
        "location": f"s3://{layer.bucket}/{run_prefix}",
        "current_prefix": f"s3://{layer.bucket}/{current_prefix}",
        "promoted_at": iso_seconds(now),
        "promoted_by": operator,
        "previous_run_id": from_run,
        "rows": target.rows,
        "reason": reason,
    }
    return DataRollbackPlan(
        layer=layer_name,
        bucket=layer.bucket,
        prefix=prefix,
        from_run=from_run,
        to_run=to_run_id,
        pointer_etag=etag,
        copies=copies,
        stale=stale,
        new_pointer=new_pointer,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
