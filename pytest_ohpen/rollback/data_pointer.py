"""A data layer's promoted run (``_LATEST.json`` and ``current/``) and rolling it back.

The playbook's "Data Rollback (Reverting _LATEST.json)" as one checked operation. A layer
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

What :func:`apply_data_rollback` guarantees (S3 has no transactions and no lock is taken):

1. If ``_LATEST.json`` is not the one the plan read (ETag), nothing is written at all.
2. ``_LATEST.json`` is written last and only conditionally (``If-Match`` the plan's ETag,
   ``If-None-Match: *`` when there was none), so a concurrent promotion is never overwritten.
3. Objects are removed from ``current/`` only after every copy succeeded, so ``current/``
   never lacks a key of the run it is switching to. While the copies run, a reader of
   ``current/`` can see old and new objects side by side; the pointer is the commit point.
4. When the rollback fails after it started writing ``current/`` (a copy or a delete
   fails, or the pointer write loses to a concurrent promotion), ``current/`` is made to
   hold exactly the objects of the run the pointer *then* names (the concurrent
   promotion's run, or the plan's ``from_run`` when the pointer did not change), and the
   error says which run that is. The pointer and ``current/`` therefore agree again. If the
   pointer then names no completed run of the layer, ``current/`` is restored to
   ``from_run``; if even that restore fails, the error says ``current/`` may mix runs.
   A concurrent promoter still copying its run to ``current/`` converges on the same objects.
5. When the pointer write's outcome is unknown (a network error, not an S3 answer),
   nothing is restored: the error says so and that ``current/`` holds the target run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.config.environments import DataLayer
from pytest_ohpen.errors import OhpenError

SCHEMA_VERSION = 1
"""The version of the pointer's JSON layout."""
POINTER = "_LATEST.json"
SUCCESS = "_SUCCESS"
CURRENT = "current"
MAX_COPY_BYTES = 5 * 1024**3
"""CopyObject copies at most 5 GiB in one call; a larger object needs a multipart copy."""
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class DataRollbackRefused(OhpenError):
    """The rollback is not possible or not safe as asked; what was written is said."""


class DataRollbackConflict(OhpenError):
    """Another writer changed ``_LATEST.json``; the rollback's pointer was not written."""


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


# ---------------------------------------------------------------- reading


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
        if _code(error) in _MISSING_CODES:
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
    for run_id in _run_folders(s3, layer):
        run = _read_run(s3, layer, run_id, promoted)
        if run is not None:
            runs.append(run)
    return sorted(runs, key=lambda run: (_moment(run.completed_at), run.run_id), reverse=True)


# ---------------------------------------------------------------- planning


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
    from_run = _text(pointer.get("run_id")) if pointer else None
    if not to_run_id or "/" in to_run_id or to_run_id == CURRENT:
        raise DataRollbackRefused(f"{to_run_id!r} is not a run id of {where}")
    folders = _run_folders(s3, layer)
    if to_run_id not in folders:
        raise DataRollbackRefused(
            f"unknown run {to_run_id} in {where}; runs there: {', '.join(folders) or 'none'}"
        )
    target = _read_run(s3, layer, to_run_id, from_run)
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
    for key, size in _objects(s3, layer.bucket, run_prefix):
        if key == f"{run_prefix}{SUCCESS}":
            continue
        if size > MAX_COPY_BYTES:
            raise DataRollbackRefused(
                f"s3://{layer.bucket}/{key} is larger than 5 GiB; CopyObject cannot copy it, "
                "copy it to current/ with a multipart copy first"
            )
        copies.append((key, f"{current_prefix}{key[len(run_prefix) :]}"))
    if not copies:
        raise DataRollbackRefused(
            f"run {to_run_id} has no data objects besides {SUCCESS}; refusing to empty current/"
        )
    targets = {target_key for _, target_key in copies}
    stale = [key for key, _ in _objects(s3, layer.bucket, current_prefix) if key not in targets]
    new_pointer: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "layer": layer_name,
        "run_id": to_run_id,
        "location": f"s3://{layer.bucket}/{run_prefix}",
        "current_prefix": f"s3://{layer.bucket}/{current_prefix}",
        "promoted_at": _iso(now),
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


