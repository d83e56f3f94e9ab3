"""The trigger's records as attempts, and the trigger folded into the command it ran.

``rollback_trigger`` with ``mode: apply``: started, then finished; exit code 0 is
*restored*, anything else *failed*. When the command the trigger ran wrote records of its
own (an attempt that started while the trigger ran and says it was started by the
trigger, or does not say), those and the trigger's records are one attempt, made by the
trigger; otherwise the trigger's records are the attempt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from pytest_ohpen.metrics.attempt import (
    FAILED,
    INFRA,
    METHOD,
    NO_OUTCOME,
    RESTORED,
    STARTED,
    Attempt,
    Read,
    key_of,
)
from pytest_ohpen.metrics.records import (
    TRIGGER,
    choice,
    optional_moment,
    optional_text,
    seconds,
    text,
)
from pytest_ohpen.records.store import AuditRecord

TRIGGER_SLACK = timedelta(seconds=2)
"""A command's start may be stamped this much before the trigger's started record."""
UNFINISHED_SPAN = timedelta(hours=6)
"""How long a trigger without a finished record is taken to have run."""


def trigger_attempt(finished: AuditRecord | None, started: AuditRecord | None) -> Attempt:
    """The attempt the trigger's records describe (either may be missing, not both)."""
    record = finished or started
    assert record is not None
    data = {**(started.data if started else {}), **(finished.data if finished else {})}
    detected = optional_moment(data, "detected_at")
    ids = tuple(f"{TRIGGER}/{r.id}" for r in (started, finished) if r is not None)
    common: dict[str, Any] = {
        "kind": TRIGGER,
        "method": METHOD[TRIGGER],
        "family": INFRA,
        "detected_at": detected,
        "initiated_by": "trigger",
        "key": key_of(data, detected),
        "records": ids,
        "via_trigger": True,
    }
    if finished is None:
        assert started is not None
        return Attempt(
            id=started.id,
            started_at=started.recorded_at,
            finished_at=None,
            result=NO_OUTCOME,
            outcome="started; no outcome recorded (interrupted, or still running)",
            **common,
        )
    took = seconds(finished.data, "duration_seconds")
    exit_code = finished.data.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise ValueError(f"exit_code: expected an integer, got {exit_code!r}")
    error = optional_text(finished.data, "error")
    timed_out = finished.data.get("timed_out") is True
    if exit_code == 0 and not error and not timed_out:
        result, words = RESTORED, "command exited 0"
    else:
        result = FAILED
        words = "timed out" if timed_out else error or f"command exited {exit_code}"
    begun = started.recorded_at if started else finished.recorded_at - timedelta(seconds=took or 0)
    return Attempt(
        id=finished.id,
        started_at=begun,
        finished_at=finished.recorded_at,
        result=result,
        outcome=words,
        **common,
    )


def _contains(trigger: Attempt, command: Attempt) -> bool:
    """Whether ``command`` is the trigger's own command at work (see the module docstring)."""
    end = trigger.finished_at or trigger.started_at + UNFINISHED_SPAN
    keys = {trigger.key, command.key} - {None}
    return (
        command.initiated_by in (None, "trigger")
        and trigger.started_at - TRIGGER_SLACK <= command.started_at <= end + TRIGGER_SLACK
        and len(keys) <= 1
    )


def fold_triggers(triggers: list[Attempt], commands: list[Attempt]) -> list[Attempt]:
    """The attempts, each trigger folded into the command attempts it ran (which become
    the trigger's: automated, with its detection time when they lack one)."""
    folded = list(commands)
    for trigger in sorted(triggers, key=lambda a: a.started_at):
        inside = [n for n, c in enumerate(folded) if not c.via_trigger and _contains(trigger, c)]
        if not inside:
            folded.append(trigger)
            continue
        for n in inside:
            c = folded[n]
            folded[n] = replace(
                c,
                initiated_by=c.initiated_by or "trigger",
                via_trigger=True,
                detected_at=c.detected_at or trigger.detected_at,
                key=c.key or trigger.key,
                records=(*trigger.records, *c.records) if n == inside[0] else c.records,
            )
    return folded


def trigger_attempts(records: list[AuditRecord], read: Read, attempt: Any) -> list[Attempt]:
    """The trigger's applies as attempts; its dry runs into ``read.dry_runs``."""

    def check(record: AuditRecord) -> str:
        choice(record.data, "status", (STARTED, "finished"))
        return text(record.data, "mode")

    valid = [r for r in records if attempt(r, check, r) is not None]
    started = {r.id: r for r in valid if r.data["status"] == STARTED}
    used: set[str] = set()
    found: list[Attempt] = []
    for record in valid:
        if record.data["status"] == STARTED:
            continue
        link = record.data.get("started_record")
        pair = started.get(link) if isinstance(link, str) else None
        if pair is not None:
            used.add(pair.id)
        if record.data["mode"] != "apply":
            read.dry_runs.append(record)
            continue
        made = attempt(record, trigger_attempt, record, pair)
        if made is not None:
            found.append(made)
    for record in started.values():
        if record.id in used:
            continue
        made = attempt(record, trigger_attempt, None, record)
        if made is not None:
            found.append(made)
    return found
