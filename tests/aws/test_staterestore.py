"""A state version is restored as one checked, conditional write.

Against a real moto server holding the state bucket (three applies: serials 1, 2, 3) and
the lock table; that real Terraform accepts the restored state is
tests/e2e/test_staterestore_terraform.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from accounts import LINEAGE as STATE_LINEAGE
from accounts import STATE_BUCKET, STATE_KEY, lock_table, three_applies

from pytest_ohpen.config.environments import Terraform
from pytest_ohpen.terraform.restore_apply import (
    LOCK_OPERATION,
    StateConflict,
    apply_restore,
    backups_of,
    check_unlocked,
)
from pytest_ohpen.terraform.restore_plan import RestorePlan, RestoreRefused, plan_restore
from pytest_ohpen.terraform.state_versions import list_versions, parse_state, read_version

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "ohpen-terraform-locks"
TF = Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY, lock_table=TABLE)
LOCK_ID = f"{STATE_BUCKET}/{STATE_KEY}"
DIGEST_ID = f"{LOCK_ID}-md5"


@dataclass(frozen=True)
class Backend:
    """The state bucket and lock table of one test, and the three versions' ids."""

    s3: Any
    dynamodb: Any
    v1: str
    v2: str
    v3: str

    def versions(self) -> list[tuple[str, int]]:
        """(version id, serial) of every version, newest first."""
        return [
            (v.version_id, parse_state(self.body(v.version_id)).serial)
            for v in list_versions(self.s3, STATE_BUCKET, STATE_KEY)
        ]

    def body(self, version_id: str) -> bytes:
        return read_version(self.s3, STATE_BUCKET, STATE_KEY, version_id)

    def latest(self) -> bytes:
        return bytes(self.s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read())

    def put(self, state: dict[str, Any] | bytes) -> str:
        body = state if isinstance(state, bytes) else json.dumps(state, indent=2).encode()
        return str(self.s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=body)["VersionId"])

    def lock(self, who: str = "runner@ci-host") -> None:
        record = {"ID": "lock-1", "Operation": "OperationTypeApply", "Who": who, "Created": "now"}
        self.dynamodb.put_item(
            TableName=TABLE,
            Item={"LockID": {"S": LOCK_ID}, "Info": {"S": json.dumps(record)}},
        )


@pytest.fixture
def backend(fresh_moto: str) -> Backend:
    """The state bucket after three applies (serials 1, 2, 3) and an empty lock table."""
    v1, v2, v3 = three_applies(fresh_moto)
    lock_table(fresh_moto, TABLE)
    s3: Any = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=fresh_moto, region_name=REGION)
    return Backend(s3, dynamodb, v1=v1, v2=v2, v3=v3)


def _apply(backend: Backend, plan: RestorePlan, backups: Path) -> Any:
    return apply_restore(
        backend.s3,
        STATE_BUCKET,
        STATE_KEY,
        plan,
        backup_dir=backups,
        dynamodb=backend.dynamodb,
        lock_table=TABLE,
        operator="arn:aws:iam::123456789012:user/operator",
    )


def test_the_plan_is_the_target_with_the_next_serial(backend: Backend) -> None:
    """Only the serial changes: current + 1, so Terraform sees a newer snapshot."""
    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)

    assert (plan.current_version_id, plan.current_serial) == (backend.v3, 3)
    assert (plan.target_version_id, plan.target_serial, plan.new_serial) == (backend.v2, 2, 4)
    assert plan.lineage == STATE_LINEAGE
    assert plan.current_body == backend.body(backend.v3)
    written = json.loads(plan.body)
    assert written == {**json.loads(backend.body(backend.v2)), "serial": 4}
    assert plan.body.decode() == json.dumps(written, indent=2) + "\n"
    text = "\n".join(plan.describe())
    assert f"version {backend.v2} (serial 2" in text
    assert f"current version {backend.v3} (serial 3" in text
    assert "serial 4" in text and STATE_LINEAGE in text and plan.current_etag in text


