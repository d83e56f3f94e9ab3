"""The figures of the playbook's "Rollback Metrics & Monitoring", computed from the records,
with deployment frequency and change-failure rate beside them.

Pure functions of the audit records and a window, so the figures can be recomputed at
any time and never disagree with the incident log. Which records are attempts:
:mod:`~pytest_ohpen.metrics.attempts`; how attempts become one incident:
:mod:`~pytest_ohpen.metrics.incidents`; MTTR: :mod:`~pytest_ohpen.metrics.recovery`;
deployments: :mod:`~pytest_ohpen.metrics.deployments`. Every figure is defined in
docs/metrics.md.

A rollback (an incident) falls in the window, month and quarter of its first attempt's
start; a deployment in those of its start. Medians are the usual median (the mean of the
two middle values for an even count); p90 is nearest-rank (the smallest observed value
with at least 90 % of the values at or below it), so it is always a duration that really
happened.
"""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pytest_ohpen.metrics.attempt import DATA, INFRA
from pytest_ohpen.metrics.attempts import read_attempts
from pytest_ohpen.metrics.deployments import Deployment, read_deployments
from pytest_ohpen.metrics.incidents import COMMAND_START, Rollback, drill_attempt, group
from pytest_ohpen.metrics.records import DRILL, READ_KINDS, Corrupt, Drill, stored_as
from pytest_ohpen.metrics.recovery import NOT_VERIFIED, with_recovery
from pytest_ohpen.metrics.window import (
    MAX_WINDOW_DAYS,
    aware,
    duration_text,
    month,
    months,
    parse_since,
    quarter,
    window,
    window_start,
)
from pytest_ohpen.records.store import KNOWN_GOOD, AuditRecord

__all__ = [
    "MAX_WINDOW_DAYS",
    "DeploymentStats",
    "DurationStats",
    "Metrics",
    "MetricsWarning",
    "compute",
    "duration_text",
    "months",
    "nearest_rank",
    "parse_since",
    "window",
    "window_start",
]

P90 = 90
DRY_RUNS, REFUSED, DRILLS = "dry runs", "refused (nothing applied)", "drill rollbacks"
"""Why an apply record in the window is not a rollback (:attr:`Metrics.not_counted`)."""


class MetricsWarning(UserWarning):
    """A record the metrics need is corrupt: a field is malformed."""


def nearest_rank(values: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile: the ceil(percent/100 * n)-th smallest value (1-based)."""
    if not values:
        raise ValueError("nearest_rank of no values")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in 1..100, got {percent}")
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)  # integer ceil: no float rounding at n * 0.9
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class DurationStats:
    """How long one kind of rollback took to restore: count, median and nearest-rank p90
    (seconds), and how many samples start at the command's start (no detection time)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    from_command_start: int = 0
    not_restored: int = 0
    """Rollbacks of this kind that never restored service: no duration to sample."""

    @classmethod
    def of(
        cls, seconds: Sequence[float], from_command_start: int = 0, not_restored: int = 0
    ) -> DurationStats:
        """The figures of ``seconds``; None for both when there is no sample."""
        if not seconds:
            return cls(0, None, None, from_command_start, not_restored)
        return cls(
            len(seconds),
            float(statistics.median(seconds)),
            nearest_rank(seconds, P90),
            from_command_start,
            not_restored,
        )


def _durations(rollbacks: Sequence[Rollback]) -> DurationStats:
    restored = [r for r in rollbacks if r.duration_seconds is not None]
    return DurationStats.of(
        [s for r in restored if (s := r.duration_seconds) is not None],
        sum(r.clock_start == COMMAND_START for r in restored),
        len(rollbacks) - len(restored),
    )


@dataclass(frozen=True)
class DeploymentStats:
    """The deployments that started in the window, and what became of them."""

    recorded: bool
    """Whether the environment has any deployment record at all (else: no data)."""
    deployments: tuple[Deployment, ...]
    per_month: Mapping[str, int]
    """Finished deployments per "YYYY-MM" of the window (zeros included)."""
    weeks: float
    """The window's length in weeks."""

    @property
    def finished(self) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.finished)

    @property
    def count(self) -> int:
        """Finished deployments (succeeded or failed): the frequency's count."""
        return len(self.finished)

    @property
    def failures(self) -> int:
        """Change failures: failed, or undone by a rollback."""
        return sum(d.failure for d in self.finished)

    @property
    def successes(self) -> int:
        return self.count - self.failures

    @property
    def unfinished(self) -> int:
        return len(self.deployments) - self.count

    @property
    def per_week(self) -> float | None:
        """Deployment frequency; None without deployment records."""
        return self.count / self.weeks if self.recorded and self.weeks else None

    @property
    def change_failure_rate(self) -> float | None:
        """Failures over finished deployments (0..1); None without a finished one."""
        return self.failures / self.count if self.count else None


