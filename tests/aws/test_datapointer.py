"""Rolling a data layer's promotion pointer (``_LATEST.json``) and ``current/`` back.

Against a real moto server: a versioned silver bucket holding three completed runs (with
``_SUCCESS`` metadata), one incomplete run (no ``_SUCCESS``), and run 3 promoted (its
objects in ``current/``, ``_LATEST.json`` pointing at it). Run ids do not sort in
completion order, so the order shown comes from ``completed_at``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from pytest_ohpen.config.environments import DataLayer
from pytest_ohpen.rollback.data_apply import DataRollbackConflict, apply_data_rollback
from pytest_ohpen.rollback.data_plan import plan_data_rollback
from pytest_ohpen.rollback.data_runs import DataRollbackRefused, list_runs, read_pointer

REGION = "eu-west-1"
BUCKET = "ohpen-silver"
PREFIX = "silver/transactions/"
LAYER = DataLayer(BUCKET, PREFIX)
R1, R2, R3, INCOMPLETE = "7f3a", "0c21", "5be9", "9d04"
"""Three completed runs, oldest first, and one that never wrote _SUCCESS."""
FILES = {
    R1: ["part-0000.parquet", "part-0001.parquet"],
    R2: ["part-0000.parquet", "part-0001.parquet", "year=2026/part-0002.parquet"],
    R3: ["part-0000.parquet", "part-0001.parquet", "part-0003.parquet"],
    INCOMPLETE: ["part-0000.parquet"],
}
"""Run 3 has part-0003 (stale after a rollback to run 2); run 2 has a nested key."""
ROWS = {R1: 1000, R2: 1100, R3: 1300}
QUARANTINED = {R1: 10, R2: 11, R3: 390}
NOW = datetime(2026, 1, 4, 9, 30, tzinfo=UTC)


def body(run_id: str, name: str) -> bytes:
    """Each run's objects have their own content, so a copy can be traced to its run."""
    return f"{run_id}:{name}".encode()


def success(run_id: str, day: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "completed_at": f"2026-01-0{day}T06:00:00Z",
        "rows": ROWS[run_id],
        "quarantined": QUARANTINED[run_id],
        "quarantine_rate": QUARANTINED[run_id] / ROWS[run_id],
        "source": f"s3://ohpen-bronze/transactions/2026-01-0{day}/",
    }


def pointer_for(run_id: str, previous: str | None, reason: str = "daily promotion") -> bytes:
    pointer = {
        "schema_version": 1,
        "layer": "silver",
        "run_id": run_id,
        "location": f"s3://{BUCKET}/{PREFIX}{run_id}/",
        "current_prefix": f"s3://{BUCKET}/{PREFIX}current/",
        "promoted_at": "2026-01-03T07:00:00Z",
        "promoted_by": "etl",
        "previous_run_id": previous,
        "rows": ROWS.get(run_id),
        "reason": reason,
    }
    return json.dumps(pointer).encode()


def promote(s3: Any, run_id: str, previous: str | None) -> None:
    """What the ETL's promotion does: current/ becomes the run's objects, then the pointer."""
    for name in current_objects(s3):
        s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}current/{name}")
    for name in FILES[run_id]:
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}current/{name}", Body=body(run_id, name))
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json", Body=pointer_for(run_id, previous))


def current_objects(s3: Any) -> dict[str, bytes]:
    """current/'s objects by key relative to it, with their content."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}current/").get("Contents", [])
    base = len(f"{PREFIX}current/")
    return {
        item["Key"][base:]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
    }


def run_objects(run_id: str) -> dict[str, bytes]:
    return {name: body(run_id, name) for name in FILES[run_id]}


def latest(s3: Any) -> dict[str, Any]:
    pointer: dict[str, Any] = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")["Body"].read()
    )
    return pointer


def snapshot(s3: Any) -> list[tuple[str, str, str, bool]]:
    """Every object version and delete marker in the bucket: nothing written shows as equal."""
    listed = s3.list_object_versions(Bucket=BUCKET)
    versions = [
        (v["Key"], v["VersionId"], v["ETag"], v["IsLatest"]) for v in listed.get("Versions", [])
    ]
    markers = [
        (m["Key"], m["VersionId"], "delete-marker", m["IsLatest"])
        for m in listed.get("DeleteMarkers", [])
    ]
    return sorted(versions + markers)


@dataclass
class Silver:
    """The test's S3 client and the layer in it."""

    s3: Any
    url: str


def make_silver(url: str) -> Silver:
    """The versioned bucket with runs 1-3 complete, one incomplete run, run 3 promoted."""
    s3: Any = boto3.client("s3", endpoint_url=url, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for day, run_id in enumerate((R1, R2, R3), start=1):
        for name in FILES[run_id]:
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{run_id}/{name}", Body=body(run_id, name))
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{PREFIX}{run_id}/_SUCCESS",
            Body=json.dumps(success(run_id, day)).encode(),
        )
    for name in FILES[INCOMPLETE]:
        s3.put_object(
            Bucket=BUCKET, Key=f"{PREFIX}{INCOMPLETE}/{name}", Body=body(INCOMPLETE, name)
        )
    promote(s3, R3, previous=R2)
    return Silver(s3, url)


