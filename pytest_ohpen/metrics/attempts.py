"""Rollback attempts, read from every record a rollback leaves: one typed Attempt per apply.

Every way a rollback is applied is read (what each attempt's result is, in the words of
:data:`pytest_ohpen.metrics.attempt.RESULTS`):

- ``incident`` (``ohpen rollback terraform``, also run by ``scripts/rollback_terraform.sh``
  and by the trigger's default command): ``mode: apply`` only (dry runs change nothing).
  Outcome "applied" is *restored* unless its verification failed or timed out (then
  *verification failed*); "refused..." is *refused* (nothing was applied); anything else
  *failed*. Its ``rollback_terraform`` started record (``details.started_record``, else
  the one written during the attempt) is part of it; a started record no incident
  follows is an attempt with *no outcome recorded* (interrupted, or still running).
- ``state_restore`` (``ohpen state restore --apply``): the started record and its outcome
  (``started_record``): applied is *restored*, incomplete (the state written, the digest
  or lock not) *incomplete*, failed *failed*.
- ``data_rollback`` (``ohpen data rollback --apply``): the same pair; these are of the
  *data* family, counted apart from the infrastructure's.
- ``rollback_trigger`` with ``mode: apply``: started, then finished; exit code 0 is
  *restored*, anything else *failed*. When the command the trigger ran wrote records of
  its own (an attempt above that started while the trigger ran and says it was started
  by the trigger, or does not say), those and the trigger's records are one attempt,
  made by the trigger; otherwise the trigger's records are the attempt
  (:mod:`pytest_ohpen.metrics.triggers`).

A record that cannot be read is returned as corrupt, with the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pytest_ohpen.metrics.attempt import (
    DATA,
    FAILED,
    INCOMPLETE,
    INFRA,
    METHOD,
    NO_OUTCOME,
    REFUSED,
    RESTORED,
    STARTED,
    VERIFY_FAILED,
    Attempt,
    Read,
    initiator,
    key_of,
)
from pytest_ohpen.metrics.records import (
    DATA_ROLLBACK,
    INCIDENT,
    STATE_RESTORE,
    TERRAFORM_STARTED,
    TRIGGER,
    choice,
    mapping,
    moment,
    optional_moment,
    optional_text,
    require_finite,
    text,
)
from pytest_ohpen.metrics.triggers import fold_triggers, trigger_attempts
from pytest_ohpen.records.store import AuditRecord

_FAILED_VERIFICATION = ("smoke tests failed", "smoke tests timed out", "failed", "timed out")


def _verification_result(data: Mapping[str, Any], verification: str) -> str:
    suites = mapping(data, "verification_suites")
    said = [verification, *(str(v) for v in suites.values() if isinstance(v, str))]
    failed = any(s.lower().startswith(_FAILED_VERIFICATION) for s in said)
    return VERIFY_FAILED if failed else RESTORED


def _incident(record: AuditRecord) -> Attempt | None:
    """The attempt an incident record describes; None for a dry run."""
    data = record.data
    mode, outcome = text(data, "mode"), text(data, "outcome")
    if mode != "apply":
        return None
    started, finished = moment(data, "started_at"), moment(data, "finished_at")
    detected = optional_moment(data, "detected_at")
    initiated_by = initiator(data)
    if finished < started:
        raise ValueError(f"finished_at {finished:%Y-%m-%dT%H:%M:%SZ} is before started_at")
    if detected is not None and detected > finished:
        raise ValueError(f"detected_at {detected:%Y-%m-%dT%H:%M:%SZ} is after finished_at")
    verification = text(data, "verification")
    if outcome == "applied":
        result = _verification_result(data, verification)
    else:
        result = REFUSED if outcome.startswith("refused") else FAILED
    details, restored = mapping(data, "details"), mapping(data, "rolled_back_to")
    started_record = optional_text(details, "started_record")
    return Attempt(
        id=record.id,
        kind=INCIDENT,
        method=METHOD[INCIDENT],
        family=INFRA,
        started_at=started,
        finished_at=finished,
        detected_at=detected,
        initiated_by=initiated_by,
        result=result,
        outcome=outcome,
        verification=verification,
        target=optional_text(restored, "git_commit")
        or optional_text(restored, "state_version")
        or optional_text(details, "target_ref"),
        rolled_back_commit=optional_text(data, "deployment_sha"),
        key=key_of(data, detected),
        records=(
            *((f"{TERRAFORM_STARTED}/{started_record}",) if started_record else ()),
            f"{INCIDENT}/{record.id}",
        ),
    )


def _started_only(record: AuditRecord, family: str, **fields: Any) -> Attempt:
    """An attempt of which only the started record exists."""
    data = record.data
    detected = optional_moment(data, "detected_at")
    return Attempt(
        id=record.id,
        kind=record.kind,
        method=METHOD[record.kind],
        family=family,
        started_at=record.recorded_at,
        finished_at=None,
        detected_at=detected,
        initiated_by=initiator(data),
        result=NO_OUTCOME,
        outcome="started; no outcome recorded (interrupted, or still running)",
        key=key_of(data, detected),
        records=(f"{record.kind}/{record.id}",),
        **fields,
    )


def _paired(
    outcome: AuditRecord, started: AuditRecord | None, family: str, **fields: Any
) -> Attempt:
    """An attempt from an outcome record and its started record (when there is one)."""
    data = {**(started.data if started else {}), **outcome.data}
    status = text(outcome.data, "status")
    result = {"applied": RESTORED, "incomplete": INCOMPLETE, "failed": FAILED}[status]
    words = status if status != FAILED else f"failed: {outcome.data.get('error') or 'unknown'}"
    detected = optional_moment(data, "detected_at")
    ids = [f"{r.kind}/{r.id}" for r in (started, outcome) if r is not None]
    return Attempt(
        id=outcome.id,
        kind=outcome.kind,
        method=METHOD[outcome.kind],
        family=family,
        started_at=(started or outcome).recorded_at,
        finished_at=outcome.recorded_at,
        detected_at=detected,
        initiated_by=initiator(data),
        result=result,
        outcome=str(words),
        key=key_of(data, detected),
        records=tuple(ids),
        **fields,
    )


def _restore_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "target": optional_text(data, "restored_version_id"),
        "replaced_state_version": optional_text(data, "previous_version_id"),
    }


def _data_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    plan = mapping(data, "plan")
    layer = optional_text(data, "layer") or optional_text(plan, "layer")
    run = optional_text(data, "new_run_id") or optional_text(plan, "to_run")
    return {"scope": layer, "target": f"{layer or '?'} run {run or '?'}"}


def read_attempts(records: Iterable[AuditRecord]) -> Read:
    """Every rollback attempt in ``records`` (any order; other kinds are ignored)."""
    read = Read()
    by_kind: dict[str, list[AuditRecord]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)

    def attempt(record: AuditRecord, make: Any, *args: Any) -> Any:
        try:
            require_finite(record.data)
            return make(*args)
        except (ValueError, TypeError, KeyError) as error:
            read.corrupt.append((record, str(error)))
            return None

    commands: list[Attempt] = []
    referenced: set[str] = set()
    incidents: list[Attempt] = []
    for record in by_kind.get(INCIDENT, []):
        found = attempt(record, _incident, record)
        if found is None and not any(r is record for r, _ in read.corrupt):
            read.dry_runs.append(record)
        elif found is not None:
            incidents.append(found)
            referenced.update(r.split("/", 1)[1] for r in found.records)
    for started in by_kind.get(TERRAFORM_STARTED, []):
        if started.id in referenced:
            continue
        host = next((i for i in incidents if _during(started, i)), None)
        if host is not None and not any(r.startswith(TERRAFORM_STARTED) for r in host.records):
            incidents[incidents.index(host)] = replace(
                host, records=(f"{TERRAFORM_STARTED}/{started.id}", *host.records)
            )
            continue
        made = attempt(
            started,
            lambda s=started: _started_only(
                s,
                INFRA,
                target=optional_text(s.data, "target_commit"),
                rolled_back_commit=optional_text(s.data, "deployed_commit"),
            ),
        )
        if made is not None:
            commands.append(made)
    commands += incidents
    for kind, family, fields in (
        (STATE_RESTORE, INFRA, _restore_fields),
        (DATA_ROLLBACK, DATA, _data_fields),
    ):
        commands += _pairs(by_kind.get(kind, []), family, fields, attempt)
    triggers = trigger_attempts(by_kind.get(TRIGGER, []), read, attempt)
    read.attempts = fold_triggers(triggers, commands)
    read.attempts.sort(key=lambda a: (a.started_at, a.id))
    return read


def _during(started: AuditRecord, incident: Attempt) -> bool:
    """A started record written while the incident's attempt ran, for the same commit."""
    end = incident.finished_at or incident.started_at
    target = started.data.get("target_commit")
    return incident.started_at <= started.recorded_at <= end and (
        target is None or incident.target is None or target == incident.target
    )


def _pairs(records: list[AuditRecord], family: str, fields: Any, attempt: Any) -> list[Attempt]:
    """A command's started records and outcomes as attempts."""
    found: list[Attempt] = []
    valid = [r for r in records if attempt(r, _status, r) is not None]
    started = {r.id: r for r in valid if r.data.get("status") == STARTED}
    used: set[str] = set()
    for outcome in valid:
        if outcome.data.get("status") == STARTED:
            continue
        link = outcome.data.get("started_record")
        pair = started.get(link) if isinstance(link, str) else None
        if pair is not None:
            used.add(pair.id)
        merged = {**(pair.data if pair else {}), **outcome.data}
        made = attempt(
            outcome, lambda o=outcome, p=pair, m=merged: _paired(o, p, family, **fields(m))
        )
        if made is not None:
            found.append(made)
    for record in started.values():
        if record.id not in used:
            made = attempt(record, lambda r=record: _started_only(r, family, **fields(r.data)))
            if made is not None:
                found.append(made)
    return found


def _status(record: AuditRecord) -> str:
    return choice(record.data, "status", (STARTED, "applied", "incomplete", "failed"))
