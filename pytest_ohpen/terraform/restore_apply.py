"""Apply a planned Terraform state restore in the S3 backend: one checked, conditional write.

The playbook's Manual Rollback Steps 3-4 (back up the current state, ``terraform state
push``) done without a Terraform working directory, for a plan made by
:mod:`pytest_ohpen.terraform.restore_plan`. The write is ``PutObject`` with ``If-Match``
on the ETag the plan read, so a writer that got in between (an apply, another restore)
makes it fail instead of being silently overwritten.

With a DynamoDB lock table the write also does what Terraform's S3 backend does around a
push: it holds the state lock while writing, and it updates the ``<bucket>/<key>-md5``
digest item, without which Terraform would refuse to read the new state (checksum
mismatch). The previous current state is first saved to a local backup file, so the
playbook's "Recovery from Failed Rollback" is a restore of that file. Each run's backup has
a name of its own (UTC time and a random suffix) and is created, never replaced: two
restores racing from the same version never share a file, so the loser removing its backup
cannot remove the winner's.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import secrets
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_SUCH_KEY, code_or_text, error_code, lost_condition
from pytest_ohpen.config.environments import Terraform
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.terraform.locks import LockInfo, dynamodb_lock, s3_lockfile
from pytest_ohpen.terraform.restore_plan import RestorePlan, RestoreRefused
from pytest_ohpen.util.files import write_new
from pytest_ohpen.util.jsonable import iso_utc

DIGEST_SUFFIX = "-md5"
"""The S3 backend keeps the state's MD5 in the lock table under ``<bucket>/<key>-md5``."""
LOCK_OPERATION = "ohpen state restore"
BACKUP_SUFFIX = ".backup.json"
NAME_ATTEMPTS = 5
"""New backup names tried when one is taken (a clash of 32 random bits in the same second)."""


class StateConflict(OhpenError):
    """The state changed between the plan and the write; nothing was written."""