@pytest.fixture
def silver(fresh_moto: str) -> Silver:
    return make_silver(fresh_moto)


class Wrapped:
    """The S3 client with hooks before chosen calls (a concurrent writer, a failure)."""

    def __init__(self, s3: Any, before: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        self._s3 = s3
        self._before = before
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._s3, name)
        if name not in self._before and name not in {"copy_object", "delete_objects"}:
            return method

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            if name in self._before:
                self._before[name](kwargs)
            return method(**kwargs)

        return call


def plan_to(s3: Any, run_id: str) -> Any:
    return plan_data_rollback(
        s3, "silver", LAYER, run_id, "quarantine rate 30% in run 3", "alice", NOW
    )


def test_list_runs_marks_the_promoted_run_and_leaves_out_the_incomplete_one(
    silver: Silver,
) -> None:
    runs = list_runs(silver.s3, LAYER)

    assert [r.run_id for r in runs] == [R3, R2, R1], "newest first by completed_at"
    assert [r.promoted for r in runs] == [True, False, False]
    assert [r.rows for r in runs] == [1300, 1100, 1000]
    assert runs[0].quarantine_rate == pytest.approx(0.3)
    assert runs[0].completed_at == "2026-01-03T06:00:00Z"
    assert runs[0].metadata["source"] == "s3://ohpen-bronze/transactions/2026-01-03/"


def test_read_pointer_returns_the_json_and_its_etag(silver: Silver) -> None:
    pointer, etag = read_pointer(silver.s3, LAYER)

    assert pointer is not None and pointer["run_id"] == R3
    assert etag == silver.s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")["ETag"]
    assert read_pointer(silver.s3, DataLayer(BUCKET, "gold/")) == (None, None)


def test_a_plan_says_what_would_change_and_writes_nothing(silver: Silver) -> None:
    before = snapshot(silver.s3)

    plan = plan_to(silver.s3, R2)

    assert snapshot(silver.s3) == before
    assert (plan.from_run, plan.to_run) == (R3, R2)
    assert sorted(target for _, target in plan.copies) == sorted(
        f"{PREFIX}current/{name}" for name in FILES[R2]
    )
    assert all(not source.endswith("_SUCCESS") for source, _ in plan.copies)
    assert plan.stale == [f"{PREFIX}current/part-0003.parquet"]
    text = "\n".join(plan.describe())
    assert f"before: pointer -> run {R3}" in text
    assert f"after:  pointer -> run {R2} (previous_run_id {R3})" in text
    assert "copy 3 objects" in text and "remove 1 stale object " in text


def test_apply_switches_current_and_the_pointer_to_the_earlier_run(silver: Silver) -> None:
    plan = plan_to(silver.s3, R2)

    record = apply_data_rollback(silver.s3, LAYER, plan)

    assert current_objects(silver.s3) == run_objects(R2)
    assert latest(silver.s3) == {
        "schema_version": 1,
        "layer": "silver",
        "run_id": R2,
        "location": f"s3://{BUCKET}/{PREFIX}{R2}/",
        "current_prefix": f"s3://{BUCKET}/{PREFIX}current/",
        "promoted_at": "2026-01-04T09:30:00Z",
        "promoted_by": "alice",
        "previous_run_id": R3,
        "rows": 1100,
        "reason": "quarantine rate 30% in run 3",
    }
    assert record["previous_run_id"] == R3 and record["new_run_id"] == R2
    assert record["removed"] == [f"{PREFIX}current/part-0003.parquet"]
    assert len(record["copies"]) == 3
    assert [r.run_id for r in list_runs(silver.s3, LAYER) if r.promoted] == [R2]


@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        (INCOMPLETE, f"run {INCOMPLETE} has no _SUCCESS: it never completed; refusing"),
        ("nope", f"unknown run nope in s3://{BUCKET}/{PREFIX}; runs there: "),
        (R3, f"run {R3} is already promoted"),
        ("current", "'current' is not a run id"),
    ],
)
def test_a_rollback_to_a_run_that_is_not_a_target_is_refused(
    silver: Silver, run_id: str, message: str
) -> None:
    before = snapshot(silver.s3)

    with pytest.raises(DataRollbackRefused) as refused:
        plan_to(silver.s3, run_id)

    assert message in str(refused.value)
    assert snapshot(silver.s3) == before


def test_a_pointer_changed_between_plan_and_apply_is_refused_before_any_copy(
    silver: Silver,
) -> None:
    plan = plan_to(silver.s3, R2)
    silver.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json", Body=pointer_for(R1, R3))
    before = snapshot(silver.s3)
    s3 = Wrapped(silver.s3, {})

    with pytest.raises(DataRollbackConflict) as conflict:
        apply_data_rollback(s3, LAYER, plan)

    assert f"it was run {R3}, now run {R1}" in str(conflict.value)
    assert "nothing was written" in str(conflict.value)
    assert s3.calls == [], "no copy, no delete"
    assert snapshot(silver.s3) == before


