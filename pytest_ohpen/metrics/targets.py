"""The playbook's six rollback targets, each met, breached or without data.

A figure without data is neither met nor breached: nothing measured proves nothing, so
"no data" is its own state, never a met target. The frequency targets count 0 rollbacks
as a measurement only when the audit store holds incident, drill or known-good records
of the environment at all; without any, no target has data and the report's state is
"no data" (the command's own exit code), since an empty or wrong audit directory must
not read as a quiet quarter.

The playbook's targets cannot all have data and be met at once (a duration needs a
rollback, which breaches "< 1 per quarter"), so a quiet window is "ok" with its duration,
success-rate and MTTR rows shown as "no data".

The targets are the infrastructure's (data rollbacks have their own figures, no playbook
target). A measured row says what its number rests on: samples timed from the command's
start because no detection time was recorded, rollbacks that never restored service (no
duration), MTTR samples by where they start and those without green verification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pytest_ohpen.metrics.figures import DurationStats, Metrics, duration_text

AUTOMATED_TARGET_SECONDS = 600.0
MANUAL_TARGET_SECONDS = 1800.0
SUCCESS_RATE_TARGET_PERCENT = 95
MTTR_TARGET_SECONDS = 3600.0
MONTHLY_ALERT = 2
"""More rollbacks than this in one month "indicates CI/CD issues" (the playbook's alert)."""


MET, BREACHED, NO_DATA = "met", "breached", "no data"
"""The states of one target."""
OK, BREACH, CORRUPT = "ok", "breach", "corrupt"
"""The states of the whole report, besides NO_DATA (see :func:`overall`)."""


@dataclass(frozen=True)
class TargetResult:
    """One playbook target: the measured ``value`` (None: no data, never met) and ``ok``,
    whether the value meets the target."""

    name: str
    value: float | None
    target: str
    ok: bool
    detail: str = ""

    def __post_init__(self) -> None:
        if self.value is None and self.ok:
            raise ValueError(f"{self.name}: a target without data cannot be met")

    @property
    def no_data(self) -> bool:
        """Nothing was measured: neither met nor breached."""
        return self.value is None

    @property
    def state(self) -> str:
        """MET, BREACHED or NO_DATA."""
        return NO_DATA if self.no_data else MET if self.ok else BREACHED


def _no_data(name: str, target: str, detail: str = NO_DATA) -> TargetResult:
    return TargetResult(name, None, target, False, detail)


def _duration_target(name: str, stats: DurationStats, limit: float) -> TargetResult:
    target = f"< {limit / 60:g} min"
    unrestored = f"{stats.not_restored} not restored (no duration)" if stats.not_restored else ""
    if stats.median_seconds is None:
        return _no_data(name, target, f"{NO_DATA}; {unrestored}" if unrestored else NO_DATA)
    notes = [unrestored] if unrestored else []
    if stats.from_command_start:
        notes.append(
            f"{stats.from_command_start} timed from the command's start (no detection time "
            "recorded)"
        )
    detail = f"{duration_text(stats.median_seconds)} over {stats.count}" + "".join(
        f"; {note}" for note in notes
    )
    return TargetResult(name, stats.median_seconds, target, stats.median_seconds <= limit, detail)


def _mttr_detail(metrics: Metrics) -> str:
    """The MTTR row's measured value and what the samples start and stop at."""
    samples = metrics.mttr_samples
    starts = ", ".join(f"{n} {start}" for start, n in sorted(metrics.mttr_starts.items()))
    text = (
        f"{duration_text(metrics.mttr_mean_seconds)} over {samples} "
        f"recover{'y' if samples == 1 else 'ies'} (from: {starts})"
    )
    if metrics.mttr_unverified:
        text += f"; {metrics.mttr_unverified} to the restore (no green verification recorded)"
    return text


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
    quarter_target, month_target = "< 1 per quarter", f"alert at > {MONTHLY_ALERT} per month"
    if metrics.history:
        frequency = [
            TargetResult(
                "rollbacks per quarter",
                float(quarterly),
                quarter_target,
                quarterly < 1,
                _busiest(metrics.per_quarter, 0),
            ),
            TargetResult(
                "rollbacks per month (alert)",
                float(monthly),
                month_target,
                monthly <= MONTHLY_ALERT,
                _busiest(metrics.per_month, MONTHLY_ALERT),
            ),
        ]
    else:
        nothing = "nothing of the environment in the audit store"
        frequency = [
            _no_data("rollbacks per quarter", quarter_target, nothing),
            _no_data("rollbacks per month (alert)", month_target, nothing),
        ]
    results = [
        *frequency,
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
                _mttr_detail(metrics),
            )
        )
    return results


def breached(results: Iterable[TargetResult]) -> list[TargetResult]:
    """The targets that were missed (what a scheduled job alerts on)."""
    return [result for result in results if result.state == BREACHED]


def overall(results: Iterable[TargetResult], corrupt: int) -> str:
    """The report's state, the first that applies: CORRUPT (records could not be used, so
    no figure is proven, whatever it says), BREACH, NO_DATA (no target could be measured),
    else OK (no target breached; those without data are shown as such, not as met)."""
    results = list(results)
    if corrupt:
        return CORRUPT
    if breached(results):
        return BREACH
    if all(result.no_data for result in results):
        return NO_DATA
    return OK
