"""Reading audit records for the metrics: the kinds they use, typed field readers that name
what is wrong, a corrupt record's place and problem, and the drill.

Every reader raises ValueError naming the field, so the caller can count the record as
corrupt and say why; so does a NaN or an Infinity anywhere in a record (JSON has neither,
and no figure can be computed from one). How rollback attempts are read, grouped into
incidents and measured: :mod:`pytest_ohpen.metrics.attempts`,
:mod:`pytest_ohpen.metrics.incidents`, :mod:`pytest_ohpen.metrics.deployments`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.records.store import KNOWN_GOOD, AuditRecord

INCIDENT = "incident"
"""``ohpen rollback terraform`` (and the playbook script): one record per apply attempt."""
TERRAFORM_STARTED = "rollback_terraform"
"""Written by ``ohpen rollback terraform`` before it applies (``status: started``)."""
TRIGGER = "rollback_trigger"
"""The plugin's trigger: ``status: started`` before an apply, then ``status: finished``."""
STATE_RESTORE = "state_restore"
"""``ohpen state restore --apply``: started, then applied, incomplete or failed."""
DATA_ROLLBACK = "data_rollback"
"""``ohpen data rollback --apply``: started, then applied or failed."""
DEPLOYMENT = "deployment"
"""Deployments (``ohpen deploy``): started, then their outcome."""
DRILL = "drill"
ATTEMPT_KINDS = (INCIDENT, TERRAFORM_STARTED, TRIGGER, STATE_RESTORE, DATA_ROLLBACK)
"""The records a rollback attempt is read from."""
READ_KINDS = (*ATTEMPT_KINDS, DEPLOYMENT, DRILL, KNOWN_GOOD)
"""Every kind the metrics read; any record of these is history (the store is the right one)."""
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


def optional_moment(data: Mapping[str, Any], key: str) -> datetime | None:
    """An ISO 8601 timestamp field as an aware UTC datetime (None when absent or null);
    zone-less ones are ambiguous, so malformed."""
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


def moment(data: Mapping[str, Any], key: str) -> datetime:
    """A timestamp field that must be there."""
    found = optional_moment(data, key)
    if found is None:
        raise ValueError(f"{key}: missing")
    return found


def text(data: Mapping[str, Any], key: str) -> str:
    """A string field that must be there."""
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    """A string field that may be absent or null (empty counts as absent)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """A string field that must be one of ``allowed``."""
    value = data.get(key)
    if value not in allowed:
        expected = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{key}: expected one of {expected}, got {value!r}")
    return str(value)


def flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def seconds(data: Mapping[str, Any], key: str) -> float | None:
    """A duration field in seconds (None when absent), 0 .. LONGEST_SECONDS."""
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


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A JSON object field; {} when absent or null."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected a JSON object, got {value!r}")
    return value


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
        started = moment(data, "started_at")
        return cls(
            id=record.id,
            started_at=started,
            finished_at=optional_moment(data, "finished_at"),
            fault=text(data, "fault"),
            passed=flag(data, "passed"),
            first_attempt_success=flag(data, "first_attempt_success"),
            time_to_detect_seconds=seconds(data, "time_to_detect_seconds"),
            rollback_seconds=seconds(data, "rollback_seconds"),
            time_to_green_seconds=seconds(data, "time_to_green_seconds"),
        )
