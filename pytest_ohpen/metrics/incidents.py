"""Attempts grouped into incidents: one incident is one rollback, however many attempts.

How attempts are tied together, the first rule that applies:

1. the same incident key (recorded by the writers, or derived from the detection time,
   which the trigger passes to the command it runs and an operator passes again with
   ``--detected-at``): one failure, one incident;
2. a retry: an attempt continues the latest incident of its family (and, for data, of
   its layer) when that incident is not yet restored, the attempt starts at most
   :data:`RETRY_WINDOW` after the incident's last activity, and it has no detection time
   or one no later than the incident's first attempt (a later detection is a new failure);
3. otherwise it opens a new incident.

Drill attempts are not incidents (drills have their own history): those that say
``initiated_by: drill``, and those that do not say who started them but started during a
recorded drill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pytest_ohpen.metrics.attempt import DATA, Attempt
from pytest_ohpen.metrics.records import Drill

RETRY_WINDOW = timedelta(hours=6)
"""How long after an unrestored incident's last attempt another attempt is its retry."""
DETECTION, COMMAND_START = "detection", "command start"
"""Where an incident's clock starts: the failure's detection, else its first command."""


@dataclass(frozen=True)
class Rollback:
    """One incident: every attempt at rolling back one failure, oldest first.

    A rollback *counts* when at least one attempt was not refused (something was, or may
    have been, applied). It is *restored* by its first restored attempt.
    """

    attempts: tuple[Attempt, ...]
    key: str | None
    green_at: datetime | None = None
    """When verification was green after the restore (None: not restored)."""
    green_source: str = ""
    """What proved it green: "smoke tests passed", a known-good mark, or that nothing did."""
    mttr_started_at: datetime | None = None
    mttr_start: str = ""
    """Where the MTTR sample starts: "failed deployment <id>", "detection", "command start"."""
    deployment: str | None = None
    """The id of the deployment this rollback undid, when it is known."""

    @property
    def id(self) -> str:
        """The first attempt's record id."""
        return self.attempts[0].id

    @property
    def family(self) -> str:
        return self.attempts[0].family

    @property
    def started_at(self) -> datetime:
        """The first attempt's start: what places the rollback in a window."""
        return self.attempts[0].started_at

    @property
    def counted(self) -> bool:
        return any(not a.refused for a in self.attempts)

    @property
    def restoring(self) -> Attempt | None:
        """The attempt that restored service; None when none did."""
        return next((a for a in self.attempts if a.restored), None)

    @property
    def restored(self) -> bool:
        return self.restoring is not None

    @property
    def restored_at(self) -> datetime | None:
        restoring = self.restoring
        return restoring.finished_at if restoring else None

    @property
    def finished_at(self) -> datetime:
        """The restore, else the last thing any attempt recorded."""
        return self.restored_at or max(a.last_seen for a in self.attempts)

    @property
    def detected_at(self) -> datetime | None:
        """The earliest detection time any attempt recorded."""
        return min((a.detected_at for a in self.attempts if a.detected_at), default=None)

    @property
    def clock_started_at(self) -> datetime:
        """The detection, else (flagged by :attr:`clock_start`) the first command's start."""
        detected = self.detected_at
        return min(detected, self.started_at) if detected else self.started_at

    @property
    def clock_start(self) -> str:
        """DETECTION or COMMAND_START: what :attr:`duration_seconds` is measured from."""
        return DETECTION if self.detected_at else COMMAND_START

    @property
    def duration_seconds(self) -> float | None:
        """From the detection (else the first command's start) to the restored state; None
        when nothing restored it (there is no restored state to time)."""
        restored = self.restored_at
        return None if restored is None else (restored - self.clock_started_at).total_seconds()

    @property
    def elapsed_seconds(self) -> float:
        """From the same start to the restore, else to the last recorded activity."""
        return (self.finished_at - self.clock_started_at).total_seconds()

    @property
    def applied(self) -> tuple[Attempt, ...]:
        """The attempts that were not refused (refusals changed nothing)."""
        return tuple(a for a in self.attempts if not a.refused)

    @property
    def first_attempt_success(self) -> bool:
        """The first attempt that was not refused restored service."""
        applied = self.applied
        return bool(applied) and applied[0].restored

    @property
    def automated(self) -> bool:
        """Restored by the trigger; or, when not restored, first attempted by it."""
        deciding = self.restoring or (self.applied or self.attempts)[0]
        return deciding.automated

    @property
    def outcome(self) -> str:
        restoring = self.restoring
        if restoring is not None:
            return f"restored by attempt {self.attempts.index(restoring) + 1}"
        last = self.attempts[-1]
        return f"not restored (last attempt: {last.result})"

    @property
    def verification(self) -> str:
        return (self.restoring or self.attempts[-1]).verification

    @property
    def recovery_seconds(self) -> float | None:
        """The MTTR sample: from :attr:`mttr_started_at` to green; None when not restored."""
        if self.green_at is None or self.mttr_started_at is None:
            return None
        return (self.green_at - self.mttr_started_at).total_seconds()


def _same_kind(first: Attempt, attempt: Attempt) -> bool:
    """The same family and, for data, the same layer."""
    if attempt.family != first.family:
        return False
    return attempt.family != DATA or attempt.scope == first.scope


def _joins(incident: list[Attempt], attempt: Attempt) -> bool:
    """Whether ``attempt`` is a retry of the still unrestored ``incident`` (rule 2)."""
    first = incident[0]
    if not _same_kind(first, attempt) or any(a.restored for a in incident):
        return False
    if attempt.started_at - max(a.last_seen for a in incident) > RETRY_WINDOW:
        return False
    return attempt.detected_at is None or attempt.detected_at <= first.started_at


def group(attempts: Iterable[Attempt]) -> list[Rollback]:
    """The incidents of ``attempts``, oldest first (see the module docstring)."""
    incidents: list[list[Attempt]] = []
    keys: list[str | None] = []
    by_key: dict[str, int] = {}
    for attempt in sorted(attempts, key=lambda a: (a.started_at, a.id)):
        index = by_key.get(attempt.key) if attempt.key else None
        if index is None:  # a retry continues only the latest incident of its kind
            latest = next(
                (
                    n
                    for n in reversed(range(len(incidents)))
                    if _same_kind(incidents[n][0], attempt)
                ),
                None,
            )
            if latest is not None and _joins(incidents[latest], attempt):
                index = latest
        if index is None:
            incidents.append([attempt])
            keys.append(attempt.key)
            index = len(incidents) - 1
        else:
            incidents[index].append(attempt)
            if keys[index] is None:
                keys[index] = attempt.key
        if attempt.key and attempt.key not in by_key:
            by_key[attempt.key] = index
    return [Rollback(tuple(found), key) for found, key in zip(incidents, keys, strict=True)]


def drill_attempt(attempt: Attempt, drills: Sequence[Drill]) -> bool:
    """Whether an attempt was a drill's: said so, or unsaid and during a recorded drill."""
    if attempt.initiated_by == "drill":
        return True
    if attempt.initiated_by is not None:
        return False
    return any(
        d.started_at <= attempt.started_at <= (d.finished_at or d.started_at + RETRY_WINDOW)
        for d in drills
    )