@dataclass(frozen=True)
class Metrics:
    """Every figure for one environment over ``since`` .. ``now`` (aware UTC datetimes)."""

    environment: str
    since: datetime
    now: datetime
    rollbacks: tuple[Rollback, ...]
    """The infrastructure rollbacks (incidents) in the window, oldest first."""
    not_counted: Mapping[str, int]
    """Apply records in the window that are no rollback, by reason (DRY_RUNS, ...)."""
    corrupt: tuple[Corrupt, ...]
    """Records that could not be used (each one warned about); the command adds the ones
    the audit store could not read."""
    history: int
    """Records of the environment the metrics read (any kind of :data:`READ_KINDS`), at
    any time, malformed ones included: none means nothing was ever recorded here, so even
    a count of 0 rollbacks is no measurement (a wrong audit directory reads like a quiet
    quarter)."""
    per_month: Mapping[str, int]
    """Rollbacks per "YYYY-MM", for every month the window touches (zeros included)."""
    per_quarter: Mapping[str, int]
    """Rollbacks per "YYYY-Qn", for every quarter the window touches (zeros included)."""
    automated: DurationStats
    manual: DurationStats
    first_attempt_successes: int
    first_attempt_success_rate: float | None
    """Fraction 0..1 of the rollbacks; None without rollbacks."""
    mttr_samples: int
    mttr_mean_seconds: float | None
    mttr_median_seconds: float | None
    mttr_starts: Mapping[str, int]
    """How many MTTR samples start at a failed deployment, a detection, a command start."""
    mttr_unverified: int
    """MTTR samples that stop at the restore (no green verification was recorded)."""
    data_rollbacks: tuple[Rollback, ...]
    """Data rollbacks (``ohpen data rollback``) in the window: their own figures."""
    data_duration: DurationStats
    deployments: DeploymentStats
    drills: tuple[Drill, ...]
    """The drills in the window, oldest first."""

    @property
    def ignored(self) -> int:
        """Apply records in the window that are no rollback (dry runs, refusals, drills)."""
        return sum(self.not_counted.values())

    @property
    def skipped(self) -> int:
        """How many records were corrupt or unreadable."""
        return len(self.corrupt)

    @property
    def attempts(self) -> int:
        """The attempts of the window's infrastructure rollbacks."""
        return sum(len(r.attempts) for r in self.rollbacks)


def _in(moment: datetime, since: datetime, now: datetime) -> bool:
    return since <= moment <= now


def _warn(corrupt: list[Corrupt], record: AuditRecord, problem: str) -> None:
    corrupt.append(Corrupt(stored_as(record), problem))
    warnings.warn(
        f"corrupt {record.kind} record {record.id} ({record.environment}): {problem}",
        MetricsWarning,
        stacklevel=3,
    )


