"""The Terraform rollback: re-apply a previous git revision with a reviewed plan, the
playbook's "Rollback Script" and Steps 4-8 as one checked, recorded operation.

The operator's checkout is never touched (a temporary worktree); dry-run stops after
the plan review; apply applies the reviewed plan file with normal locking; a failed
apply restores the pre-rollback state version; every apply attempt writes an
incident record.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.deploy.at_ref import Change, ChangeOutcome, ChangeRefused, change_at_ref
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.rollback import worktree
from pytest_ohpen.rollback.guard import (
    TERRAFORM_ROLLBACK,
    Blocked,
    Cleared,
    Override,
    forced_line,
    guard,
)
from pytest_ohpen.rollback.incident import KIND as INCIDENT
from pytest_ohpen.rollback.incident import incident_data, incident_markdown
from pytest_ohpen.rollback.recovery import recover_state
from pytest_ohpen.terraform.restore_apply import run_token
from pytest_ohpen.util import process
from pytest_ohpen.util.files import write_atomic, write_new
from pytest_ohpen.util.jsonable import iso_utc

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditStore
    from pytest_ohpen.terraform.plan_review import PlanReview

DEFAULT_TARGET = "HEAD~1"
STARTED_KIND = "rollback_terraform"
"""The record written before an apply (``status: started``); the incident is the outcome."""


RollbackRefused = ChangeRefused
"""The rollback must not run: a missing ``[terraform]`` table or working directory, ..."""


@dataclass
class RollbackRequest:
    """What the operator asked for, and where to do it."""

    env: Environment
    clients: AwsClients
    audit: AuditStore
    repo: Path
    suites: Path
    """The folder holding suites/smoke, for --verify."""
    target_ref: str = DEFAULT_TARGET
    apply: bool = False
    allow_destroy: bool = False
    verify: bool = False
    reason: str = "smoke tests failed after deployment"
    operator: dict[str, str] = field(default_factory=dict)
    targets_file: Path | None = None
    initiated_by: str = "operator"
    """"trigger" when the plugin's trigger ran it: the metrics split automated from manual."""
    detected_at: str | None = None
    """When the failed run that led here ended (ISO), for time-to-recovery."""
    write_line: Callable[[str], None] = print
    timeout: float = 1800.0
    override: Override = field(default_factory=Override)
    """``--force`` and its ``--reason``: apply despite readiness blockers (recorded)."""


@dataclass
class RollbackOutcome(ChangeOutcome):
    """What happened: the review, whether it applied, how long, what was recorded."""

    recovered_state_version: str | None = None
    verification: str = "not run"
    incident_id: str | None = None
    started_record: str | None = None
    """The id of the "started" record written before the apply."""
    cleared: Cleared | None = None
    """What the readiness guard found before the apply (forced or not)."""

    @property
    def target_commit(self) -> str:
        """The commit the rollback planned (and applied): the target ref's."""
        return self.commit

    @property
    def restored_state_version(self) -> str | None:
        """The state version a successful apply wrote (the incident names it with the
        commit applied); None when nothing was applied."""
        return self.state_version_after if self.applied else None

    @property
    def succeeded(self) -> bool:
        """Dry-run: the plan is reviewable and allowed; apply: applied (and verified if asked)."""
        if self.error or self.refused:
            return False
        return self.verification in ("not run", "smoke tests passed")


def rollback_terraform(req: RollbackRequest) -> RollbackOutcome:
    """Plan from ``target_ref`` in a temporary worktree, review, and apply when asked."""
    started = datetime.now(UTC)
    deployed = worktree.head(req.repo)
    change = Change(
        env=req.env,
        clients=req.clients,
        repo=req.repo,
        ref=req.target_ref,
        apply=req.apply,
        allow_destroy=req.allow_destroy,
        write_line=req.write_line,
        timeout=req.timeout,
        plan_name="rollback.tfplan",
    )
    steps = _RollbackSteps(req, deployed)
    outcome = change_at_ref(change, steps)
    if outcome.mode == "dry-run" or steps.unrecorded:
        return outcome  # dry-run: the rollback_plan is its record; unrecorded: the store fails
    if outcome.applied and req.verify:
        outcome.verification = _verify(req, outcome.target_commit)
    outcome.incident_id = _record_incident(req, outcome, deployed, started)
    return outcome


@dataclass
class _RollbackSteps:
    """The rollback's part of the shared steps: its plan record, the readiness guard, the
    started record, the pre-rollback backup and the recovery from a failed apply."""

    req: RollbackRequest
    deployed: str
    backup: Path | None = None
    unrecorded: bool = False
    """The started record could not be written: nothing applied, no incident either."""

    def outcome(self, mode: str, commit: str) -> RollbackOutcome:
        return RollbackOutcome(mode, commit)

    def planned(self, outcome: RollbackOutcome) -> None:
        self.req.write_line("dry-run: nothing applied; run again with --apply to roll back")
        _record_plan(self.req, outcome, self.deployed)

    def refused(self, outcome: RollbackOutcome) -> None:
        """Nothing more: the incident records the refusal."""

    def start(self, outcome: RollbackOutcome) -> bool:
        cleared = _guard(self.req, outcome)
        if cleared is None:
            return False
        self.unrecorded = not _record_start(self.req, outcome, self.deployed, cleared)
        return not self.unrecorded

    def prepare(self, outcome: RollbackOutcome) -> None:
        self.backup = _back_up(self.req, outcome.state_version_before)

    def failed(self, outcome: RollbackOutcome) -> None:
        if self.backup is not None:
            recover_state(self.req, self.backup, self.backup.parent, outcome)


