"""The figures to CloudWatch, so alarms and dashboards can use them (the only AWS calls):
the datapoints (``PutMetricData``) and the playbook's dashboard over them (``PutDashboard``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pytest_ohpen.metrics.dashboard import (
    DEPLOYMENT_METRIC,
    NAMESPACE,
    dashboard_body,
    dashboard_name,
)
from pytest_ohpen.metrics.figures import Metrics

__all__ = ["NAMESPACE", "metric_data", "publish", "put_dashboard"]


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
    deployments = metrics.deployments
    if deployments.recorded:  # no deployment record at all: no data, not zero deployments
        for result, count in (
            ("Success", deployments.successes),
            ("Failure", deployments.failures),
        ):
            data.append(
                point(DEPLOYMENT_METRIC, count, "Count", [{"Name": "Result", "Value": result}])
            )
    return data


def publish(cloudwatch: Any, environment: str, metrics: Metrics) -> list[dict[str, Any]]:
    """Put the figures to CloudWatch (namespace Ohpen/Rollback, dimension Environment,
    Mode=Automated|Manual for the duration medians, Result=Success|Failure for
    DeploymentCount) so alarms and dashboards can use them.

    RollbackCount (infrastructure rollbacks, one per incident) and DeploymentCount are the
    counts over the metrics' window; a Failure is a deployment that failed or was rolled
    back. Returns the datapoints sent.
    """
    data = metric_data(environment, metrics)
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    return data


def put_dashboard(cloudwatch: Any, environment: str) -> tuple[str, list[str]]:
    """Create or replace the dashboard ``ohpen-rollback-<env>`` (PutDashboard replaces a
    dashboard of that name, so publishing again updates it, never duplicates it), in the
    client's region. Returns its name and CloudWatch's validation messages, if any."""
    name = dashboard_name(environment)
    body = dashboard_body(environment, str(cloudwatch.meta.region_name))
    answer = cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    messages = [
        str(message.get("Message", message))
        for message in answer.get("DashboardValidationMessages", [])
    ]
    return name, messages