# ---------------------------------------------------------------- applying


def apply_data_rollback(s3: Any, layer: DataLayer, plan: DataRollbackPlan) -> dict[str, Any]:
    """Check the pointer, copy the target run to current/, remove the stale objects, then
    write the pointer conditionally; see the module docstring for what a failure leaves.

    Returns the audit record's data: layer, pointer, previous and new run, copies, removed.
    """
    import botocore.exceptions as bex

    if (layer.bucket, layer_prefix(layer)) != (plan.bucket, plan.prefix):
        raise ValueError(f"apply_data_rollback: the plan is for s3://{plan.bucket}/{plan.prefix}")
    pointer_uri = f"s3://{plan.bucket}/{plan.pointer_key}"
    now_etag = _head_etag(s3, plan.bucket, plan.pointer_key)
    if now_etag != plan.pointer_etag:
        standing, _ = read_pointer(s3, layer)
        now_run = _text(standing.get("run_id")) if standing else None
        raise DataRollbackConflict(
            f"{pointer_uri} changed since the plan was read (it was run {plan.from_run}, now "
            f"run {now_run}): nothing was written; plan the rollback again"
        )
    try:
        for source, target in plan.copies:
            s3.copy_object(
                Bucket=plan.bucket,
                Key=target,
                CopySource={"Bucket": plan.bucket, "Key": source},
                MetadataDirective="COPY",
            )
        targets = {target for _, target in plan.copies}
        current_prefix = f"{plan.prefix}{CURRENT}/"
        removed = [k for k, _ in _objects(s3, plan.bucket, current_prefix) if k not in targets]
        _delete(s3, plan.bucket, removed)
    except (bex.ClientError, bex.BotoCoreError, DataRollbackRefused) as error:
        restored = _restore_current(s3, layer, plan)
        raise DataRollbackRefused(
            f"writing run {plan.to_run} to current/ failed ({_describe(error)}): {pointer_uri} "
            f"was not written; {restored}"
        ) from None
    body = (json.dumps(plan.new_pointer, indent=2) + "\n").encode("utf-8")
    condition = (
        {"IfMatch": plan.pointer_etag} if plan.pointer_etag is not None else {"IfNoneMatch": "*"}
    )
    try:
        response = s3.put_object(
            Bucket=plan.bucket,
            Key=plan.pointer_key,
            Body=body,
            ContentType="application/json",
            **condition,
        )
    except bex.ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if _code(error) in _CONFLICT_CODES | _MISSING_CODES or status in (409, 412):
            restored = _restore_current(s3, layer, plan)
            raise DataRollbackConflict(
                f"the pointer changed since it was read (a concurrent promotion): {pointer_uri} "
                f"was not written; {restored}"
            ) from None
        restored = _restore_current(s3, layer, plan)
        raise DataRollbackRefused(
            f"cannot write {pointer_uri} ({_code(error)}): it was not written; {restored}"
        ) from None
    except bex.BotoCoreError as error:
        raise DataRollbackRefused(
            f"cannot write {pointer_uri} ({error}): whether it was written is unknown; "
            f"current/ holds run {plan.to_run}'s objects; check with 'ohpen data runs'"
        ) from None
    return {
        "layer": plan.layer,
        "bucket": plan.bucket,
        "pointer": pointer_uri,
        "previous_run_id": plan.from_run,
        "new_run_id": plan.to_run,
        "previous_pointer_etag": plan.pointer_etag,
        "new_pointer_etag": response.get("ETag"),
        "new_pointer_version_id": response.get("VersionId"),
        "new_pointer": plan.new_pointer,
        "copies": [list(pair) for pair in plan.copies],
        "removed": removed,
    }


