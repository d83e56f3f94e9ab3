"""The playbook's CloudWatch dashboard as data: three panels over the published metrics.

Pure (no AWS call): :func:`dashboard_body` returns the body :mod:`publish` sends with
``PutDashboard``, so the layout is tested without an account and JSON appears only at the
edge. The panels are the playbook's "CloudWatch Dashboard": deployment success/failure
count over 30 days, rollback count and duration, MTTR trend; its targets are horizontal
annotations, so a breach is visible without reading numbers.

Every figure is published as "the value over the metrics window, as of this run", so the
panels plot the ``Maximum`` of each day: a day's highest reading, never a sum of several
runs' overlapping windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.metrics.targets import (
    AUTOMATED_TARGET_SECONDS,
    MANUAL_TARGET_SECONDS,
    MTTR_TARGET_SECONDS,
)

NAMESPACE = "Ohpen/Rollback"
"""The CloudWatch namespace the metrics are published to (and the panels read)."""
DASHBOARD_PREFIX = "ohpen-rollback-"
DEPLOYMENT_METRIC = "DeploymentCount"
"""Deployments in the window by ``Result`` (Success, Failure): the first panel's metric."""
DEPLOYMENT_RESULTS = ("Success", "Failure")
PERIOD_SECONDS = 86400
"""One point per day on every panel."""
START = "-P30D"
"""The dashboard's default time range: the playbook's 30 days."""
DEPLOYMENTS_TITLE = "Deployment success/failure count (30 days)"
ROLLBACKS_TITLE = "Rollback count and duration"
MTTR_TITLE = "MTTR trend"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Panel:
    """One metric widget: its title, its metric lines and its target lines."""

    title: str
    metrics: tuple[tuple[Any, ...], ...]
    annotations: tuple[dict[str, Any], ...]
    y_axis: dict[str, Any]


def dashboard_name(environment: str) -> str:
    """``ohpen-rollback-<env>``: one dashboard per environment, replaced on each publish.
    Characters CloudWatch refuses in a dashboard name become ``-``."""
    return DASHBOARD_PREFIX + _UNSAFE.sub("-", environment)


def _line(
    environment: str, name: str, label: str, *dims: str, right: bool = False
) -> tuple[Any, ...]:
    """A metric line: namespace, name, the Environment dimension and ``dims`` (name, value
    pairs), with its legend label."""
    options: dict[str, Any] = {"label": label}
    if right:
        options["yAxis"] = "right"
    return (NAMESPACE, name, "Environment", environment, *dims, options)


def _target(label: str, seconds: float, *, right: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {"label": label, "value": seconds}
    if right:
        target["yAxis"] = "right"
    return target


def panels(environment: str) -> tuple[Panel, ...]:
    """The three panels of ``environment``, in the playbook's order."""
    seconds = {"label": "seconds", "showUnits": False, "min": 0}
    count = {"label": "count", "showUnits": False, "min": 0}
    deployments = Panel(
        DEPLOYMENTS_TITLE,
        tuple(
            _line(environment, DEPLOYMENT_METRIC, result.lower(), "Result", result)
            for result in DEPLOYMENT_RESULTS
        ),
        (),
        {"left": count},
    )
    rollbacks = Panel(
        ROLLBACKS_TITLE,
        (
            _line(environment, "RollbackCount", "rollbacks"),
            _line(
                environment,
                "RollbackDurationMedianSeconds",
                "automated median",
                "Mode",
                "Automated",
                right=True,
            ),
            _line(
                environment,
                "RollbackDurationMedianSeconds",
                "manual median",
                "Mode",
                "Manual",
                right=True,
            ),
        ),
        (
            _target("automated target 10 min", AUTOMATED_TARGET_SECONDS, right=True),
            _target("manual target 30 min", MANUAL_TARGET_SECONDS, right=True),
        ),
        {"left": count, "right": seconds},
    )
    mttr = Panel(
        MTTR_TITLE,
        (_line(environment, "MTTRSeconds", "MTTR (mean)"),),
        (_target("MTTR target 1 h", MTTR_TARGET_SECONDS),),
        {"left": seconds},
    )
    return deployments, rollbacks, mttr


def dashboard_body(environment: str, region: str) -> dict[str, Any]:
    """The ``DashboardBody`` (before ``json.dumps``) of ``environment``'s dashboard in
    ``region``: the three panels side by side, 30 days, a point a day."""
    widgets = []
    for index, panel in enumerate(panels(environment)):
        properties: dict[str, Any] = {
            "title": panel.title,
            "view": "timeSeries",
            "region": region,
            "stat": "Maximum",
            "period": PERIOD_SECONDS,
            "metrics": [list(line) for line in panel.metrics],
            "yAxis": panel.y_axis,
        }
        if panel.annotations:
            properties["annotations"] = {"horizontal": list(panel.annotations)}
        widgets.append(
            {
                "type": "metric",
                "x": 8 * index,
                "y": 0,
                "width": 8,
                "height": 6,
                "properties": properties,
            }
        )
    return {"start": START, "widgets": widgets}
