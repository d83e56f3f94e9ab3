"""Deployments counted (frequency, change-failure rate, DeploymentCount) and MTTR from the
failed deployment to green verification, with deployment records read defensively."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rollback_records import Audit, at

from pytest_ohpen.metrics import figures, render, render_json
from pytest_ohpen.metrics.deployments import FAILED, SUCCEEDED, UNFINISHED
from pytest_ohpen.metrics.figures import Metrics
from pytest_ohpen.metrics.publish import metric_data

NOW = at(9, 30, 12)
SINCE = at(7, 1, 0)


@pytest.fixture
def audit(tmp_path: Path) -> Audit:
    return Audit(tmp_path / "audit")


def compute(audit: Audit) -> Metrics:
    return figures.compute(audit.store.records(environment="prod"), SINCE, NOW, "prod")


@pytest.fixture
def quarter(audit: Audit) -> Metrics:
    """Five deployments: two succeeded, one failed (the ``status: failed`` style), one
    succeeded and was rolled back (its commit), one still running; and one before the
    window. The rollback of c3 is detected 20 min after c3's deploy ended (10:05) and
    verified green at 10:45: MTTR 40 min from the deployment."""
    audit.deployment(at(6, 20), 5, "c0aaaaaa")  # before the window
    audit.deployment(at(7, 2), 5, "c1aaaaaa")
    audit.deployment(at(7, 9), 4, "c2aaaaaa", FAILED, style="status")
    audit.deployment(at(8, 1), 5, "c3aaaaaa11112222")
    audit.terraform(at(8, 1, 10, 30), 15, detected=at(8, 1, 10, 25), deployed="c3aaaaaa")
    audit.deployment(at(8, 15), 6, "c4aaaaaa", SUCCEEDED, style="status")
    audit.deployment(at(9, 29), None, "c5aaaaaa")  # started, no outcome yet
    return compute(audit)


def test_deployments_are_counted_with_their_outcome(quarter: Metrics) -> None:
    stats = quarter.deployments
    assert stats.recorded
    assert [(d.commit, d.status, d.failure) for d in stats.deployments] == [
        ("c1aaaaaa", SUCCEEDED, False),
        ("c2aaaaaa", FAILED, True),
        ("c3aaaaaa11112222", SUCCEEDED, True),  # rolled back: a change failure
        ("c4aaaaaa", SUCCEEDED, False),
        ("c5aaaaaa", UNFINISHED, False),
    ]
    assert (stats.count, stats.successes, stats.failures, stats.unfinished) == (4, 2, 2, 1)
    assert stats.change_failure_rate == 0.5
    weeks = (NOW - SINCE).total_seconds() / (7 * 86400)
    assert stats.per_week == pytest.approx(4 / weeks)
    assert stats.per_month == {"2024-07": 2, "2024-08": 2, "2024-09": 0}
    rolled = stats.deployments[2]
    assert rolled.rolled_back_by == quarter.rollbacks[0].id


def test_mttr_starts_at_the_failed_deployment(quarter: Metrics) -> None:
    (rollback,) = quarter.rollbacks
    assert rollback.mttr_start == "deployment"
    assert rollback.mttr_started_at == at(8, 1, 10, 5)
    assert rollback.recovery_seconds == 40 * 60
    assert rollback.duration_seconds == 20 * 60  # the rollback itself: detection to restored
    assert quarter.mttr_starts == {"deployment": 1}


def test_the_reports_show_deployments_beside_the_playbook_metrics(quarter: Metrics) -> None:
    table = render.to_table(quarter)
    assert (
        "deployments: 4 finished (2 succeeded, 2 failed or rolled back), 1 unfinished; "
        "frequency 0.31 per week; change-failure rate 2/4 (50.0 %)"
    ) in table
    assert "(1 recovery; from: 1 deployment)" in table
    document = json.loads(render_json.to_json(quarter))
    assert document["deployments"]["change_failure_rate"] == 0.5
    assert document["deployments"]["failures"] == 2
    assert document["rollbacks"]["items"][0]["mttr_start"] == "deployment"
    assert "## Deployments" in render.to_markdown(quarter)


def test_deployment_count_is_published_by_result(quarter: Metrics) -> None:
    points = {
        tuple((d["Name"], d["Value"]) for d in p["Dimensions"]): p["Value"]
        for p in metric_data("prod", quarter)
        if p["MetricName"] == "DeploymentCount"
    }
    assert points == {
        (("Environment", "prod"), ("Result", "Success")): 2.0,
        (("Environment", "prod"), ("Result", "Failure")): 2.0,
    }


def test_without_deployment_records_deployments_are_no_data_and_not_published(
    audit: Audit,
) -> None:
    audit.terraform(at(8, 1), 5)
    m = compute(audit)
    assert not m.deployments.recorded
    assert m.deployments.per_week is None and m.deployments.change_failure_rate is None
    assert "deployments: no data (no deployment record of the environment)" in render.to_table(m)
    assert not [p for p in metric_data("prod", m) if p["MetricName"] == "DeploymentCount"]


def test_a_failed_deployment_without_a_commit_link_is_the_cause_within_a_day(
    audit: Audit,
) -> None:
    audit.deployment(at(8, 1, 9), 3, "c7aaaaaa", FAILED)
    audit.terraform(at(8, 1, 10), 5, deployed="unknown-commit")  # no detection recorded
    audit.deployment(at(8, 10, 9), 3, "c8aaaaaa", FAILED)
    audit.terraform(at(8, 11, 10), 5, deployed="unknown-commit")  # 25 h later: no link

    first, second = compute(audit).rollbacks

    assert (first.mttr_start, first.mttr_started_at) == ("deployment", at(8, 1, 9, 3))
    assert second.mttr_start == "command start"


def _record(audit: Audit, moment: datetime, data: dict[str, Any]) -> None:
    audit.write("deployment", moment, data)


def test_deployment_records_are_read_defensively(audit: Audit) -> None:
    """Missing times fall back to the records' own; a wrong type is corrupt and named."""
    _record(audit, at(8, 2), {"status": "succeeded", "commit": "d1aaaaaa"})  # no times at all
    _record(audit, at(8, 3), {"status": "finished", "result": "failed"})  # no commit
    _record(audit, at(8, 4), {"status": "finished", "result": "maybe"})
    _record(audit, at(8, 5), {"status": "started", "started_at": "2024-08-05T10:00:00"})

    with pytest.warns(figures.MetricsWarning):
        m = compute(audit)

    assert [(d.status, d.started_at) for d in m.deployments.deployments] == [
        (SUCCEEDED, at(8, 2)),
        (FAILED, at(8, 3)),
    ]
    problems = " ".join(c.problem for c in m.corrupt)
    assert "result: expected one of 'succeeded', 'failed', got 'maybe'" in problems
    assert "started_at: no timezone" in problems
    assert all(c.where.startswith("prod/deployment/") for c in m.corrupt)
