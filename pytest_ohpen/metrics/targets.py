"""The playbook's six rollback targets, each met or breached by the computed figures.

A figure without data counts as met: nothing measured cannot breach a target, and a
scheduled job must not alert on an environment that has had no rollback.
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
