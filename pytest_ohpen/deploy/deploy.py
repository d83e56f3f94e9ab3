"""``ohpen deploy``: plan (dry-run by default) and apply the Terraform code at a git ref,
with the rollback's plan review, state locking and version pin (one implementation:
:func:`pytest_ohpen.deploy.at_ref.change_at_ref`), recorded first, then changed.

Dry-run prints the reviewed plan and writes a ``deployment_plan`` record. ``--apply``
writes a ``deployment`` record with ``status: started`` before Terraform applies anything
(refusing to apply when it cannot be written), then the outcome ``deployment`` record
(:mod:`pytest_ohpen.deploy.records`). A failed apply is recorded as it is: Terraform's state
after a partial apply describes what exists, so it is not replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.deploy import records
from pytest_ohpen.deploy.at_ref import Change, ChangeOutcome, change_at_ref, state_version_now
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.util.jsonable import iso_utc

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditStore

DEFAULT_REF = "HEAD"


@dataclass
class DeployRequest:
    """What the operator asked for, and where to do it."""

    env: Environment
    clients: AwsClients
    audit: AuditStore
    repo: Path
    ref: str = DEFAULT_REF
    apply: bool = False
    allow_destroy: bool = False
    operator: dict[str, str] = field(default_factory=dict)
    write_line: Callable[[str], None] = print
    timeout: float = 1800.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass
class DeployOutcome(ChangeOutcome):
    """The shared outcome plus the records written."""

    plan_record: str | None = None
    started_record: str | None = None
    record: str | None = None
    """The id of the outcome ``deployment`` record."""

    @property
    def succeeded(self) -> bool:
        """Dry-run: the plan is allowed; apply: applied and recorded."""
        return not (self.error or self.refused) and (self.mode == "dry-run" or self.applied)


def deploy(req: DeployRequest) -> DeployOutcome:
    """Plan the code at ``req.ref``; with ``apply``, record, apply and record the outcome."""
    change = Change(
        env=req.env,
        clients=req.clients,
        repo=req.repo,
        ref=req.ref,
        apply=req.apply,
        allow_destroy=req.allow_destroy,
        write_line=req.write_line,
        timeout=req.timeout,
        plan_name="deploy.tfplan",
    )
    steps = _DeploySteps(req)
    outcome = change_at_ref(change, steps)
    if steps.started is not None:
        _record_outcome(req, outcome, steps.started)
    return outcome


@dataclass
class _DeploySteps:
    """The deploy's part of the shared steps: its records."""

    req: DeployRequest
    started: dict[str, Any] | None = None
    """The started record's data, once written (the outcome record repeats it)."""

    def outcome(self, mode: str, commit: str) -> DeployOutcome:
        return DeployOutcome(mode, commit)

    def planned(self, outcome: DeployOutcome) -> None:
        self.req.write_line("dry-run: nothing applied; run again with --apply to deploy")
        self._record_plan(outcome)

    def refused(self, outcome: DeployOutcome) -> None:
        self._record_plan(outcome)

    def start(self, outcome: DeployOutcome) -> bool:
        req = self.req
        data = records.started_data(
            commit=outcome.commit,
            ref=req.ref,
            state_version_before=outcome.state_version_before,
            review=outcome.review,
            operator=req.operator,
            started_at=iso_utc(req.clock()),
            allow_destroy=req.allow_destroy,
        )
        try:
            record = req.audit.write(records.KIND, req.env.name, data)
        except (OhpenError, OSError) as error:
            outcome.error = f"cannot record the deployment before applying it: {error}"
            req.write_line(f"refused: {outcome.error}; nothing applied")
            return False
        outcome.started_record = record.id
        self.started = data
        req.write_line(f"deployment {record.id} started: {outcome.commit} ({req.ref})")
        return True

    def prepare(self, outcome: DeployOutcome) -> None:
        """Nothing: the state bucket keeps the version the deployment started from."""

    def failed(self, outcome: DeployOutcome) -> None:
        """Nothing: the state after a partial apply is what exists; the record says so."""

    def _record_plan(self, outcome: DeployOutcome) -> None:
        """The ``deployment_plan`` record, naming the state version planned against."""
        req = self.req
        record = req.audit.write(
            records.PLAN_KIND,
            req.env.name,
            records.plan_data(
                mode=outcome.mode,
                commit=outcome.commit,
                ref=req.ref,
                state_version=state_version_now(req.env, req.clients),
                review=outcome.review,
                refused=outcome.refused,
                operator=req.operator,
                planned_at=iso_utc(req.clock()),
            ),
        )
        outcome.plan_record = record.id


def _record_outcome(req: DeployRequest, outcome: DeployOutcome, started: dict[str, Any]) -> None:
    """The outcome ``deployment`` record; when it cannot be written the deployment still
    happened: ``outcome.error`` says so (exit 1), and the started record stands."""
    data = records.finished_data(
        started,
        started_record=outcome.started_record,
        state_version_after=outcome.state_version_after,
        applied=outcome.applied,
        error=outcome.error,
        ended_at=iso_utc(req.clock()),
        apply_seconds=outcome.apply_seconds,
    )
    try:
        record = req.audit.write(records.KIND, req.env.name, data)
    except (OhpenError, OSError) as error:
        done = "applied" if outcome.applied else "failed"
        line = f"deployment {done}, but its outcome record cannot be written: {error}"
        outcome.error = f"{outcome.error}; {line}" if outcome.error else line
        req.write_line(f"error: {line}; the started record {outcome.started_record} stands")
        return
    outcome.record = record.id
    req.write_line(
        f"deployment {record.id} {data['result']}: state version "
        f"{data['state_version_before'] or 'none'} -> {data['state_version_after'] or 'unknown'}"
    )
