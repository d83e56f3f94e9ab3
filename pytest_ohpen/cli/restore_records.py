"""The audit records of ``ohpen state restore --apply``: a ``status: started`` record
before the state is written, then the outcome (``applied``, ``incomplete`` or ``failed``),
which carries the started record's id. Records are append-only: two, never one rewritten.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.terraform.restore_apply import RestoreResult
from pytest_ohpen.terraform.restore_plan import RestorePlan

AUDIT_KIND = "state_restore"
STARTED = "started"
"""The status of the record written before the state is; the outcome record follows."""


def plan_data(plan: RestorePlan) -> dict[str, Any]:
    """What is restored over what: in the started record and in the outcome."""
    return {
        "bucket": plan.bucket,
        "key": plan.key,
        "source": plan.source,
        "previous_version_id": plan.current_version_id,
        "previous_serial": plan.current_serial,
        "restored_version_id": plan.target_version_id,
        "restored_serial": plan.target_serial,
        "new_serial": plan.new_serial,
        "lineage": plan.lineage,
    }


def record_written(
    store: AuditStore,
    environment: str,
    plan: RestorePlan,
    result: RestoreResult,
    undo: list[str],
    common: dict[str, Any],
) -> str | None:
    """The outcome of a restore that was written; None, or why it could not be recorded."""
    data = {
        **plan_data(plan),
        "previous_version_id": result.previous_version_id,
        "new_version_id": result.new_version_id,
        "new_serial": result.new_serial,
        "backup_path": result.backup_path,
        "undo": undo,
        **common,
    }
    try:
        store.write(AUDIT_KIND, environment, data)
    except OhpenError as error:
        return str(error)
    return None


def record_failed(
    store: AuditStore,
    environment: str,
    plan: RestorePlan,
    common: dict[str, Any],
    error: Exception,
) -> None:
    """The outcome of a restore that did not write (best effort: the started record stands)."""
    data = {**plan_data(plan), **common, "status": "failed", "error": str(error)}
    with contextlib.suppress(OhpenError):
        store.write(AUDIT_KIND, environment, data)