class RestoreIncomplete(OhpenError):
    """The state was written but a step after it failed (digest or lock release).

    ``result`` describes the write that did happen, so it can still be recorded and undone.
    """

    def __init__(self, message: str, result: RestoreResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class RestoreResult:
    """A restore that was written: the new latest version and how to get back."""

    previous_version_id: str
    """The version that was current before; restoring it undoes this restore."""
    new_version_id: str
    new_serial: int
    backup_path: Path
    """The previous current state's exact bytes (``--from-file`` undoes this restore too)."""


def check_unlocked(dynamodb: Any, s3: Any, tf: Terraform) -> None:
    """RestoreRefused naming the holder when the state is locked (DynamoDB item or
    ``.tflock`` object), or when the lock cannot be read (then it is not known to be free)."""
    import botocore.exceptions as bex

    places: list[tuple[str, Any]] = []
    if tf.lock_table:
        table = tf.lock_table
        places.append(
            (
                f"dynamodb:{table}",
                lambda: dynamodb_lock(dynamodb, table, tf.state_bucket, tf.state_key),
            )
        )
    places.append(
        (
            f"s3:{tf.state_bucket}/{tf.state_key}.tflock",
            lambda: s3_lockfile(s3, tf.state_bucket, tf.state_key),
        )
    )
    for place, look in places:
        try:
            held: LockInfo | None = look()
        except bex.ClientError as error:
            raise RestoreRefused(
                f"cannot check the state lock in {place} ({error_code(error)}): "
                "it is not known to be free"
            ) from None
        except bex.BotoCoreError as error:
            raise RestoreRefused(
                f"cannot check the state lock in {place} ({error}): it is not known to be free"
            ) from None
        if held is not None:
            raise RestoreRefused(_locked_message(held))


def apply_restore(
    s3: Any,
    bucket: str,
    key: str,
    plan: RestorePlan,
    *,
    backup_dir: Path,
    dynamodb: Any | None = None,
    lock_table: str | None = None,
    operator: str | None = None,
) -> RestoreResult:
    """Back up the current state, then write ``plan.body`` only if the state is still the
    one the plan read (``If-Match``); StateConflict when it is not (nothing written).

    With ``dynamodb`` and ``lock_table`` the write holds Terraform's state lock
    (RestoreRefused, nothing written, when someone else holds it) and then updates the
    state digest Terraform checks on every read. ``operator`` is recorded in the lock.
    """
    if (plan.bucket, plan.key) != (bucket, key):
        raise ValueError(f"apply_restore: the plan is for s3://{plan.bucket}/{plan.key}")
    if (dynamodb is None) != (lock_table is None):
        raise ValueError("apply_restore: give both dynamodb (a client) and lock_table, or neither")
    lock = _Lock(dynamodb, lock_table, bucket, key, operator) if lock_table else None
    if lock is not None:
        lock.acquire()
    try:
        result = _write(s3, plan, backup_dir)
        if lock is not None:
            lock.put_digest(plan.body, result)
    except BaseException as error:
        if lock is not None:
            problem = lock.release()
            if problem:
                after = getattr(error, "result", None)
                if isinstance(after, RestoreResult):
                    raise RestoreIncomplete(f"{error}; and {problem}", after) from error
                raise RestoreRefused(f"{error}; and {problem}") from error
        raise
    if lock is not None:
        problem = lock.release()
        if problem:
            raise RestoreIncomplete(
                f"the state was restored (version {result.new_version_id}) but {problem}", result
            )
    return result


def backup_path(backup_dir: Path, key: str, version_id: str, run_token: str) -> Path:
    """Where one run's backup of ``version_id`` goes:
    ``<key basename>.<version>.<run token>.backup.json``."""
    return backup_dir / f"{PurePosixPath(key).name}.{version_id}.{run_token}{BACKUP_SUFFIX}"


def backups_of(backup_dir: Path, key: str, version_id: str) -> list[Path]:
    """Every run's backup of ``version_id`` in ``backup_dir``, oldest first (by name)."""
    pattern = f"{PurePosixPath(key).name}.{version_id}.*{BACKUP_SUFFIX}"
    return sorted(backup_dir.glob(pattern))


def run_token(now: datetime | None = None) -> str:
    """A backup name's unique part: the UTC time (names sort by it) and 32 random bits."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


# ---------------------------------------------------------------- helpers


def _write_backup(plan: RestorePlan, backup_dir: Path) -> Path:
    """A new file holding the current state byte for byte, under a name no other run has."""
    for _ in range(NAME_ATTEMPTS):
        backup = backup_path(backup_dir, plan.key, plan.current_version_id, run_token())
        try:
            write_new(backup, plan.current_body)
        except FileExistsError:
            continue
        except OSError as error:
            raise RestoreRefused(
                f"cannot write the backup {backup}: {error.strerror or error}; nothing was written"
            ) from None
        return backup
    raise RestoreRefused(
        f"cannot find a free backup name in {backup_dir} after {NAME_ATTEMPTS} tries; "
        "nothing was written"
    )


def _write(s3: Any, plan: RestorePlan, backup_dir: Path) -> RestoreResult:
    """The backup, then the conditional put. When the put is refused (nothing written) the
    backup this call created is removed again; no other file is ever touched."""
    import botocore.exceptions as bex

    where = f"s3://{plan.bucket}/{plan.key}"
    backup = _write_backup(plan, backup_dir)
    try:
        response = s3.put_object(
            Bucket=plan.bucket,
            Key=plan.key,
            Body=plan.body,
            IfMatch=plan.current_etag,
            ContentType="application/json",
        )
    except bex.ClientError as error:
        backup.unlink(missing_ok=True)  # this call's own file (its name is unique)
        if lost_condition(error):
            raise StateConflict(
                "the state changed since it was read (another writer): nothing was written; "
                "run again"
            ) from None
        if error_code(error) in S3_NO_SUCH_KEY:
            raise StateConflict(
                f"the state {where} was deleted since it was read: nothing was written"
            ) from None
        raise RestoreRefused(
            f"cannot write {where} ({error_code(error)}): nothing was written"
        ) from None
    except bex.BotoCoreError as error:
        raise RestoreRefused(
            f"cannot write {where} ({error}): whether it was written is unknown; "
            f"list the versions before running again (the previous state is kept in {backup})"
        ) from None
    return RestoreResult(
        previous_version_id=plan.current_version_id,
        new_version_id=str(response.get("VersionId") or "null"),
        new_serial=plan.new_serial,
        backup_path=backup,
    )


class _Lock:
    """Terraform's DynamoDB state lock and digest, written the way its S3 backend does."""

    def __init__(
        self, dynamodb: Any, table: str | None, bucket: str, key: str, operator: str | None
    ) -> None:
        assert table is not None
        self.dynamodb = dynamodb
        self.table = table
        self.bucket = bucket
        self.key = key
        self.lock_id = str(uuid.uuid4())
        self.info = json.dumps(
            {
                "ID": self.lock_id,
                "Operation": LOCK_OPERATION,
                "Info": "",
                "Who": operator or _who(),
                "Version": "",
                "Created": iso_utc(datetime.now(UTC)),
                "Path": f"{bucket}/{key}",
            }
        )

    def acquire(self) -> None:
        import botocore.exceptions as bex

        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"LockID": {"S": f"{self.bucket}/{self.key}"}, "Info": {"S": self.info}},
                ConditionExpression="attribute_not_exists(LockID)",
            )
        except bex.ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                held = dynamodb_lock(self.dynamodb, self.table, self.bucket, self.key)
                if held is not None:
                    raise RestoreRefused(_locked_message(held)) from None
            raise RestoreRefused(
                f"cannot take the state lock in dynamodb:{self.table} ({error_code(error)}); "
                "nothing was written"
            ) from None
        except bex.BotoCoreError as error:
            raise RestoreRefused(
                f"cannot take the state lock in dynamodb:{self.table} ({error}); "
                "nothing was written"
            ) from None

    def put_digest(self, body: bytes, result: RestoreResult) -> None:
        import botocore.exceptions as bex

        digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
        item = f"{self.bucket}/{self.key}{DIGEST_SUFFIX}"
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"LockID": {"S": item}, "Digest": {"S": digest}},
            )
        except (bex.ClientError, bex.BotoCoreError) as error:
            code = code_or_text(error)
            raise RestoreIncomplete(
                f"the state was restored (version {result.new_version_id}) but its digest "
                f"could not be stored ({code}): Terraform will refuse to read it until item "
                f"{item} in {self.table} has Digest {digest}",
                result,
            ) from None

    def release(self) -> str | None:
        """None when released, else what is wrong (the lock is then left held)."""
        import botocore.exceptions as bex

        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"LockID": {"S": f"{self.bucket}/{self.key}"}},
                ConditionExpression="Info = :info",
                ExpressionAttributeValues={":info": {"S": self.info}},
            )
        except (bex.ClientError, bex.BotoCoreError) as error:
            code = code_or_text(error)
            return (
                f"the state lock {self.lock_id} in {self.table} could not be released "
                f"({code}): release it with 'terraform force-unlock {self.lock_id}'"
            )
        return None


def _locked_message(held: LockInfo) -> str:
    who = held.who or "an unknown holder"
    operation = f" ({held.operation})" if held.operation else ""
    since = f" since {held.created}" if held.created else ""
    lock_id = held.lock_id or "?"
    return (
        f"the state is locked in {held.source} by {who}{operation}{since}, lock ID {lock_id}: "
        "wait for it to finish (or, if it is stale, 'terraform force-unlock "
        f"{lock_id}'); nothing was written"
    )


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
