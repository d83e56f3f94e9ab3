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
        failed = read_latest(s3, tf.state_bucket, tf.state_key).body
        if failed == backup.read_bytes():
            req.write_line(
                "recovery: nothing to restore (the failed apply left the state unchanged)"
            )
            return
        left = left_by_hand(failed, backup.read_bytes())
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
    if left:
        req.write_line(
            "left to do by hand: the restored state and the failed apply's differ on: "
            f"{'; '.join(left)}. Reconcile them (the playbook's Steps 2-3: `terraform plan` in "
            "the working directory, clean up what is stuck), then roll back again"
        )
    else:
        req.write_line("left to do by hand: nothing (the failed apply changed no resource)")


def left_by_hand(failed: bytes, backup: bytes) -> list[str]:
    """Where the failed apply's state (``failed``) and the pre-rollback one (``backup``)
    differ: resources only the failed apply's state holds (it created them), resources only
    the restored one holds (gone: the apply removed them, or found them deleted), and changed
    ones with their attributes. Pure; an unreadable state gives one line saying so."""
    import json

    from pytest_ohpen.readiness.state_diff import StateDiffError, diff_states

    try:
        diff = diff_states(json.loads(failed), json.loads(backup))
    except (ValueError, StateDiffError) as error:
        return [f"cannot compare the states ({error}): compare them by hand"]
    return [
        *(f"{address} (created by the apply)" for address in diff.removed),
        *(f"{address} (gone: removed by the apply or found deleted)" for address in diff.added),
        *(f"changed {c.address} ({', '.join(a.name for a in c.attributes)})" for c in diff.changed),
    ]
