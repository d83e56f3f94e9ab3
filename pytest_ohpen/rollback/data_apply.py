"""Apply a planned data rollback: copy the run to ``current/``, then move the pointer.

Step 4 of the playbook's "Data Rollback (Reverting _LATEST.json)" for a plan made by
:mod:`pytest_ohpen.rollback.data_plan` (the layout is in
:mod:`pytest_ohpen.rollback.data_runs`).

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
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_SUCH_KEY, code_or_text, error_code, lost_condition
from pytest_ohpen.config.environments import DataLayer
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.rollback.data_plan import DataRollbackPlan
from pytest_ohpen.rollback.data_runs import (
    CURRENT,
    DataRollbackRefused,
    current_copies,
    layer_prefix,
    objects_under,
    pointed_run,
    read_pointer,
    read_run,
)


class DataRollbackConflict(OhpenError):
    """Another writer changed ``_LATEST.json``; the rollback's pointer was not written."""


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
        now_run = pointed_run(standing)
        raise DataRollbackConflict(
            f"{pointer_uri} changed since the plan was read (it was run {plan.from_run}, now "
            f"run {now_run}): nothing was written; plan the rollback again"
        )
    try:
        removed = _switch_current(s3, plan.bucket, plan.prefix, plan.copies)
    except (bex.ClientError, bex.BotoCoreError, DataRollbackRefused) as error:
        restored = _restore_current(s3, layer, plan)
        raise DataRollbackRefused(
            f"writing run {plan.to_run} to current/ failed ({code_or_text(error)}): {pointer_uri} "
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
        if lost_condition(error) or error_code(error) in S3_NO_SUCH_KEY:
            restored = _restore_current(s3, layer, plan)
            raise DataRollbackConflict(
                f"the pointer changed since it was read (a concurrent promotion): {pointer_uri} "
                f"was not written; {restored}"
            ) from None
        restored = _restore_current(s3, layer, plan)
        raise DataRollbackRefused(
            f"cannot write {pointer_uri} ({error_code(error)}): it was not written; {restored}"
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
    standing_run = pointed_run(standing)
    for run_id in dict.fromkeys(r for r in (standing_run, plan.from_run) if r):
        try:
            if read_run(s3, layer, run_id, None) is None:
                continue
            copies = current_copies(s3, plan.bucket, plan.prefix, run_id)
            _switch_current(s3, plan.bucket, plan.prefix, [(src, dst) for src, dst, _ in copies])
        except (bex.ClientError, bex.BotoCoreError, DataRollbackRefused) as error:
            return (
                f"restoring current/ to run {run_id} failed too ({code_or_text(error)}): current/ "
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


def _switch_current(s3: Any, bucket: str, prefix: str, copies: list[tuple[str, str]]) -> list[str]:
    """Copy every (source, target) pair, then remove from current/ what is not a target:
    removing only after all copies keeps every key of the new run readable. The removed keys.
    """
    for source, target in copies:
        s3.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": source},
            MetadataDirective="COPY",
        )
    targets = {target for _, target in copies}
    removed = [k for k, _ in objects_under(s3, bucket, f"{prefix}{CURRENT}/") if k not in targets]
    _delete(s3, bucket, removed)
    return removed


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


def _head_etag(s3: Any, bucket: str, key: str) -> str | None:
    import botocore.exceptions as bex

    try:
        return str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except bex.ClientError as error:
        if error_code(error) in S3_NO_SUCH_KEY:
            return None
        raise