def test_apply_writes_a_new_latest_version_and_a_byte_identical_backup(
    backend: Backend, tmp_path: Path
) -> None:
    """Step 3 and 4 in one: the old current state is kept locally, the target becomes latest."""
    old_current = backend.body(backend.v3)
    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)

    result = _apply(backend, plan, tmp_path / "backups")

    versions = backend.versions()
    assert versions[0] == (result.new_version_id, 4)
    assert versions[1:] == [(backend.v3, 3), (backend.v2, 2), (backend.v1, 1)]
    assert backend.latest() == plan.body
    assert parse_state(backend.latest()).lineage == STATE_LINEAGE
    assert result.previous_version_id == backend.v3
    assert result.new_serial == 4
    assert backups_of(tmp_path / "backups", STATE_KEY, backend.v3) == [result.backup_path]
    assert result.backup_path.read_bytes() == old_current
    digest = backend.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": DIGEST_ID}})
    assert digest["Item"]["Digest"]["S"] == hashlib.md5(plan.body).hexdigest()
    held = backend.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
    assert "Item" not in held, "the lock taken for the write is released"


def test_the_backup_file_restores_the_previous_state(backend: Backend, tmp_path: Path) -> None:
    """Recovery from a failed rollback: --from-file with the backup brings back its content."""
    first = _apply(
        backend,
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v1),
        tmp_path,
    )

    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, from_file=first.backup_path)
    second = _apply(backend, plan, tmp_path)

    assert (plan.target_version_id, plan.target_serial, plan.new_serial) == (None, 3, 5)
    assert plan.source == f"file {first.backup_path}"
    restored = json.loads(backend.latest())
    assert restored == {**json.loads(backend.body(backend.v3)), "serial": 5}
    assert backups_of(tmp_path, STATE_KEY, first.new_version_id) == [second.backup_path]


def test_a_writer_between_plan_and_apply_makes_the_restore_fail(
    backend: Backend, tmp_path: Path
) -> None:
    """If-Match on the planned ETag: the other writer's version stays latest, nothing is added."""
    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v1)
    concurrent = backend.put({**json.loads(backend.body(backend.v3)), "serial": 4})

    with pytest.raises(StateConflict) as raised:
        _apply(backend, plan, tmp_path / "backups")

    assert str(raised.value) == (
        "the state changed since it was read (another writer): nothing was written; run again"
    )
    assert backend.versions() == [
        (concurrent, 4),
        (backend.v3, 3),
        (backend.v2, 2),
        (backend.v1, 1),
    ]
    assert backups_of(tmp_path / "backups", STATE_KEY, backend.v3) == []
    held = backend.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
    assert "Item" not in held


def test_check_unlocked_names_the_dynamodb_lock_holder(backend: Backend) -> None:
    """The playbook's concurrent-deployment risk: an apply holds the lock, so no restore."""
    check_unlocked(backend.dynamodb, backend.s3, TF)  # free: no error
    backend.lock(who="deployer@ci-42")

    with pytest.raises(RestoreRefused) as raised:
        check_unlocked(backend.dynamodb, backend.s3, TF)

    message = str(raised.value)
    assert f"dynamodb:{TABLE}" in message and "deployer@ci-42" in message
    assert "lock-1" in message and "\n" not in message


def test_check_unlocked_names_a_tflock_holder(backend: Backend) -> None:
    """Terraform 1.10+ locks with <key>.tflock next to the state: that counts too."""
    record = {"ID": "lf-9", "Who": "laptop@dev", "Operation": "OperationTypePlan"}
    backend.s3.put_object(
        Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.tflock", Body=json.dumps(record).encode()
    )

    with pytest.raises(RestoreRefused, match=r"\.tflock by laptop@dev \(OperationTypePlan\)"):
        check_unlocked(backend.dynamodb, backend.s3, TF)


def test_check_unlocked_refuses_when_the_lock_cannot_be_read(backend: Backend) -> None:
    """No such lock table: the lock is not known to be free, so no restore."""
    tf = Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY, lock_table="missing-table")

    with pytest.raises(RestoreRefused, match="cannot check the state lock in dynamodb:missing"):
        check_unlocked(backend.dynamodb, backend.s3, tf)


