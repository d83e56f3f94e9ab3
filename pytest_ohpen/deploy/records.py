"""The deployment records ``ohpen deploy`` writes, as plain data (pure functions).

- ``deployment_plan``: a dry-run's reviewed plan (or an apply the plan review refused);
- ``deployment`` with ``status: started``: written before anything is applied (no record,
  no apply);
- ``deployment`` with ``status: finished``: the outcome, naming the started record, the
  state versions before and after, and ``result`` succeeded or failed.

A known-good mark of a state version takes its deployed commit from the finished,
succeeded ``deployment`` whose ``state_version_after`` is that version
(:func:`deployment_commit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ohpen.records.store import AuditRecord
    from pytest_ohpen.terraform.plan_review import PlanReview

KIND = "deployment"
PLAN_KIND = "deployment_plan"
STARTED = "started"
FINISHED = "finished"
SUCCEEDED = "succeeded"
FAILED = "failed"


def plan_summary(review: PlanReview | None) -> dict[str, Any] | None:
    """What the plan changes: counts per action, the addresses per action, per-type counts
    and the data-bearing addresses it deletes or replaces."""
    if review is None:
        return None
    from pytest_ohpen.terraform.plan_review import ACTIONS  # not at import: the plugin loads this

    addresses: dict[str, list[str]] = {action: [] for action in ACTIONS}
    for address, action in review.changes.items():
        addresses[action].append(address)
    return {
        "counts": dict(review.totals),
        "addresses": {action: sorted(found) for action, found in addresses.items()},
        "by_type": {type_: dict(counts) for type_, counts in review.counts.items()},
        "destructive": list(review.destructive),
        "output_changes": dict(review.output_changes),
    }


def plan_data(
    *,
    mode: str,
    commit: str,
    ref: str,
    state_version: str | None,
    review: PlanReview | None,
    refused: list[str],
    operator: Mapping[str, str],
    planned_at: str,
) -> dict[str, Any]:
    """The ``deployment_plan`` record: what was planned, against which state version."""
    return {
        "mode": mode,
        "commit": commit,
        "ref": ref,
        "state_version": state_version,
        "plan": plan_summary(review),
        "refused": list(refused),
        "operator": dict(operator),
        "planned_at": planned_at,
    }


def started_data(
    *,
    commit: str,
    ref: str,
    state_version_before: str | None,
    review: PlanReview | None,
    operator: Mapping[str, str],
    started_at: str,
    allow_destroy: bool,
) -> dict[str, Any]:
    """The ``deployment`` record written before the apply."""
    return {
        "status": STARTED,
        "commit": commit,
        "ref": ref,
        "state_version_before": state_version_before,
        "plan": plan_summary(review),
        "operator": dict(operator),
        "started_at": started_at,
        "allow_destroy": allow_destroy,
    }


def finished_data(
    started: Mapping[str, Any],
    *,
    started_record: str | None,
    state_version_after: str | None,
    applied: bool,
    error: str | None,
    ended_at: str,
    apply_seconds: float | None,
) -> dict[str, Any]:
    """The ``deployment`` outcome record: the started record's fields, then how it ended."""
    return {
        **started,
        "status": FINISHED,
        "started_record": started_record,
        "state_version_after": state_version_after,
        "ended_at": ended_at,
        "apply_seconds": apply_seconds,
        "result": SUCCEEDED if applied and not error else FAILED,
        "error": error,
    }


def deployment_commit(record: AuditRecord, state_version_id: str) -> str | None:
    """The commit a finished, succeeded deployment record says produced ``state_version_id``
    (as its ``state_version_after``); None for any other record."""
    data = record.data
    if record.kind != KIND or data.get("status") != FINISHED or data.get("result") != SUCCEEDED:
        return None
    if data.get("state_version_after") != state_version_id:
        return None
    commit = data.get("commit")
    return commit if isinstance(commit, str) and commit else None