def test_a_concurrent_promotion_during_the_rollback_wins_and_current_follows_it(
    silver: Silver,
) -> None:
    """Right before the rollback writes _LATEST.json, another writer promotes run 1: the
    rollback's write fails, the other pointer stands, and current/ is run 1's objects."""
    plan = plan_to(silver.s3, R2)
    other_pointer = pointer_for(R1, R3, reason="concurrent promotion")

    def concurrent_promotion(kwargs: dict[str, Any]) -> None:
        if kwargs["Key"].endswith("_LATEST.json"):
            silver.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json", Body=other_pointer)

    s3 = Wrapped(silver.s3, {"put_object": concurrent_promotion})

    with pytest.raises(DataRollbackConflict) as conflict:
        apply_data_rollback(s3, LAYER, plan)

    message = str(conflict.value)
    assert "the pointer changed since it was read (a concurrent promotion)" in message
    assert "_LATEST.json was not written" in message
    assert f"current/ was restored to run {R1}'s objects, which the pointer names" in message
    assert silver.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")["Body"].read() == (
        other_pointer
    )
    assert current_objects(silver.s3) == run_objects(R1)


def test_a_concurrent_deletion_of_the_pointer_restores_the_previous_run(silver: Silver) -> None:
    """The pointer vanishes before the write: nothing names a run, current/ is run 3 again."""
    plan = plan_to(silver.s3, R2)

    def delete_pointer(kwargs: dict[str, Any]) -> None:
        silver.s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")

    with pytest.raises(DataRollbackConflict) as conflict:
        apply_data_rollback(Wrapped(silver.s3, {"put_object": delete_pointer}), LAYER, plan)

    assert f"current/ was restored to run {R3}'s objects (what it held before)" in str(
        conflict.value
    )
    assert current_objects(silver.s3) == run_objects(R3)
    assert read_pointer(silver.s3, LAYER) == (None, None)


def _denied(operation: str) -> Exception:
    import botocore.exceptions as bex

    return bex.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, operation)


def test_a_failed_copy_restores_current_and_leaves_the_pointer(silver: Silver) -> None:
    """The second copy fails: nothing was deleted yet, current/ is run 3's objects again."""
    plan = plan_to(silver.s3, R2)
    pointer_before = latest(silver.s3)
    copies: list[str] = []

    def fail_second_copy(kwargs: dict[str, Any]) -> None:
        copies.append(kwargs["Key"])
        if len(copies) == 2:
            raise _denied("CopyObject")

    s3 = Wrapped(silver.s3, {"copy_object": fail_second_copy})

    with pytest.raises(DataRollbackRefused) as refused:
        apply_data_rollback(s3, LAYER, plan)

    message = str(refused.value)
    assert f"writing run {R2} to current/ failed (AccessDenied)" in message
    assert "_LATEST.json was not written" in message
    assert f"current/ was restored to run {R3}'s objects, which the pointer names" in message
    assert "delete_objects" not in s3.calls, "run 3's part-0003 was never removed"
    assert not [v for v in snapshot(silver.s3) if v[2] == "delete-marker"]
    assert current_objects(silver.s3) == run_objects(R3)
    assert latest(silver.s3) == pointer_before


def test_a_failed_removal_restores_current_and_leaves_the_pointer(silver: Silver) -> None:
    """Every copy succeeded but removing the stale object fails: run 2's extra key goes."""
    plan = plan_to(silver.s3, R2)
    pointer_before = latest(silver.s3)
    deletes: list[dict[str, Any]] = []

    def fail_first_delete(kwargs: dict[str, Any]) -> None:
        deletes.append(kwargs)
        if len(deletes) == 1:
            raise _denied("DeleteObjects")

    with pytest.raises(DataRollbackRefused) as refused:
        apply_data_rollback(Wrapped(silver.s3, {"delete_objects": fail_first_delete}), LAYER, plan)

    assert "failed (AccessDenied)" in str(refused.value)
    assert [o["Key"] for o in deletes[1]["Delete"]["Objects"]] == [
        f"{PREFIX}current/year=2026/part-0002.parquet"
    ]
    assert current_objects(silver.s3) == run_objects(R3)
    assert latest(silver.s3) == pointer_before


def test_a_first_promotion_without_a_pointer_is_written_if_none_appeared(
    silver: Silver,
) -> None:
    silver.s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")

    plan = plan_to(silver.s3, R2)
    apply_data_rollback(silver.s3, LAYER, plan)

    assert plan.pointer_etag is None
    assert latest(silver.s3)["run_id"] == R2
    assert latest(silver.s3)["previous_run_id"] is None
    assert current_objects(silver.s3) == run_objects(R2)