def test_apply_takes_the_lock_and_refuses_when_it_is_held(backend: Backend, tmp_path: Path) -> None:
    """A lock taken after the check still stops the write: nothing written, no backup."""
    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)
    backend.lock(who="late-apply@ci")

    with pytest.raises(RestoreRefused, match=r"locked .* by late-apply@ci"):
        _apply(backend, plan, tmp_path)

    assert [serial for _, serial in backend.versions()] == [3, 2, 1]
    assert list(tmp_path.iterdir()) == []
    held = backend.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
    assert "late-apply@ci" in held["Item"]["Info"]["S"], "someone else's lock is left alone"


def test_the_lock_record_says_who_restores(backend: Backend, tmp_path: Path) -> None:
    """While the write runs, Terraform users see who holds the lock and why."""
    plan = plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)
    seen: list[dict[str, Any]] = []

    def look(**_: Any) -> None:
        item = backend.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
        seen.append(json.loads(item["Item"]["Info"]["S"]))

    backend.s3.meta.events.register("before-call.s3.PutObject", look)
    _apply(backend, plan, tmp_path)

    assert seen[0]["Operation"] == LOCK_OPERATION
    assert seen[0]["Who"] == "arn:aws:iam::123456789012:user/operator"
    assert seen[0]["Path"] == LOCK_ID


def test_a_state_of_another_lineage_is_refused(backend: Backend, tmp_path: Path) -> None:
    """Restoring another state's snapshot would replace this one: refused."""
    other = {**json.loads(backend.body(backend.v3)), "lineage": "0000-other"}
    foreign = tmp_path / "other.tfstate"
    foreign.write_text(json.dumps(other, indent=2))

    with pytest.raises(RestoreRefused) as raised:
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, from_file=foreign)

    assert str(raised.value) == (
        f"lineage 0000-other of the target is not the current state's {STATE_LINEAGE}: "
        "it is another state"
    )


def test_a_version_of_another_lineage_is_refused(backend: Backend) -> None:
    """The current state was replaced by another lineage: its old versions are refused."""
    backend.put({**json.loads(backend.body(backend.v3)), "lineage": "new-lineage", "serial": 1})

    with pytest.raises(RestoreRefused, match=f"lineage {STATE_LINEAGE} of the target"):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>not a state</html>" * 4, "is not a usable Terraform state: not JSON"),
        (b'{"version":4,"terraform_version":"","serial":1,"lineage":"x"}', "only 61 bytes"),
        (
            json.dumps(
                {"version": 3, "serial": 1, "lineage": STATE_LINEAGE, "x": "y" * 60}
            ).encode(),
            "state format version 3 is not supported",
        ),
    ],
)
def test_a_target_that_is_not_a_state_is_refused(
    backend: Backend, body: bytes, message: str
) -> None:
    """A corrupt or foreign object among the versions is never written back."""
    bad = backend.put(body)
    backend.put(backend.body(backend.v3))  # a good current state on top

    with pytest.raises(RestoreRefused, match=message):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=bad)


def test_the_current_version_is_not_a_target(backend: Backend) -> None:
    """Restoring the current version would only bump the serial."""
    with pytest.raises(RestoreRefused, match=f"version {backend.v3} is the current state"):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v3)


def test_a_file_identical_to_the_current_state_is_refused(backend: Backend, tmp_path: Path) -> None:
    """The same holds for a file: nothing to restore."""
    same = tmp_path / "same.tfstate"
    same.write_bytes(backend.body(backend.v3))

    with pytest.raises(RestoreRefused, match="is the current state"):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, from_file=same)


def test_an_unknown_version_is_refused(backend: Backend) -> None:
    """A mistyped version id is one line, not a traceback."""
    with pytest.raises(RestoreRefused, match="has no version no-such-version"):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id="no-such-version")


def test_a_deleted_state_is_refused(backend: Backend) -> None:
    """A delete marker on top: there is no current state to compare with."""
    backend.s3.delete_object(Bucket=STATE_BUCKET, Key=STATE_KEY)

    with pytest.raises(RestoreRefused, match=r"latest version of .* is a delete marker"):
        plan_restore(backend.s3, STATE_BUCKET, STATE_KEY, target_version_id=backend.v2)


def test_no_state_at_all_is_refused(backend: Backend) -> None:
    """Another key (never written): nothing to restore onto."""
    with pytest.raises(RestoreRefused, match="there is no state at s3://"):
        plan_restore(backend.s3, STATE_BUCKET, "other/terraform.tfstate", target_version_id="x")
