"""The playbook's "Recovery from Failed Rollback": after a failed apply, make the
pre-rollback state the latest version again (a checked state restore of the backup), or say
exactly how to finish by hand when that cannot be done."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ohpen.errors import OhpenError

if TYPE_CHECKING:
    from pytest_ohpen.rollback.reapply import RollbackOutcome, RollbackRequest


def recover_state(
    req: RollbackRequest, backup: Path, backups: Path, outcome: RollbackOutcome
) -> None:
    """After a failed apply: make the pre-rollback state the latest version again."""
    from pytest_ohpen.terraform.restore_apply import apply_restore
    from pytest_ohpen.terraform.restore_plan import plan_restore, read_latest

    assert req.env.terraform is not None
    tf, s3 = req.env.terraform, req.clients.client("s3")
    try:
        if read_latest(s3, tf.state_bucket, tf.state_key).body == backup.read_bytes():
            req.write_line(
                "recovery: nothing to restore (the failed apply left the state unchanged)"
            )
            return
        plan = plan_restore(s3, tf.state_bucket, tf.state_key, from_file=backup)
        result = apply_restore(
            s3,
            tf.state_bucket,
            tf.state_key,
            plan,
            backup_dir=backups,
            dynamodb=req.clients.client("dynamodb") if tf.lock_table else None,
            lock_table=tf.lock_table,
            operator=req.operator.get("aws_caller"),
        )
    except (OhpenError, OSError) as error:  # refused (e.g. the lock still held), conflict, ...
        outcome.error = f"{outcome.error}; recovery failed: {error}"
        req.write_line(
            f"recovery FAILED: {error}; release the lock if the failed apply left it held, "
            f"then restore by hand: ohpen state restore --from-file {backup} "
            f"--env {req.env.name} --apply"
        )
        return
    outcome.recovered_state_version = result.new_version_id
    req.write_line(
        f"recovered: the pre-rollback state is the latest version again "
        f"({result.new_version_id}, serial {result.new_serial})"
    )