def _guard(req: RollbackRequest, outcome: RollbackOutcome) -> Cleared | None:
    """The readiness blockers right before applying; None (and ``outcome.refused``) when
    one stands and ``--force --reason`` does not override it."""
    try:
        cleared = guard(
            TERRAFORM_ROLLBACK,
            req.env,
            req.clients,
            req.repo,
            req.override,
            target_ref=req.target_ref,
        )
    except Blocked as error:
        req.write_line(f"refused: {error}")
        outcome.refused = [f"blocked by {b.code}: {b.message}" for b in error.blockers]
        return None
    warning = forced_line(TERRAFORM_ROLLBACK, cleared)
    if warning:
        req.write_line(warning)
    outcome.cleared = cleared
    return cleared


def _record_start(
    req: RollbackRequest, outcome: RollbackOutcome, deployed: str, cleared: Cleared
) -> bool:
    """The "started" record, before anything is applied; False (``outcome.error`` says
    why, nothing applied) when it cannot be written."""
    try:
        record = req.audit.write(
            STARTED_KIND,
            req.env.name,
            {
                "status": "started",
                "reason": req.reason,
                "deployed_commit": deployed,
                "target_ref": req.target_ref,
                "target_commit": outcome.target_commit,
                "review": _review_data(outcome.review),
                "operator": req.operator,
                "initiated_by": req.initiated_by,
                "detected_at": req.detected_at,
                **cleared.record(),
            },
        )
    except OhpenError as error:
        outcome.error = f"cannot record the rollback before applying it: {error}; nothing applied"
        req.write_line(f"refused: {outcome.error}")
        return False
    outcome.started_record = record.id
    return True


def _back_up(req: RollbackRequest, version_id: str | None) -> Path | None:
    """A copy of the pre-rollback state version, for the recovery after a failed apply."""
    from pytest_ohpen.terraform import state_versions as statefile

    if version_id is None:
        return None
    assert req.env.terraform is not None
    tf, s3 = req.env.terraform, req.clients.client("s3")
    backups = req.env.audit.directory.parent / "backups"
    # A name of this run's own, created and never replaced: two rollbacks of one version
    # (a retry, a concurrent run) each keep their backup.
    backup = backups / f"{Path(tf.state_key).name}.{version_id}.{run_token()}.pre-rollback.json"
    write_new(backup, statefile.read_version(s3, tf.state_bucket, tf.state_key, version_id))
    req.write_line(f"pre-rollback state version {version_id} backed up to {backup}")
    return backup


def _verify(req: RollbackRequest, applied_commit: str) -> str:
    """``pytest suites/smoke --env NAME`` after the apply (never triggering another rollback);
    a green run marks the new state version known-good as applied from ``applied_commit``
    (not the checkout's HEAD, which is the newer commit just rolled back)."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(req.suites / "smoke"),
        "--env",
        req.env.name,
        "--rollback",
        "off",
        "-p",
        "no:cacheprovider",
        "-q",
        "--deployed-commit",
        applied_commit,
    ]
    if req.targets_file:
        argv += ["--targets", str(req.targets_file)]
    req.write_line("verify: " + " ".join(argv[2:]))
    done = process.run(argv, timeout=req.timeout, cwd=req.suites.parent, capture=True)
    if done.timed_out:
        return f"smoke tests timed out after {req.timeout:g} s"
    if done.error is not None:
        return f"smoke tests did not run: {done.error}"
    for line in done.stdout.decode(errors="replace").splitlines()[-5:]:
        req.write_line(f"  | {line}")
    return (
        "smoke tests passed"
        if done.exit_code == 0
        else (f"smoke tests failed (exit code {done.exit_code})")
    )


def _record_plan(req: RollbackRequest, outcome: RollbackOutcome, deployed: str) -> None:
    req.audit.write(
        "rollback_plan",
        req.env.name,
        {
            "mode": "dry-run",
            "deployed_commit": deployed,
            "target_ref": req.target_ref,
            "target_commit": outcome.target_commit,
            "review": _review_data(outcome.review),
            "refused": outcome.refused,
            "operator": req.operator,
        },
    )


def _review_data(review: PlanReview | None) -> dict[str, Any] | None:
    if review is None:
        return None
    return {
        "counts": review.counts,
        "totals": review.totals,
        "destructive": list(review.destructive),
        "creates": list(review.creates),
    }


def _record_incident(
    req: RollbackRequest, outcome: RollbackOutcome, deployed: str, started: datetime
) -> str:
    """The playbook's Step 8 entry: JSON in the audit store, Markdown beside the records."""
    if outcome.refused:
        result = "refused: " + "; ".join(outcome.refused)
    elif outcome.error:
        result = "failed" + (
            ", pre-rollback state restored" if outcome.recovered_state_version else ""
        )
    else:
        result = "applied"
    data = incident_data(
        reason=req.reason,
        deployment_sha=deployed,
        restored_sha=outcome.target_commit,
        restored_state_version=outcome.restored_state_version,
        operator=req.operator,
        started_at=iso_utc(started),
        finished_at=iso_utc(datetime.now(UTC)),
        mode=outcome.mode,
        outcome=result,
        verification=outcome.verification,
        details={
            "target_ref": req.target_ref,
            "review": _review_data(outcome.review),
            "apply_seconds": outcome.apply_seconds,
            "error": outcome.error,
            "recovered_state_version": outcome.recovered_state_version,
            "started_record": outcome.started_record,
            **(outcome.cleared.record() if outcome.cleared else {}),
        },
        initiated_by=req.initiated_by,
        detected_at=req.detected_at,
    )
    record = req.audit.write(INCIDENT, req.env.name, data)
    markdown = req.env.audit.directory.parent / "incidents" / f"{record.id}.md"
    write_atomic(markdown, incident_markdown(record.id, req.env.name, record.data))
    req.write_line(f"incident {record.id} recorded ({markdown})")
    return record.id