def compute(
    records: Iterable[AuditRecord], since: datetime, now: datetime, environment: str = ""
) -> Metrics:
    """The metrics of the records of ``environment`` (all when empty) for ``since`` ..
    ``now``. A malformed record (a NaN or an Infinity included), whenever it was written,
    is counted as corrupt, with a MetricsWarning naming it and its first bad field."""
    since, now = aware(since, "since"), aware(now, "now")
    if since >= now:
        raise ValueError(f"the window is empty: since {since:%Y-%m-%d %H:%M}Z is not before now")
    chosen = [
        r
        for r in records
        if (not environment or r.environment == environment) and r.kind in READ_KINDS
    ]
    corrupt: list[Corrupt] = []
    drills: list[Drill] = []
    for record in (r for r in chosen if r.kind == DRILL):
        try:
            drills.append(Drill.from_record(record))
        except (ValueError, TypeError) as error:
            _warn(corrupt, record, str(error))
    read = read_attempts(chosen)
    for record, problem in read.corrupt:
        _warn(corrupt, record, problem)
    deployments = read_deployments(chosen)
    for record, problem in deployments.corrupt:
        _warn(corrupt, record, problem)
    not_counted: Counter[str] = Counter()
    not_counted[DRY_RUNS] = sum(_in(r.recorded_at, since, now) for r in read.dry_runs)
    kept = []
    for attempt in read.attempts:
        if drill_attempt(attempt, drills):
            not_counted[DRILLS] += _in(attempt.started_at, since, now)
        else:
            kept.append(attempt)
    incidents = group(kept)
    not_counted[REFUSED] = sum(not i.counted and _in(i.started_at, since, now) for i in incidents)
    marks = [r for r in chosen if r.kind == KNOWN_GOOD]
    infra = with_recovery(
        [i for i in incidents if i.counted and i.family == INFRA],
        deployments.deployments,
        marks,
    )
    undone = {r.deployment: r.id for r in infra if r.deployment}
    rollbacks = tuple(r for r in infra if _in(r.started_at, since, now))
    data = tuple(
        i for i in incidents if i.counted and i.family == DATA and _in(i.started_at, since, now)
    )
    return _metrics(
        environment or _only({r.environment for r in chosen}),
        since,
        now,
        rollbacks,
        data,
        dict(not_counted),
        tuple(corrupt),
        len(chosen),
        DeploymentStats(
            recorded=bool(deployments.deployments),
            deployments=tuple(
                replace(d, rolled_back_by=undone.get(d.id))
                for d in deployments.deployments
                if _in(d.started_at, since, now)
            ),
            per_month={},
            weeks=(now - since).total_seconds() / (7 * 86400),
        ),
        tuple(sorted((d for d in drills if _in(d.started_at, since, now)), key=_drill_order)),
    )


def _drill_order(drill: Drill) -> tuple[datetime, str]:
    return drill.started_at, drill.id


def _only(names: set[str]) -> str:
    return names.pop() if len(names) == 1 else ""


def _metrics(
    environment: str,
    since: datetime,
    now: datetime,
    rollbacks: tuple[Rollback, ...],
    data: tuple[Rollback, ...],
    not_counted: Mapping[str, int],
    corrupt: tuple[Corrupt, ...],
    history: int,
    deployments: DeploymentStats,
    drills: tuple[Drill, ...],
) -> Metrics:
    """The figures of the window's rollbacks and deployments."""
    per_month = {month(m): 0 for m in months(since, now)}
    per_quarter = {quarter(m): 0 for m in months(since, now)}
    for rollback in rollbacks:
        per_month[month(rollback.started_at)] += 1
        per_quarter[quarter(rollback.started_at)] += 1
    deployed = dict.fromkeys(per_month, 0)
    for deployment in deployments.finished:
        deployed[month(deployment.started_at)] += 1
    successes = sum(r.first_attempt_success for r in rollbacks)
    recovered = [r for r in rollbacks if r.recovery_seconds is not None]
    recoveries = [s for r in recovered if (s := r.recovery_seconds) is not None]
    return Metrics(
        environment=environment,
        since=since,
        now=now,
        rollbacks=rollbacks,
        not_counted={k: v for k, v in not_counted.items() if v},
        corrupt=corrupt,
        history=history,
        per_month=per_month,
        per_quarter=per_quarter,
        automated=_durations([r for r in rollbacks if r.automated]),
        manual=_durations([r for r in rollbacks if not r.automated]),
        first_attempt_successes=successes,
        first_attempt_success_rate=successes / len(rollbacks) if rollbacks else None,
        mttr_samples=len(recoveries),
        mttr_mean_seconds=statistics.fmean(recoveries) if recoveries else None,
        mttr_median_seconds=float(statistics.median(recoveries)) if recoveries else None,
        mttr_starts=dict(Counter(r.mttr_start for r in recovered)),
        mttr_unverified=sum(r.green_source == NOT_VERIFIED for r in recovered),
        data_rollbacks=data,
        data_duration=_durations(list(data)),
        deployments=replace(deployments, per_month=deployed),
        drills=drills,
    )
