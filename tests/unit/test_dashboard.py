"""The dashboard body (pure) and the one-line errors of ``--publish`` (no AWS: stubs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest

from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.metrics.dashboard import dashboard_body, dashboard_name
from pytest_ohpen.metrics.figures import compute


def test_the_body_has_the_three_panels_with_the_targets_on_the_duration_axes() -> None:
    body = dashboard_body("prod", "eu-west-1")

    assert json.loads(json.dumps(body)) == body  # JSON as it is, no datetime or tuple
    assert body["start"] == "-P30D"
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == [
        "Deployment success/failure count (30 days)",
        "Rollback count and duration",
        "MTTR trend",
    ]
    rollbacks, mttr = body["widgets"][1]["properties"], body["widgets"][2]["properties"]
    # the duration targets sit on the axis the duration lines use, not the count axis
    durations = [
        line for line in rollbacks["metrics"] if line[1] == "RollbackDurationMedianSeconds"
    ]
    assert {line[-1]["yAxis"] for line in durations} == {"right"}
    assert [(a["value"], a["yAxis"]) for a in rollbacks["annotations"]["horizontal"]] == [
        (600, "right"),
        (1800, "right"),
    ]
    assert [a["value"] for a in mttr["annotations"]["horizontal"]] == [3600]
    # side by side, not stacked on one spot
    assert len({(w["x"], w["y"]) for w in body["widgets"]}) == 3


def test_the_name_is_per_environment_and_a_valid_dashboard_name() -> None:
    assert dashboard_name("prod") == "ohpen-rollback-prod"
    assert dashboard_name("eu.prod 2") == "ohpen-rollback-eu-prod-2"


class Cloudwatch:
    """A CloudWatch client that takes the datapoints and refuses the dashboard."""

    class meta:  # botocore's attribute name
        region_name = "eu-west-1"

    def __init__(self) -> None:
        self.datapoints: list[Any] = []

    def put_metric_data(self, **call: Any) -> None:
        self.datapoints.extend(call["MetricData"])

    def put_dashboard(self, **call: Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "PutDashboard"
        )


class Run:
    def __init__(self, cloudwatch: Cloudwatch) -> None:
        self.clients = self
        self.cloudwatch = cloudwatch

    def client(self, name: str) -> Cloudwatch:
        assert name == "cloudwatch"
        return self.cloudwatch


def test_access_denied_on_the_dashboard_is_one_line_naming_put_dashboard() -> None:
    now = datetime(2024, 9, 30, tzinfo=UTC)
    figures = compute([], datetime(2024, 7, 1, tzinfo=UTC), now, environment="prod")
    cloudwatch = Cloudwatch()

    with pytest.raises(OhpenError) as raised:
        cli_metrics._publish(Run(cloudwatch), "prod", figures)  # type: ignore[arg-type]

    message = str(raised.value)
    assert "\n" not in message
    assert "AccessDenied" in message
    assert "the caller needs cloudwatch:PutDashboard" in message
    assert "ohpen-rollback-prod" in message
    assert cloudwatch.datapoints  # the datapoints went first and the message says so
    assert "datapoints were published" in message
