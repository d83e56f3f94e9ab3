"""Deployments read from their records, tied to the rollbacks that undid them.

``deployment`` records (``ohpen deploy``) are read defensively: a started record and its
outcome are one deployment (the outcome's ``started_record``, else the same commit and
``started_at``); the outcome is ``status: succeeded|failed``, or ``status: finished`` with
``result: succeeded|failed``; a deployment with a started record only is *unfinished*
(still running, or interrupted) and counts as neither. Times come from ``started_at`` and
``ended_at`` when recorded, else from the records' own times. A malformed field (a time
that is no ISO 8601 with a zone, an unknown status) makes the record corrupt.

A rollback undid a deployment when an attempt rolled back its commit, or replaced the
state version it wrote; else, when neither is recorded, the latest *failed* deployment
that ended at most :data:`LINK_WINDOW` before the rollback's clock started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pytest_ohpen.metrics.incidents import Rollback
from pytest_ohpen.metrics.records import (
    DEPLOYMENT,
    choice,
    optional_moment,
    optional_text,
    require_finite,
)
from pytest_ohpen.records.store import AuditRecord

SUCCEEDED, FAILED, UNFINISHED = "succeeded", "failed", "unfinished"
LINK_WINDOW = timedelta(hours=24)
"""How long before a rollback a failed deployment is taken to be its cause, when no commit
or state version ties them."""
_STATUSES = ("started", "finished", SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Deployment:
    """One deployment, from its started record and its outcome."""

    id: str
    commit: str | None
    ref: str | None
    status: str
    """SUCCEEDED, FAILED or UNFINISHED."""
    started_at: datetime
    ended_at: datetime | None
    state_version_before: str | None
    state_version_after: str | None
    rolled_back_by: str | None = None
    """The rollback (incident id) that undid it: a change failure even if it succeeded."""

    @property
    def failure(self) -> bool:
        """A change failure: the deployment failed, or a rollback undid it."""
        return self.status == FAILED or self.rolled_back_by is not None

    @property
    def finished(self) -> bool:
        return self.status != UNFINISHED

    @property
    def failed_at(self) -> datetime:
        """When the change failed: its end, else its start."""
        return self.ended_at or self.started_at


@dataclass
class ReadDeployments:
    deployments: list[Deployment] = field(default_factory=list)
    corrupt: list[tuple[AuditRecord, str]] = field(default_factory=list)


def _outcome(record: AuditRecord) -> str:
    """SUCCEEDED, FAILED or "started"; ValueError for anything else."""
    data = record.data
    status = choice(data, "status", _STATUSES)
    if status == "finished":
        return choice(data, "result", (SUCCEEDED, FAILED))
    return status


def _deployment(outcome: AuditRecord | None, started: AuditRecord | None) -> Deployment:
    record = outcome or started
    assert record is not None
    data = {**(started.data if started else {}), **(outcome.data if outcome else {})}
    begun = optional_moment(data, "started_at") or (started or record).recorded_at
    ended = optional_moment(data, "ended_at")
    if outcome is not None and ended is None:
        ended = outcome.recorded_at
    if ended is not None and ended < begun:
        raise ValueError(f"ended_at {ended:%Y-%m-%dT%H:%M:%SZ} is before started_at")
    return Deployment(
        id=record.id,
        commit=optional_text(data, "commit"),
        ref=optional_text(data, "ref"),
        status=_outcome(outcome) if outcome else UNFINISHED,
        started_at=begun,
        ended_at=ended,
        state_version_before=optional_text(data, "state_version_before"),
        state_version_after=optional_text(data, "state_version_after"),
    )


def read_deployments(records: Iterable[AuditRecord]) -> ReadDeployments:
    """Every deployment in ``records`` (other kinds are ignored), oldest first."""
    read = ReadDeployments()
    valid: list[tuple[AuditRecord, str]] = []
    for record in records:
        if record.kind != DEPLOYMENT:
            continue
        try:
            require_finite(record.data)
            status = _outcome(record)
            optional_moment(record.data, "started_at")
            optional_moment(record.data, "ended_at")
            for key in ("commit", "ref", "state_version_before", "state_version_after"):
                optional_text(record.data, key)
        except (ValueError, TypeError) as error:
            read.corrupt.append((record, str(error)))
            continue
        valid.append((record, status))
    started = {r.id: r for r, status in valid if status == "started"}
    used: set[str] = set()
    for record, status in valid:
        if status == "started":
            continue
        pair = _started_of(record, started, used)
        if pair is not None:
            used.add(pair.id)
        _add(read, record, pair)
    for record in started.values():
        if record.id not in used:
            _add(read, None, record)
    read.deployments.sort(key=lambda d: (d.started_at, d.id))
    return read


def _add(read: ReadDeployments, outcome: AuditRecord | None, started: AuditRecord | None) -> None:
    """The deployment of these records, or the first of them as corrupt."""
    try:
        read.deployments.append(_deployment(outcome, started))
    except (ValueError, TypeError) as error:
        record = outcome or started
        assert record is not None
        read.corrupt.append((record, str(error)))


def _started_of(
    outcome: AuditRecord, started: dict[str, AuditRecord], used: set[str]
) -> AuditRecord | None:
    """The outcome's started record: the one it names, else one of the same deployment."""
    link = outcome.data.get("started_record")
    if isinstance(link, str) and link in started:
        return started[link]
    same = (outcome.data.get("commit"), outcome.data.get("started_at"))
    if None in same:
        return None
    return next(
        (
            r
            for r in started.values()
            if r.id not in used and (r.data.get("commit"), r.data.get("started_at")) == same
        ),
        None,
    )


def _same_commit(one: str | None, other: str | None) -> bool:
    """Equal commits, one possibly abbreviated (at least 7 hex digits)."""
    if not one or not other:
        return False
    short, full = sorted((one, other), key=len)
    return len(short) >= 7 and full.startswith(short)


def undone(rollback: Rollback, deployments: Sequence[Deployment]) -> Deployment | None:
    """The deployment ``rollback`` undid (see the module docstring), or None."""
    start = rollback.clock_started_at
    before = [d for d in deployments if d.started_at <= start]
    commits = {a.rolled_back_commit for a in rollback.attempts} - {None}
    versions = {a.replaced_state_version for a in rollback.attempts} - {None}
    tied = [
        d
        for d in before
        if any(_same_commit(d.commit, c) for c in commits)
        or (d.state_version_after is not None and d.state_version_after in versions)
    ]
    if tied:
        return tied[-1]
    failed = [d for d in before if d.status == FAILED and start - d.failed_at <= LINK_WINDOW]
    return failed[-1] if failed else None
