"""The playbook's "Rollback Metrics & Monitoring" figures, computed from the audit store.

The incident and drill records are the only source, so the figures can be recomputed
at any time and never disagree with the incident log. Everything here is a pure
function of the records and a window, except :func:`chart_png` (writes a file) and
:func:`publish` (sends the figures to CloudWatch).

Which incidents count, and how (the rules a reviewer needs to check a figure by hand):

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

Medians are the usual median (the mean of the two middle values for an even count);
p90 is nearest-rank (the smallest observed value with at least 90 % of the values at or
below it), so it is always a duration that really happened.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import struct
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_ohpen.records.store import AuditRecord
from pytest_ohpen.util.files import write_atomic

SCHEMA_VERSION = 1
"""The version of :func:`to_json`'s layout."""
INCIDENT = "incident"
DRILL = "drill"
NAMESPACE = "Ohpen/Rollback"
"""The CloudWatch namespace :func:`publish` writes to."""

AUTOMATED_TARGET_SECONDS = 600.0
MANUAL_TARGET_SECONDS = 1800.0
SUCCESS_RATE_TARGET_PERCENT = 95
MTTR_TARGET_SECONDS = 3600.0
MONTHLY_ALERT = 2
"""More rollbacks than this in one month "indicates CI/CD issues" (the playbook's alert)."""
P90 = 90

_FAILED_VERIFICATION = ("smoke tests failed", "smoke tests timed out")
_INITIATORS = ("trigger", "operator")
_SINCE = re.compile(r"^\s*(\d+)\s*([dwm])\s*$", re.IGNORECASE)
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30}


class MetricsWarning(UserWarning):
    """An incident or drill record was skipped because a field the metrics need is malformed."""


# ---------------------------------------------------------------- records


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
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key}: expected a non-negative number of seconds, got {value!r}")
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


# ---------------------------------------------------------------- figures


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
    skipped: int
    """Malformed incident and drill records (each one warned about)."""
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


