"""The figures to CloudWatch, so alarms and dashboards can use them (the only AWS call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_ohpen.metrics.figures import Metrics

NAMESPACE = "Ohpen/Rollback"
"""The CloudWatch namespace :func:`publish` writes to."""


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
