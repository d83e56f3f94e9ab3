"""One rollback attempt as a typed value: its result, who started it, when, what it
restored, and the records it was read from (:mod:`pytest_ohpen.metrics.attempts` reads
them; :mod:`pytest_ohpen.metrics.incidents` groups them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytest_ohpen.metrics.records import (
    DATA_ROLLBACK,
    INCIDENT,
    STATE_RESTORE,
    TERRAFORM_STARTED,
    TRIGGER,
    optional_text,
)
from pytest_ohpen.records.store import AuditRecord

INFRA, DATA = "infrastructure", "data"
"""The two families of rollback, never mixed in one figure."""
RESTORED = "restored"
VERIFY_FAILED = "applied, verification failed"
FAILED = "failed"
REFUSED = "refused"
INCOMPLETE = "incomplete"
NO_OUTCOME = "no outcome recorded"
RESULTS = (RESTORED, VERIFY_FAILED, FAILED, REFUSED, INCOMPLETE, NO_OUTCOME)
INITIATORS = ("trigger", "operator", "drill")
STARTED = "started"

METHOD = {
    INCIDENT: "rollback terraform",
    TERRAFORM_STARTED: "rollback terraform",
    STATE_RESTORE: "state restore",
    DATA_ROLLBACK: "data rollback",
    TRIGGER: "trigger command",
}
"""How each kind of record applied the rollback, as the reports name it."""


@dataclass(frozen=True)
class Attempt:
    """One apply of a rollback, whatever its result, from one or more records."""

    id: str
    """The outcome record's id (the started record's when no outcome was recorded)."""
    kind: str
    method: str
    family: str
    started_at: datetime
    finished_at: datetime | None
    """None: no outcome was recorded."""
    detected_at: datetime | None
    initiated_by: str | None
    """"trigger", "operator", "drill", or None when the record does not say."""
    result: str
    outcome: str
    """The record's own words (the incident's outcome, the error, the exit code)."""
    verification: str = "not run"
    target: str | None = None
    scope: str | None = None
    """What is rolled back within the family: the data layer; None for infrastructure."""
    rolled_back_commit: str | None = None
    """The commit that was deployed when the rollback started (the one rolled back)."""
    replaced_state_version: str | None = None
    key: str | None = None
    """The incident key: recorded, or derived from the detection time."""
    records: tuple[str, ...] = ()
    """Every record this attempt was read from (``<kind>/<id>``)."""
    via_trigger: bool = False

    @property
    def restored(self) -> bool:
        return self.result == RESTORED

    @property
    def refused(self) -> bool:
        return self.result == REFUSED

    @property
    def automated(self) -> bool:
        """Applied by the plugin's trigger (itself, or by the command it ran)."""
        return self.via_trigger or self.initiated_by == "trigger"

    @property
    def green(self) -> bool:
        """Restored, and the smoke tests run right after it passed."""
        return self.restored and self.verification == "smoke tests passed"

    @property
    def last_seen(self) -> datetime:
        return self.finished_at or self.started_at


@dataclass
class Read:
    """What :func:`read_attempts` found."""

    attempts: list[Attempt] = field(default_factory=list)
    dry_runs: list[AuditRecord] = field(default_factory=list)
    """Records of dry runs (nothing applied): not attempts."""
    corrupt: list[tuple[AuditRecord, str]] = field(default_factory=list)


def key_of(data: Mapping[str, Any], detected: datetime | None) -> str | None:
    """The recorded incident key, else the one derived from the detection time (the same
    derivation as :func:`pytest_ohpen.rollback.incident.incident_key`)."""
    recorded = optional_text(data, "incident_key")
    if recorded:
        return recorded
    return f"detected-{detected:%Y-%m-%dT%H:%M:%SZ}" if detected else None


def initiator(data: Mapping[str, Any]) -> str | None:
    value = data.get("initiated_by")
    if value is not None and value not in INITIATORS:
        expected = ", ".join(repr(i) for i in INITIATORS)
        raise ValueError(f"initiated_by: expected one of {expected}, got {value!r}")
    return value