def _month(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _quarter(moment: datetime) -> str:
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


def _months(since: datetime, now: datetime) -> list[datetime]:
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

    Other kinds are ignored, and so are other environments when ``environment`` is given.
    A malformed record is skipped with a MetricsWarning naming it and its first bad field.
    """
    since, now = _aware(since, "since"), _aware(now, "now")
    if since >= now:
        raise ValueError(f"the window is empty: since {since:%Y-%m-%d %H:%M}Z is not before now")
    rollbacks: list[Rollback] = []
    drills: list[Drill] = []
    ignored = skipped = 0
    seen: set[str] = set()
    for record in records:
        if environment and record.environment != environment:
            continue
        if record.kind not in (INCIDENT, DRILL):
            continue
        seen.add(record.environment)
        try:
            started = _moment(record.data, "started_at")
            if not since <= started <= now:
                continue
            if record.kind == DRILL:
                drills.append(Drill.from_record(record))
            elif (rollback := Rollback.from_record(record)) is None:
                ignored += 1
            else:
                rollbacks.append(rollback)
        except ValueError as error:
            skipped += 1
            warnings.warn(
                f"skipping {record.kind} record {record.id} ({record.environment}): {error}",
                MetricsWarning,
                stacklevel=2,
            )
    rollbacks.sort(key=lambda r: (r.started_at, r.id))
    drills.sort(key=lambda d: (d.started_at, d.id))
    per_month = {_month(m): 0 for m in _months(since, now)}
    per_quarter = {_quarter(m): 0 for m in _months(since, now)}
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
        skipped=skipped,
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
    """``--since``: a look-back ("90d", "12w", "6m"; a month is 30 days) or an ISO date or
    datetime (zone-less means UTC). ValueError in one line for anything else."""
    expected = "expected a look-back like 90d, 12w or 6m, or an ISO date like 2024-07-01"
    found = _SINCE.match(text)
    if found:
        count = int(found.group(1))
        if count == 0:
            raise ValueError(f"{text!r}: the look-back must be at least 1 ({expected})")
        return timedelta(days=count * _DAYS_PER_UNIT[found.group(2).lower()])
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


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetResult:
    """One playbook target: the measured ``value`` (None: no data, which counts as met)."""

    name: str
    value: float | None
    target: str
    ok: bool
    detail: str = ""

    @property
    def no_data(self) -> bool:
        """Nothing was measured, so nothing can be breached."""
        return self.value is None


def _no_data(name: str, target: str) -> TargetResult:
    return TargetResult(name, None, target, True, "no data")


def _duration_target(name: str, stats: DurationStats, limit: float) -> TargetResult:
    target = f"< {limit / 60:g} min"
    if stats.median_seconds is None:
        return _no_data(name, target)
    detail = f"{duration_text(stats.median_seconds)} over {stats.count}"
    return TargetResult(name, stats.median_seconds, target, stats.median_seconds <= limit, detail)


def _busiest(counts: Mapping[str, int], above: int) -> str:
    over = [f"{key}: {n}" for key, n in counts.items() if n > above]
    return ", ".join(over) if over else f"max {max(counts.values(), default=0)}"


def targets(metrics: Metrics) -> list[TargetResult]:
    """The six playbook targets, in the playbook's order, each met or breached.

    Breached: a quarter with any rollback (< 1 per quarter); a month with more than 2
    (the alert); a duration median above 10 min (automated) or 30 min (manual); a
    first-attempt success rate of 95 % or less; a mean MTTR of 1 h or more.
    """
    quarterly = max(metrics.per_quarter.values(), default=0)
    monthly = max(metrics.per_month.values(), default=0)
    results = [
        TargetResult(
            "rollbacks per quarter",
            float(quarterly),
            "< 1 per quarter",
            quarterly < 1,
            _busiest(metrics.per_quarter, 0),
        ),
        TargetResult(
            "rollbacks per month (alert)",
            float(monthly),
            f"alert at > {MONTHLY_ALERT} per month",
            monthly <= MONTHLY_ALERT,
            _busiest(metrics.per_month, MONTHLY_ALERT),
        ),
        _duration_target(
            "automated rollback duration (median)", metrics.automated, AUTOMATED_TARGET_SECONDS
        ),
        _duration_target(
            "manual rollback duration (median)", metrics.manual, MANUAL_TARGET_SECONDS
        ),
    ]
    name, target = "first-attempt success rate", f"> {SUCCESS_RATE_TARGET_PERCENT} %"
    count = len(metrics.rollbacks)
    if metrics.first_attempt_success_rate is None:
        results.append(_no_data(name, target))
    else:
        successes = metrics.first_attempt_successes
        results.append(
            TargetResult(
                name,
                metrics.first_attempt_success_rate,
                target,
                # integers, so exactly 95 % (19 of 20) is a breach without float doubt
                successes * 100 > SUCCESS_RATE_TARGET_PERCENT * count,
                f"{successes}/{count} ({metrics.first_attempt_success_rate * 100:.1f} %)",
            )
        )
    name, target = "MTTR (mean)", f"< {MTTR_TARGET_SECONDS / 3600:g} h"
    if metrics.mttr_mean_seconds is None:
        results.append(_no_data(name, target))
    else:
        results.append(
            TargetResult(
                name,
                metrics.mttr_mean_seconds,
                target,
                metrics.mttr_mean_seconds < MTTR_TARGET_SECONDS,
                f"{duration_text(metrics.mttr_mean_seconds)} over {metrics.mttr_samples} "
                f"recover{'y' if metrics.mttr_samples == 1 else 'ies'}",
            )
        )
    return results


def breached(results: Iterable[TargetResult]) -> list[TargetResult]:
    """The targets that were missed (what a scheduled job alerts on)."""
    return [result for result in results if not result.ok]


# ---------------------------------------------------------------- renderers


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


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _window_text(metrics: Metrics) -> str:
    days = (metrics.now - metrics.since).total_seconds() / 86400
    return f"{metrics.since:%Y-%m-%d %H:%M}Z to {metrics.now:%Y-%m-%d %H:%M}Z ({days:.0f} days)"


def _summary(metrics: Metrics) -> str:
    automated = sum(r.automated for r in metrics.rollbacks)
    text = (
        f"{len(metrics.rollbacks)} rollbacks ({automated} automated, "
        f"{len(metrics.rollbacks) - automated} manual); "
        f"not counted (dry runs, refusals): {metrics.ignored}"
    )
    if metrics.skipped:
        text += f"; malformed records skipped: {metrics.skipped}"
    return text


def _targets_of(metrics: Metrics, results: Sequence[TargetResult] | None) -> list[TargetResult]:
    return list(results) if results is not None else targets(metrics)


def _drill_cells(drill: Drill) -> list[str]:
    return [
        f"{drill.started_at:%Y-%m-%d}",
        drill.fault,
        "passed" if drill.passed else "FAILED",
        "yes" if drill.first_attempt_success else "no",
        duration_text(drill.time_to_detect_seconds),
        duration_text(drill.rollback_seconds),
        duration_text(drill.time_to_green_seconds),
    ]


_DRILL_HEADER = ["date", "fault", "result", "first attempt", "detect", "rollback", "green"]


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def to_table(metrics: Metrics, results: Sequence[TargetResult] | None = None) -> str:
    """The metrics and targets as plain text for a terminal or a job log."""
    results = _targets_of(metrics, results)
    title = f"Rollback metrics: {metrics.environment}, " if metrics.environment else "Rollback "
    lines = [
        f"{title}{_window_text(metrics)}",
        _summary(metrics),
        "",
        "per month:   " + "  ".join(f"{k} {v}" for k, v in metrics.per_month.items()),
        "per quarter: " + "  ".join(f"{k} {v}" for k, v in metrics.per_quarter.items()),
        "",
    ]
    lines += _columns(
        [["duration", "count", "median", "p90 (nearest-rank)"]]
        + [
            [label, str(s.count), duration_text(s.median_seconds), duration_text(s.p90_seconds)]
            for label, s in (("automated", metrics.automated), ("manual", metrics.manual))
        ]
    )
    rate = metrics.first_attempt_success_rate
    lines += [
        "",
        "first-attempt success: "
        + (
            "no data"
            if rate is None
            else f"{metrics.first_attempt_successes}/{len(metrics.rollbacks)} ({rate * 100:.1f} %)"
        ),
        f"MTTR: mean {duration_text(metrics.mttr_mean_seconds)}, "
        f"median {duration_text(metrics.mttr_median_seconds)} "
        f"({metrics.mttr_samples} recoveries)",
        "",
    ]
    if metrics.drills:
        lines.append("drills:")
        lines += [
            "  " + line for line in _columns([_DRILL_HEADER, *map(_drill_cells, metrics.drills)])
        ]
    else:
        lines.append("drills: none in the window")
    lines += ["", "targets:"]
    lines += [
        "  " + line
        for line in _columns(
            [["ok" if r.ok else "BREACH", r.name, r.detail, f"target {r.target}"] for r in results]
        )
    ]
    return "\n".join(lines) + "\n"


def _rollback_json(rollback: Rollback) -> dict[str, Any]:
    return {
        "id": rollback.id,
        "started_at": _stamp(rollback.started_at),
        "finished_at": _stamp(rollback.finished_at),
        "detected_at": _stamp(rollback.detected_at),
        "automated": rollback.automated,
        "outcome": rollback.outcome,
        "verification": rollback.verification,
        "duration_seconds": rollback.duration_seconds,
        "first_attempt_success": rollback.first_attempt_success,
        "recovery_seconds": rollback.recovery_seconds,
    }


def _drill_json(drill: Drill) -> dict[str, Any]:
    return {
        "id": drill.id,
        "date": f"{drill.started_at:%Y-%m-%d}",
        "started_at": _stamp(drill.started_at),
        "finished_at": _stamp(drill.finished_at),
        "fault": drill.fault,
        "passed": drill.passed,
        "first_attempt_success": drill.first_attempt_success,
        "time_to_detect_seconds": drill.time_to_detect_seconds,
        "rollback_seconds": drill.rollback_seconds,
        "time_to_green_seconds": drill.time_to_green_seconds,
    }


def _stats_json(stats: DurationStats) -> dict[str, Any]:
    return {
        "count": stats.count,
        "median_seconds": stats.median_seconds,
        "p90_seconds": stats.p90_seconds,
    }


def to_json(metrics: Metrics, results: Sequence[TargetResult] | None = None) -> str:
    """The metrics and targets as a JSON document (``schema_version`` 1), for dashboards."""
    results = _targets_of(metrics, results)
    document = {
        "schema_version": SCHEMA_VERSION,
        "environment": metrics.environment,
        "since": _stamp(metrics.since),
        "now": _stamp(metrics.now),
        "ok": not breached(results),
        "rollbacks": {
            "count": len(metrics.rollbacks),
            "automated": sum(r.automated for r in metrics.rollbacks),
            "manual": sum(not r.automated for r in metrics.rollbacks),
            "ignored": metrics.ignored,
            "skipped": metrics.skipped,
            "per_month": dict(metrics.per_month),
            "per_quarter": dict(metrics.per_quarter),
            "items": [_rollback_json(r) for r in metrics.rollbacks],
        },
        "duration": {
            "method": "median: middle value (mean of the two middle ones); p90: nearest-rank",
            "automated": _stats_json(metrics.automated),
            "manual": _stats_json(metrics.manual),
        },
        "first_attempt_success": {
            "successes": metrics.first_attempt_successes,
            "count": len(metrics.rollbacks),
            "rate": metrics.first_attempt_success_rate,
        },
        "mttr": {
            "samples": metrics.mttr_samples,
            "mean_seconds": metrics.mttr_mean_seconds,
            "median_seconds": metrics.mttr_median_seconds,
        },
        "drills": [_drill_json(d) for d in metrics.drills],
        "targets": [
            {
                "name": r.name,
                "value": r.value,
                "target": r.target,
                "ok": r.ok,
                "no_data": r.no_data,
                "detail": r.detail,
            }
            for r in results
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in rows[0]) + " |"]
    lines.append("|" + "|".join("---" for _ in rows[0]) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[1:]]
    return lines


def to_markdown(metrics: Metrics, results: Sequence[TargetResult] | None = None) -> str:
    """The metrics and targets as Markdown, for a report or a pull-request comment."""
    results = _targets_of(metrics, results)
    rate = metrics.first_attempt_success_rate
    lines = [
        f"# Rollback metrics{': ' + metrics.environment if metrics.environment else ''}",
        "",
        f"{_window_text(metrics)}. {_summary(metrics)}.",
        "",
        "## Targets",
        "",
        *_md_table(
            [["Target", "Measured", "Playbook", "Status"]]
            + [[r.name, r.detail, r.target, "met" if r.ok else "**breached**"] for r in results]
        ),
        "",
        "## Rollbacks per month",
        "",
        *_md_table([["Month", "Rollbacks"]] + [[k, str(v)] for k, v in metrics.per_month.items()]),
        "",
        "## Rollbacks per quarter",
        "",
        *_md_table(
            [["Quarter", "Rollbacks"]] + [[k, str(v)] for k, v in metrics.per_quarter.items()]
        ),
        "",
        "## Duration and recovery",
        "",
        *_md_table(
            [["", "Count", "Median", "p90 (nearest-rank)"]]
            + [
                [label, str(s.count), duration_text(s.median_seconds), duration_text(s.p90_seconds)]
                for label, s in (("Automated", metrics.automated), ("Manual", metrics.manual))
            ]
        ),
        "",
        "First-attempt success: "
        + (
            "no data"
            if rate is None
            else f"{metrics.first_attempt_successes}/{len(metrics.rollbacks)} ({rate * 100:.1f} %)"
        )
        + f". MTTR: mean {duration_text(metrics.mttr_mean_seconds)}, median "
        f"{duration_text(metrics.mttr_median_seconds)} ({metrics.mttr_samples} recoveries).",
        "",
        "## Drills",
        "",
    ]
    if metrics.drills:
        lines += _md_table(
            [[h.capitalize() for h in _DRILL_HEADER], *map(_drill_cells, metrics.drills)]
        )
    else:
        lines.append("No drill in the window.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- chart

CHART_WIDTH, CHART_HEIGHT = 720, 360
WHITE = (255, 255, 255)
AXIS = (40, 40, 40)
GRID = (228, 228, 228)
QUARTER_GRID = (170, 170, 170)
AUTOMATED_COLOUR = (31, 119, 180)
"""Blue: automated rollback durations (squares) and their 10 min target (dashed line)."""
MANUAL_COLOUR = (255, 127, 14)
"""Orange: manual rollback durations (squares) and their 30 min target (dashed line)."""
MTTR_COLOUR = (214, 39, 40)
"""Red: the running mean MTTR (solid step line) and the 1 h target (dashed line)."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 16, 16, 30


class _Canvas:
    """An RGB raster with the few drawing operations the chart needs (clipped)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def dot(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = (y * self.width + x) * 3
            self.pixels[at : at + 3] = bytes(colour)

    def hline(self, x0: int, x1: int, y: int, colour: tuple[int, int, int], dash: int = 0) -> None:
        for x in range(x0, x1 + 1):
            if not dash or (x - x0) // dash % 2 == 0:
                self.dot(x, y, colour)

    def vline(self, x: int, y0: int, y1: int, colour: tuple[int, int, int]) -> None:
        for y in range(y0, y1 + 1):
            self.dot(x, y, colour)

    def square(self, x: int, y: int, r: int, colour: tuple[int, int, int], filled: bool) -> None:
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if filled or abs(dx) == r or abs(dy) == r:
                    self.dot(x + dx, y + dy, colour)

    def png(self) -> bytes:
        """The raster as a PNG: 8-bit RGB, no interlace, filter 0 on every row."""
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def _grid_step(top: float) -> float:
    """Horizontal grid spacing in seconds: the finest of 10 min, 30 min, 1 h, ... with <= 12."""
    for step in (600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0):
        if top / step <= 12:
            return step
    return float(math.ceil(top / 12 / 86400) * 86400)


def chart_bytes(metrics: Metrics) -> bytes:
    """The chart as PNG bytes; see :func:`chart_png`."""
    canvas = _Canvas(CHART_WIDTH, CHART_HEIGHT)
    x0, x1 = _LEFT, CHART_WIDTH - _RIGHT
    y0, y1 = _TOP, CHART_HEIGHT - _BOTTOM
    span = (metrics.now - metrics.since).total_seconds()
    values = [r.duration_seconds for r in metrics.rollbacks]
    top = max([*values, AUTOMATED_TARGET_SECONDS, MANUAL_TARGET_SECONDS, MTTR_TARGET_SECONDS])
    top *= 1.1

    def x_of(moment: datetime) -> int:
        return x0 + round((moment - metrics.since).total_seconds() / span * (x1 - x0))

    def y_of(seconds: float) -> int:
        return y1 - round(seconds / top * (y1 - y0))

    step = _grid_step(top)
    level = step
    while level < top:
        canvas.hline(x0, x1, y_of(level), GRID)
        level += step
    for month in _months(metrics.since, metrics.now):
        if month > metrics.since:
            colour = QUARTER_GRID if month.month % 3 == 1 else GRID
            canvas.vline(x_of(month), y0, y1, colour)
    for limit, colour in (
        (AUTOMATED_TARGET_SECONDS, AUTOMATED_COLOUR),
        (MANUAL_TARGET_SECONDS, MANUAL_COLOUR),
        (MTTR_TARGET_SECONDS, MTTR_COLOUR),
    ):
        for thickness in (0, 1):
            canvas.hline(x0, x1, y_of(limit) + thickness, colour, dash=8)
    for thickness in (0, 1):
        canvas.vline(x0 - thickness, y0, y1, AXIS)
        canvas.hline(x0, x1, y1 + thickness, AXIS)
    for rollback in metrics.rollbacks:
        x = x_of(rollback.started_at)
        colour = AUTOMATED_COLOUR if rollback.automated else MANUAL_COLOUR
        # hollow: the first attempt did not restore service
        canvas.square(x, y_of(rollback.duration_seconds), 4, colour, rollback.first_attempt_success)
    # MTTR over time: the running mean after each recovery, as a solid step line
    recoveries = sorted(
        (r.finished_at, s) for r in metrics.rollbacks if (s := r.recovery_seconds) is not None
    )
    total = 0.0
    for n, (finished, seconds) in enumerate(recoveries, start=1):
        previous = None if n == 1 else y_of(total / (n - 1))
        total += seconds
        x, y = x_of(min(finished, metrics.now)), y_of(total / n)
        end = x_of(min(recoveries[n][0], metrics.now)) if n < len(recoveries) else x1
        for thickness in (0, 1):
            if previous is not None:
                canvas.vline(x + thickness, min(previous, y), max(previous, y), MTTR_COLOUR)
            canvas.hline(x, end, y + thickness, MTTR_COLOUR)
    return canvas.png()


def chart_png(metrics: Metrics, path: Path) -> None:
    """Write a PNG of rollback durations and MTTR over the window, targets as dashed lines.

    No text is drawn (no font, no matplotlib): x is time (grey lines at month starts,
    darker at quarter starts), y is duration from 0 (grey lines every 10 min or coarser).
    Blue squares are automated rollbacks, orange manual ones (hollow: the first attempt
    failed); the solid red step line is the mean MTTR so far, after each recovery; the
    dashed lines are the 10 min (blue), 30 min (orange) and 1 h (red) targets. The file is
    replaced atomically.
    """
    write_atomic(Path(path), chart_bytes(metrics))


# ---------------------------------------------------------------- CloudWatch


def metric_data(environment: str, metrics: Metrics) -> list[dict[str, Any]]:
    """The CloudWatch datapoints :func:`publish` sends; figures without data are left out
    (a missing point is "no data" to an alarm, a zero would be a false measurement)."""
    dimensions = [{"Name": "Environment", "Value": environment}]
    stamp = metrics.now

    def point(name: str, value: float, unit: str, extra: Sequence[dict[str, str]] = ()) -> Any:
        return {
            "MetricName": name,
            "Dimensions": [*dimensions, *extra],
            "Timestamp": stamp,
            "Value": float(value),
            "Unit": unit,
        }

    data = [point("RollbackCount", len(metrics.rollbacks), "Count")]
    for mode, stats in (("Automated", metrics.automated), ("Manual", metrics.manual)):
        if stats.median_seconds is not None:
            data.append(
                point(
                    "RollbackDurationMedianSeconds",
                    stats.median_seconds,
                    "Seconds",
                    [{"Name": "Mode", "Value": mode}],
                )
            )
    if metrics.first_attempt_success_rate is not None:
        data.append(
            point("FirstAttemptSuccessRate", metrics.first_attempt_success_rate * 100, "Percent")
        )
    if metrics.mttr_mean_seconds is not None:
        data.append(point("MTTRSeconds", metrics.mttr_mean_seconds, "Seconds"))
    return data


def publish(cloudwatch: Any, environment: str, metrics: Metrics) -> list[dict[str, Any]]:
    """Put the figures to CloudWatch (namespace Ohpen/Rollback, dimension Environment, and
    Mode=Automated|Manual for the duration medians) so alarms and dashboards can use them.

    RollbackCount is the count over the metrics' window. Returns the datapoints sent.
    """
    data = metric_data(environment, metrics)
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    return data
