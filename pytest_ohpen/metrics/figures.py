"""The figures of the playbook's "Rollback Metrics & Monitoring", computed from the records.

Pure functions of the audit records and a window, so the figures can be recomputed at
any time and never disagree with the incident log (which incidents count, and how: see
:mod:`pytest_ohpen.metrics.records`).

Medians are the usual median (the mean of the two middle values for an even count);
p90 is nearest-rank (the smallest observed value with at least 90 % of the values at or
below it), so it is always a duration that really happened.
"""

from __future__ import annotations

import re
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pytest_ohpen.metrics.records import (
    DRILL,
    INCIDENT,
    Corrupt,
    Drill,
    Rollback,
    require_finite,
    started_at,
    stored_as,
)
from pytest_ohpen.records.store import KNOWN_GOOD, AuditRecord

P90 = 90
_SINCE = re.compile(r"^\s*(\d+)\s*([dwm])\s*$", re.IGNORECASE)
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30}
MAX_WINDOW_DAYS = 3660
"""The longest look-back ``--since`` accepts (about ten years): older history is not a
figure anyone acts on, and a bound keeps every date computed from it representable."""


class MetricsWarning(UserWarning):
    """An incident or drill record is corrupt: a field the metrics need is malformed."""


@dataclass(frozen=True)
class DurationStats:
    """How long one kind of rollback took: count, median and nearest-rank p90 (seconds)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationStats:
        """The figures of ``seconds``; None for both when there is no sample."""
        if not seconds:
            return cls(0, None, None)
        return cls(len(seconds), float(statistics.median(seconds)), nearest_rank(seconds, P90))


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
class Metrics:
    """Every figure for one environment over ``since`` .. ``now`` (aware UTC datetimes)."""

    environment: str
    since: datetime
    now: datetime
    rollbacks: tuple[Rollback, ...]
    """The counted rollbacks in the window, oldest first."""
    ignored: int
    """Incidents in the window that are no rollback (dry runs, refusals)."""
    corrupt: tuple[Corrupt, ...]
    """Incident and drill records that could not be used (each one warned about); the
    command adds the ones the audit store could not read."""
    history: int
    """Incident, drill and known-good records of the environment at any time, malformed
    ones included: none means nothing was ever recorded here, so even a count of 0
    rollbacks is no measurement (a wrong audit directory reads like a quiet quarter)."""
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
    drills: tuple[Drill, ...]
    """The drills in the window, oldest first."""

    @property
    def skipped(self) -> int:
        """How many records were corrupt or unreadable."""
        return len(self.corrupt)


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _quarter(moment: datetime) -> str:
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


def months(since: datetime, now: datetime) -> list[datetime]:
    """The first instant of every month from ``since``'s to ``now``'s, inclusive."""
    year, month = since.year, since.month
    months = []
    while (year, month) <= (now.year, now.month):
        months.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def compute(
    records: Iterable[AuditRecord], since: datetime, now: datetime, environment: str = ""
) -> Metrics:
    """The metrics of the incident and drill records that started in ``since`` .. ``now``.

    Known-good records only count towards ``history``; other kinds are ignored, and so are
    other environments when ``environment`` is given. A malformed record (a NaN or an
    Infinity included) is counted as corrupt, with a MetricsWarning naming it and its first
    bad field.
    """
    since, now = _aware(since, "since"), _aware(now, "now")
    if since >= now:
        raise ValueError(f"the window is empty: since {since:%Y-%m-%d %H:%M}Z is not before now")
    rollbacks: list[Rollback] = []
    drills: list[Drill] = []
    ignored = history = 0
    corrupt: list[Corrupt] = []
    seen: set[str] = set()
    for record in records:
        if environment and record.environment != environment:
            continue
        if record.kind in (INCIDENT, DRILL, KNOWN_GOOD):
            history += 1
        if record.kind not in (INCIDENT, DRILL):
            continue
        seen.add(record.environment)
        try:
            started = started_at(record)
            if not since <= started <= now:
                continue
            require_finite(record.data)
            if record.kind == DRILL:
                drills.append(Drill.from_record(record))
            elif (rollback := Rollback.from_record(record)) is None:
                ignored += 1
            else:
                rollbacks.append(rollback)
        except ValueError as error:
            corrupt.append(Corrupt(stored_as(record), str(error)))
            warnings.warn(
                f"corrupt {record.kind} record {record.id} ({record.environment}): {error}",
                MetricsWarning,
                stacklevel=2,
            )
    rollbacks.sort(key=lambda r: (r.started_at, r.id))
    drills.sort(key=lambda d: (d.started_at, d.id))
    per_month = {_month(m): 0 for m in months(since, now)}
    per_quarter = {_quarter(m): 0 for m in months(since, now)}
    for rollback in rollbacks:
        per_month[_month(rollback.started_at)] += 1
        per_quarter[_quarter(rollback.started_at)] += 1
    successes = sum(r.first_attempt_success for r in rollbacks)
    recoveries = [s for r in rollbacks if (s := r.recovery_seconds) is not None]
    return Metrics(
        environment=environment or (seen.pop() if len(seen) == 1 else ""),
        since=since,
        now=now,
        rollbacks=tuple(rollbacks),
        ignored=ignored,
        corrupt=tuple(corrupt),
        history=history,
        per_month=per_month,
        per_quarter=per_quarter,
        automated=DurationStats.of([r.duration_seconds for r in rollbacks if r.automated]),
        manual=DurationStats.of([r.duration_seconds for r in rollbacks if not r.automated]),
        first_attempt_successes=successes,
        first_attempt_success_rate=successes / len(rollbacks) if rollbacks else None,
        mttr_samples=len(recoveries),
        mttr_mean_seconds=statistics.fmean(recoveries) if recoveries else None,
        mttr_median_seconds=float(statistics.median(recoveries)) if recoveries else None,
        drills=tuple(drills),
    )


def parse_since(text: str) -> timedelta | datetime:
    """``--since``: a look-back ("90d", "12w", "6m"; a month is 30 days) of at most
    MAX_WINDOW_DAYS, or an ISO date or datetime (zone-less means UTC). ValueError in one
    line for anything else."""
    expected = "expected a look-back like 90d, 12w or 6m, or an ISO date like 2024-07-01"
    found = _SINCE.match(text)
    if found:
        digits, unit = found.group(1), found.group(2).lower()
        count = int(digits) if len(digits) <= 6 else MAX_WINDOW_DAYS + 1  # no huge ints
        if count == 0:
            raise ValueError(f"{text!r}: the look-back must be at least 1 ({expected})")
        if count * _DAYS_PER_UNIT[unit] > MAX_WINDOW_DAYS:
            raise ValueError(
                f"{text!r}: the look-back must be at most {MAX_WINDOW_DAYS} days (about ten years)"
            )
        return timedelta(days=count * _DAYS_PER_UNIT[unit])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: {expected}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def window_start(since: timedelta | datetime, now: datetime) -> datetime:
    """The window's first instant for a parsed ``--since``, relative to ``now``."""
    if isinstance(since, timedelta):
        return _aware(now, "now") - since
    return _aware(since, "since")


def window(text: str, now: datetime) -> datetime:
    """The first instant of the window ``--since TEXT`` asks for, which must start before
    ``now`` and at most MAX_WINDOW_DAYS earlier; ValueError in one line naming TEXT."""
    start = window_start(parse_since(text), now)
    if start >= now:
        raise ValueError(f"{text!r}: the window must start before now")
    if now - start > timedelta(days=MAX_WINDOW_DAYS):
        raise ValueError(
            f"{text!r}: the window must start at most {MAX_WINDOW_DAYS} days (about ten "
            f"years) before now, i.e. on or after {now - timedelta(days=MAX_WINDOW_DAYS):%Y-%m-%d}"
        )
    return start


def duration_text(seconds: float | None) -> str:
    """``seconds`` as "45s", "8m 20s" or "1h 05m 00s"; "-" for no data."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
