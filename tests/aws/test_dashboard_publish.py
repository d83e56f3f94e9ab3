"""``ohpen metrics --publish`` creates, then updates, the playbook's dashboard: read back
from the moto server as CloudWatch would show it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.records.store import AuditStore

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def cloudwatch(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """[prod] as a non-emulated account at the moto server, with one automated rollback of
    4 minutes five days ago; the CloudWatch client to read back with."""
    monkeypatch.chdir(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(cli_metrics, "_now", lambda: now)
    audit = tmp_path / "audit"
    (tmp_path / "environments.toml").write_text(
        f'[prod]\naccount_id = "{ACCOUNT}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{fresh_moto}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{audit}"\n'
    )
    started = now - timedelta(days=5)
    finished = started + timedelta(minutes=4)
    AuditStore(audit, clock=lambda: finished).write(
        "incident",
        "prod",
        {
            "reason": "smoke tests failed",
            "started_at": iso(started),
            "finished_at": iso(finished),
            "mode": "apply",
            "outcome": "applied",
            "verification": "smoke tests passed",
            "initiated_by": "trigger",
            "detected_at": None,
        },
    )
    return boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name=REGION)


def publish(capsys: pytest.CaptureFixture[str]) -> str:
    """``ohpen metrics --env prod --publish``; its stderr (exit 1: a rollback this quarter)."""
    capsys.readouterr()
    code = cli.main(["metrics", "--env", "prod", "--publish"])
    err = capsys.readouterr().err
    assert code == 1, err
    return err


def widgets(cloudwatch: Any) -> dict[str, dict[str, Any]]:
    """The dashboard's widgets' properties by title, as stored."""
    body = json.loads(
        cloudwatch.get_dashboard(DashboardName="ohpen-rollback-prod")["DashboardBody"]
    )
    return {w["properties"]["title"]: w["properties"] for w in body["widgets"]}


def lines(properties: dict[str, Any]) -> list[tuple[str, ...]]:
    """Each metric line of a widget as (metric, dimension, value, ...), options left out."""
    return [
        tuple(part for part in line if not isinstance(part, dict))[1:]
        for line in properties["metrics"]
    ]


def targets(properties: dict[str, Any]) -> dict[str, float]:
    return {a["label"]: a["value"] for a in properties.get("annotations", {}).get("horizontal", [])}


def test_publish_creates_the_playbooks_dashboard(
    cloudwatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    err = publish(capsys)

    assert "ohpen: dashboard ohpen-rollback-prod updated in CloudWatch" in err
    panels = widgets(cloudwatch)
    assert list(panels) == [
        "Deployment success/failure count (30 days)",
        "Rollback count and duration",
        "MTTR trend",
    ]
    deployments = panels["Deployment success/failure count (30 days)"]
    assert lines(deployments) == [
        ("DeploymentCount", "Environment", "prod", "Result", "Success"),
        ("DeploymentCount", "Environment", "prod", "Result", "Failure"),
    ]
    rollbacks = panels["Rollback count and duration"]
    assert lines(rollbacks) == [
        ("RollbackCount", "Environment", "prod"),
        ("RollbackDurationMedianSeconds", "Environment", "prod", "Mode", "Automated"),
        ("RollbackDurationMedianSeconds", "Environment", "prod", "Mode", "Manual"),
    ]
    assert targets(rollbacks) == {"automated target 10 min": 600, "manual target 30 min": 1800}
    mttr = panels["MTTR trend"]
    assert lines(mttr) == [("MTTRSeconds", "Environment", "prod")]
    assert targets(mttr) == {"MTTR target 1 h": 3600}
    for properties in panels.values():
        assert properties["region"] == REGION
        assert all(line[0] == "Ohpen/Rollback" for line in properties["metrics"])
    # the panels read what was published: each rollback/MTTR line names a published metric
    published = {
        (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
        for m in cloudwatch.list_metrics(Namespace="Ohpen/Rollback")["Metrics"]
    }
    assert ("RollbackCount", (("Environment", "prod"),)) in published
    assert ("MTTRSeconds", (("Environment", "prod"),)) in published
    assert (
        "RollbackDurationMedianSeconds",
        (("Environment", "prod"), ("Mode", "Automated")),
    ) in published


def test_a_second_publish_updates_the_dashboard_rather_than_adding_one(
    cloudwatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(capsys)
    first = cloudwatch.get_dashboard(DashboardName="ohpen-rollback-prod")["DashboardBody"]
    publish(capsys)

    listed = cloudwatch.list_dashboards()["DashboardEntries"]
    assert [entry["DashboardName"] for entry in listed] == ["ohpen-rollback-prod"]
    assert cloudwatch.get_dashboard(DashboardName="ohpen-rollback-prod")["DashboardBody"] == first