# ---------------------------------------------------------------- helpers


def _restore_current(s3: Any, layer: DataLayer, plan: DataRollbackPlan) -> str:
    """Make current/ hold exactly the run the pointer now names (else ``plan.from_run``);
    the sentence saying what current/ holds afterwards."""
    import botocore.exceptions as bex

    try:
        standing, _ = read_pointer(s3, layer)
    except (bex.ClientError, bex.BotoCoreError, DataRollbackRefused):
        standing = None
    standing_run = _text(standing.get("run_id")) if standing else None
    for run_id in dict.fromkeys(r for r in (standing_run, plan.from_run) if r):
        try:
            if _read_run(s3, layer, run_id, None) is None:
                continue
            _sync_current(s3, plan.bucket, plan.prefix, run_id)
        except (bex.ClientError, bex.BotoCoreError, DataRollbackRefused) as error:
            return (
                f"restoring current/ to run {run_id} failed too ({_describe(error)}): current/ "
                f"may mix runs {plan.to_run} and {run_id}; copy run {run_id}'s objects to "
                "current/ and remove the others by hand"
            )
        if run_id == standing_run:
            return f"current/ was restored to run {run_id}'s objects, which the pointer names"
        return (
            f"current/ was restored to run {run_id}'s objects (what it held before); the "
            f"pointer names {standing_run or 'no run'}"
        )
    return (
        f"current/ holds run {plan.to_run}'s objects and could not be restored: neither the "
        f"pointer ({standing_run}) nor the previous run ({plan.from_run}) is a completed run"
    )


def _sync_current(s3: Any, bucket: str, prefix: str, run_id: str) -> None:
    """Copy every data object of ``run_id`` to current/, then remove what is not in it."""
    run_prefix = f"{prefix}{run_id}/"
    current_prefix = f"{prefix}{CURRENT}/"
    targets: set[str] = set()
    for key, _ in _objects(s3, bucket, run_prefix):
        if key == f"{run_prefix}{SUCCESS}":
            continue
        target = f"{current_prefix}{key[len(run_prefix) :]}"
        s3.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="COPY",
        )
        targets.add(target)
    _delete(s3, bucket, [k for k, _ in _objects(s3, bucket, current_prefix) if k not in targets])


def _delete(s3: Any, bucket: str, keys: list[str]) -> None:
    """Delete ``keys`` (1000 a call); DataRollbackRefused naming the first that failed."""
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise DataRollbackRefused(
                f"cannot delete s3://{bucket}/{first.get('Key')} ({first.get('Code')})"
            )


def _run_folders(s3: Any, layer: DataLayer) -> list[str]:
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


def _objects(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size) of every object under ``prefix``."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield str(item["Key"]), int(item.get("Size", 0))


def _read_run(s3: Any, layer: DataLayer, run_id: str, promoted: str | None) -> Run | None:
    """The run as its ``_SUCCESS`` describes it; None when it has none (incomplete).

    A ``_SUCCESS`` that is not a JSON object still marks the run complete: its metadata
    is then empty and ``completed_at`` is when ``_SUCCESS`` was written.
    """
    import botocore.exceptions as bex

    key = f"{layer_prefix(layer)}{run_id}/{SUCCESS}"
    try:
        response = s3.get_object(Bucket=layer.bucket, Key=key)
    except bex.ClientError as error:
        if _code(error) in _MISSING_CODES:
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
        completed = _iso(response["LastModified"])
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


def _head_etag(s3: Any, bucket: str, key: str) -> str | None:
    import botocore.exceptions as bex

    try:
        return str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except bex.ClientError as error:
        if _code(error) in _MISSING_CODES:
            return None
        raise


def _moment(text: str) -> datetime:
    """``text`` as an aware datetime for ordering; unparseable sorts oldest."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _describe(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "Unknown"))
    return str(error)


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
