"""The Terraform rollback: re-apply a previous git revision with a reviewed plan, the
playbook's "Rollback Script" and Steps 4-8 as one checked, recorded operation.

The operator's checkout is never touched (a temporary worktree); dry-run stops after
the plan review; apply applies the reviewed plan file with normal locking; a failed
apply restores the pre-rollback state version; every apply attempt writes an
incident record.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from pytest_ohpen.terraform.binary import (
    TerraformError,
    TerraformRunner,
    aws_subprocess_env,
    backend_config,
    check_version,
    find_terraform,
    terraform_version,
)
from pytest_ohpen.terraform.plan_review import PlanReview, render_review, review_plan
from pytest_ohpen.terraform.restore_apply import run_token
from pytest_ohpen.util import process
from pytest_ohpen.util.files import write_atomic, write_new
from pytest_ohpen.util.jsonable import iso_utc

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditStore

DEFAULT_TARGET = "HEAD~1"
STARTED_KIND = "rollback_terraform"
"""The record written before an apply (``status: started``); the incident is the outcome."""


class RollbackRefused(OhpenError):
    """The rollback must not run: a destructive plan, a missing working directory, ..."""


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
class RollbackOutcome:
    """What happened: the review, whether it applied, how long, what was recorded."""

    mode: str
    target_commit: str
    review: PlanReview | None = None
    refused: list[str] = field(default_factory=list)
    applied: bool = False
    apply_seconds: float | None = None
    error: str | None = None
    recovered_state_version: str | None = None
    restored_state_version: str | None = None
    """The state version the apply wrote (the incident names it with the commit applied)."""
    verification: str = "not run"
    incident_id: str | None = None
    started_record: str | None = None
    """The id of the "started" record written before the apply."""
    cleared: Cleared | None = None
    """What the readiness guard found before the apply (forced or not)."""

    @property
    def succeeded(self) -> bool:
        """Dry-run: the plan is reviewable and allowed; apply: applied (and verified if asked)."""
        if self.error or self.refused:
            return False
        return self.verification in ("not run", "smoke tests passed")


def rollback_terraform(req: RollbackRequest) -> RollbackOutcome:
    """Plan from ``target_ref`` in a temporary worktree, review, and apply when asked."""
    env = req.env
    if env.terraform is None:
        raise RollbackRefused(f"no [{env.name}.terraform] table: state bucket and code unknown")
    started = datetime.now(UTC)
    deployed = worktree.head(req.repo)
    binary = find_terraform(pinned=env.terraform.version)
    subprocess_env = aws_subprocess_env(env.region, req.clients.endpoint_url, env.emulated)
    version = terraform_version(binary, subprocess_env)
    check_version(version, env.terraform.version)
    with worktree.temporary_worktree(req.repo, req.target_ref) as tree:
        outcome = RollbackOutcome("apply" if req.apply else "dry-run", tree.commit)
        workdir = tree.path / env.terraform.working_dir
        if not workdir.is_dir():
            raise RollbackRefused(
                f"{env.terraform.working_dir!r} does not exist at "
                f"{req.target_ref} ({tree.commit[:12]}) in {req.repo}"
            )
        runner = TerraformRunner(binary, workdir, subprocess_env, req.write_line, req.timeout)
        runner.init(backend_config(env.terraform, env.region, req.clients.endpoint_url, version))
        with tempfile.TemporaryDirectory(prefix="ohpen-plan-") as scratch:
            plan_file = Path(scratch) / "rollback.tfplan"
            runner.plan(plan_file)
            outcome.review = review_plan(runner.show_json(plan_file))
            _print_review(req, outcome.review)
            outcome.refused = outcome.review.blocked(req.allow_destroy)
            if not req.apply:
                req.write_line("dry-run: nothing applied; run again with --apply to roll back")
                _record_plan(req, outcome, deployed)
                return outcome
            if outcome.refused:
                req.write_line("refused: " + "; ".join(outcome.refused))
            else:
                cleared = _guard(req, outcome)
                if cleared is not None and not _record_start(req, outcome, deployed, cleared):
                    return outcome  # nothing applied, and the store takes no record
                if cleared is not None:
                    _apply(req, runner, plan_file, outcome)
    if outcome.applied and req.verify:
        outcome.verification = _verify(req, outcome.target_commit)
    outcome.incident_id = _record_incident(req, outcome, deployed, started)
    return outcome


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


def _print_review(req: RollbackRequest, review: PlanReview) -> None:
    for line in render_review(review):
        req.write_line(line)
    for warning in review.warnings():
        req.write_line(f"warning: {warning}")
    for reason in review.blocked(req.allow_destroy):
        req.write_line(f"blocks apply: {reason}")


def _apply(
    req: RollbackRequest, runner: TerraformRunner, plan_file: Path, outcome: RollbackOutcome
) -> None:
    """Back up the current state, apply the reviewed plan, restore the backup on failure."""
    from pytest_ohpen.terraform import state_versions as statefile

    assert req.env.terraform is not None
    tf, s3 = req.env.terraform, req.clients.client("s3")
    backups = req.env.audit.directory.parent / "backups"
    versions = statefile.list_versions(s3, tf.state_bucket, tf.state_key)
    before = next((v for v in versions if not v.is_delete_marker), None)
    backup: Path | None = None
    if before is not None:
        # A name of this run's own, created and never replaced: two rollbacks of one version
        # (a retry, a concurrent run) each keep their backup.
        backup = backups / (
            f"{Path(tf.state_key).name}.{before.version_id}.{run_token()}.pre-rollback.json"
        )
        write_new(
            backup,
            statefile.read_version(s3, tf.state_bucket, tf.state_key, before.version_id),
        )
        req.write_line(f"pre-rollback state version {before.version_id} backed up to {backup}")
    began = time.monotonic()
    try:
        runner.apply(plan_file)
        outcome.applied = True
        outcome.restored_state_version = _state_version_now(req)
    except TerraformError as error:
        outcome.error = str(error)
        req.write_line(f"apply failed: {error}")
        if backup is not None:
            recover_state(req, backup, backups, outcome)
    finally:
        outcome.apply_seconds = round(time.monotonic() - began, 3)


def _state_version_now(req: RollbackRequest) -> str | None:
    """The state version the backend serves after the apply; None if it cannot be read (the
    incident then names no version, and a later mark finds no commit in it)."""
    import botocore.exceptions as bex

    from pytest_ohpen.terraform import state_versions as statefile
    from pytest_ohpen.terraform.target import current_version

    assert req.env.terraform is not None
    tf = req.env.terraform
    try:
        versions = statefile.list_versions(req.clients.client("s3"), tf.state_bucket, tf.state_key)
    except (bex.BotoCoreError, bex.ClientError):
        return None
    current = current_version(versions)
    return current.version_id if current else None


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
