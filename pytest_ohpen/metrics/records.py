"""Incident and drill audit records read into typed items: a counted Rollback, a Drill.

This is where the metrics decide which incidents count, and how (the rules a reviewer
needs to check a figure by hand):

- a *rollback* is an incident with ``mode == "apply"`` whose outcome does not start with
  "refused" (dry runs and refusals changed nothing); it falls in the window, month and
  quarter of its ``started_at``;
- *automated* when ``initiated_by == "trigger"``, otherwise (also when missing) manual;
- *duration*: ``finished_at`` minus ``detected_at`` when recorded, else ``started_at``;
- *first-attempt success*: outcome "applied" and a verification that neither failed nor
  timed out ("not run" counts as a success: nothing contradicted the apply);
- *MTTR sample*: for a rollback that succeeded on its first attempt, ``finished_at``
  minus ``detected_at`` (or ``started_at`` when no detection time was recorded); a
  rollback that did not restore service has no recovery time to sample.

A malformed field raises ValueError naming it, so the caller can count the record as
corrupt and say why; so does a NaN or an Infinity anywhere in a record (JSON has neither,
and no figure can be computed from one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.records.store import AuditRecord

INCIDENT = "incident"
DRILL = "drill"

_FAILED_VERIFICATION = ("smoke tests failed", "smoke tests timed out")
_INITIATORS = ("trigger", "operator")
LONGEST_SECONDS = 3660 * 86400.0
"""No recorded duration is longer than the longest window the metrics look back over."""


@dataclass(frozen=True)
class Corrupt:
    """A record the metrics could not use: where it is stored and what is wrong with it."""

    where: str
    """The record's file or S3 key, or ``<environment>/<kind>/<id>.json`` in the store."""
    problem: str

    @property
    def text(self) -> str:
        return f"{self.where}: {self.problem}"


def stored_as(record: AuditRecord) -> str:
    """Where a record is kept, relative to the audit store (the layout of records.store)."""
    return f"{record.environment}/{record.kind}/{record.id}.json"


def require_finite(value: Any, where: str = "data") -> None:
    """ValueError naming the first NaN or Infinity in a record's data (Python's JSON reader
    accepts both, but they are no JSON and break every figure computed from them)."""
    pending: list[tuple[Any, str]] = [(value, where)]  # a loop, so depth cannot overflow
    while pending:
        item, at = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{at}: {item!r} is not a number")
        if isinstance(item, Mapping):
            pending += [(inner, f"{at}.{key}") for key, inner in item.items()]
        elif isinstance(item, list | tuple):
            pending += [(inner, f"{at}[{index}]") for index, inner in enumerate(item)]


def started_at(record: AuditRecord) -> datetime:
    """When the record's rollback or drill started (aware UTC); ValueError when missing or
    malformed, so a record without it can be skipped before it is placed in a window."""
    return _moment(record.data, "started_at")


def _optional_moment(data: Mapping[str, Any], key: str) -> datetime | None:
    """An ISO 8601 timestamp field as an aware UTC datetime; zone-less ones are ambiguous."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected an ISO 8601 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key}: not ISO 8601: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{key}: no timezone: {value!r}")
    return moment.astimezone(UTC)


def _moment(data: Mapping[str, Any], key: str) -> datetime:
    """A timestamp field that must be there."""
    moment = _optional_moment(data, key)
    if moment is None:
        raise ValueError(f"{key}: missing")
    return moment


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def _seconds(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= LONGEST_SECONDS  # also refuses NaN
    ):
        raise ValueError(
            f"{key}: expected a number of seconds from 0 to {LONGEST_SECONDS:.0f}, got {value!r}"
        )
    return float(value)


def _counted(data: Mapping[str, Any]) -> bool:
    """Whether an incident is a rollback: applied for real, not refused before acting, and
    not a drill's (drills have their own records and history)."""
    mode, outcome = _text(data, "mode"), _text(data, "outcome")
    drill = data.get("initiated_by") == "drill"
    return mode == "apply" and not outcome.startswith("refused") and not drill


@dataclass(frozen=True)
class Rollback:
    """One counted rollback (an apply that ran, whatever its result), from an incident."""

    id: str
    started_at: datetime
    finished_at: datetime
    detected_at: datetime | None
    automated: bool
    outcome: str
    verification: str

    @classmethod
    def from_record(cls, record: AuditRecord) -> Rollback | None:
        """The rollback an incident record describes; None for a dry run or a refusal.

        Raises ValueError naming the first malformed field.
        """
        data = record.data
        if not _counted(data):
            return None
        started = _moment(data, "started_at")
        finished = _moment(data, "finished_at")
        detected = _optional_moment(data, "detected_at")
        initiated_by = data.get("initiated_by")
        if initiated_by is not None and initiated_by not in _INITIATORS:
            raise ValueError(
                f"initiated_by: expected 'trigger' or 'operator', got {initiated_by!r}"
            )
        if finished < started:
            raise ValueError(f"finished_at {finished:%Y-%m-%dT%H:%M:%SZ} is before started_at")
        if detected is not None and detected > finished:
            raise ValueError(f"detected_at {detected:%Y-%m-%dT%H:%M:%SZ} is after finished_at")
        return cls(
            id=record.id,
            started_at=started,
            finished_at=finished,
            detected_at=detected,
            automated=initiated_by == "trigger",
            outcome=_text(data, "outcome"),
            verification=_text(data, "verification"),
        )

    @property
    def duration_seconds(self) -> float:
        """From the failure's detection (else the rollback's start) to the restored state."""
        return (self.finished_at - (self.detected_at or self.started_at)).total_seconds()

    @property
    def first_attempt_success(self) -> bool:
        """Applied, and the smoke tests after it did not fail or time out."""
        return self.outcome == "applied" and not self.verification.startswith(_FAILED_VERIFICATION)

    @property
    def recovery_seconds(self) -> float | None:
        """The MTTR sample; None when the rollback did not restore service."""
        return self.duration_seconds if self.first_attempt_success else None


@dataclass(frozen=True)
class Drill:
    """One quarterly rollback drill, from a "drill" record."""

    id: str
    started_at: datetime
    finished_at: datetime | None
    fault: str
    passed: bool
    first_attempt_success: bool
    time_to_detect_seconds: float | None
    rollback_seconds: float | None
    time_to_green_seconds: float | None

    @classmethod
    def from_record(cls, record: AuditRecord) -> Drill:
        """The drill a record describes; ValueError names the first malformed field."""
        data = record.data
        started = _moment(data, "started_at")
        return cls(
            id=record.id,
            started_at=started,
            finished_at=_optional_moment(data, "finished_at"),
            fault=_text(data, "fault"),
            passed=_flag(data, "passed"),
            first_attempt_success=_flag(data, "first_attempt_success"),
            time_to_detect_seconds=_seconds(data, "time_to_detect_seconds"),
            rollback_seconds=_seconds(data, "rollback_seconds"),
            time_to_green_seconds=_seconds(data, "time_to_green_seconds"),
        )
