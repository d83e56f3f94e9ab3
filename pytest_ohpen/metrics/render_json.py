"""The metrics and targets as one JSON document (``schema_version`` 3), for dashboards and
scripts; every figure of the table and the Markdown, each rollback with its attempts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pytest_ohpen.metrics.attempt import Attempt
from pytest_ohpen.metrics.deployments import Deployment
from pytest_ohpen.metrics.figures import DeploymentStats, DurationStats, Metrics
from pytest_ohpen.metrics.incidents import Rollback
from pytest_ohpen.metrics.records import Drill
from pytest_ohpen.metrics.targets import OK, TargetResult, overall, targets
from pytest_ohpen.util.jsonable import iso_utc

SCHEMA_VERSION = 3
"""The version of :func:`to_json`'s layout. 2: a target without data is no longer "ok";
``state`` (report and targets) and ``corrupt`` added. 3: ``rollbacks.items`` are
incidents, each with its ``attempts``; ``not_counted`` by reason; durations say how many
samples start at the command; MTTR says where its samples start; ``data_rollbacks`` and
``deployments`` (frequency, change-failure rate) added."""


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "method": attempt.method,
        "initiated_by": attempt.initiated_by,
        "automated": attempt.automated,
        "started_at": stamp(attempt.started_at),
        "finished_at": stamp(attempt.finished_at),
        "detected_at": stamp(attempt.detected_at),
        "result": attempt.result,
        "outcome": attempt.outcome,
        "verification": attempt.verification,
        "target": attempt.target,
        "records": list(attempt.records),
    }


def rollback_json(rollback: Rollback) -> dict[str, Any]:
    """One rollback (incident) and its attempts."""
    return {
        "id": rollback.id,
        "incident_key": rollback.key,
        "family": rollback.family,
        "started_at": stamp(rollback.started_at),
        "finished_at": stamp(rollback.finished_at),
        "detected_at": stamp(rollback.detected_at),
        "clock_start": rollback.clock_start,
        "automated": rollback.automated,
        "restored": rollback.restored,
        "restored_at": stamp(rollback.restored_at),
        "outcome": rollback.outcome,
        "verification": rollback.verification,
        "duration_seconds": rollback.duration_seconds,
        "elapsed_seconds": rollback.elapsed_seconds,
        "first_attempt_success": rollback.first_attempt_success,
        "attempt_count": len(rollback.attempts),
        "attempts": [_attempt_json(a) for a in rollback.attempts],
        "deployment": rollback.deployment,
        "mttr_start": rollback.mttr_start or None,
        "mttr_started_at": stamp(rollback.mttr_started_at),
        "green_at": stamp(rollback.green_at),
        "green_source": rollback.green_source or None,
        "recovery_seconds": rollback.recovery_seconds,
    }


def _drill_json(drill: Drill) -> dict[str, Any]:
    return {
        "id": drill.id,
        "date": f"{drill.started_at:%Y-%m-%d}",
        "started_at": stamp(drill.started_at),
        "finished_at": stamp(drill.finished_at),
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
        "from_command_start": stats.from_command_start,
        "not_restored": stats.not_restored,
    }


def _deployment_json(deployment: Deployment) -> dict[str, Any]:
    return {
        "id": deployment.id,
        "commit": deployment.commit,
        "ref": deployment.ref,
        "status": deployment.status,
        "started_at": stamp(deployment.started_at),
        "ended_at": stamp(deployment.ended_at),
        "failure": deployment.failure,
        "rolled_back_by": deployment.rolled_back_by,
    }


def _deployments_json(stats: DeploymentStats) -> dict[str, Any]:
    return {
        "recorded": stats.recorded,
        "count": stats.count,
        "successes": stats.successes,
        "failures": stats.failures,
        "unfinished": stats.unfinished,
        "per_week": stats.per_week,
        "per_month": dict(stats.per_month),
        "change_failure_rate": stats.change_failure_rate,
        "items": [_deployment_json(d) for d in stats.deployments],
    }


def _data_json(metrics: Metrics) -> dict[str, Any]:
    data = metrics.data_rollbacks
    return {
        "count": len(data),
        "attempts": sum(len(r.attempts) for r in data),
        "restored": sum(r.restored for r in data),
        "first_attempt_successes": sum(r.first_attempt_success for r in data),
        "duration": _stats_json(metrics.data_duration),
        "items": [rollback_json(r) for r in data],
    }


def to_json(metrics: Metrics, results: Sequence[TargetResult] | None = None) -> str:
    """The metrics and targets as a JSON document (``schema_version`` 3)."""
    results = list(results) if results is not None else targets(metrics)
    state = overall(results, len(metrics.corrupt))
    rollbacks = metrics.rollbacks
    document = {
        "schema_version": SCHEMA_VERSION,
        "environment": metrics.environment,
        "since": stamp(metrics.since),
        "now": stamp(metrics.now),
        "state": state,
        "ok": state == OK,
        "corrupt": [{"where": c.where, "problem": c.problem} for c in metrics.corrupt],
        "rollbacks": {
            "count": len(rollbacks),
            "attempts": metrics.attempts,
            "automated": sum(r.automated for r in rollbacks),
            "manual": sum(not r.automated for r in rollbacks),
            "restored": sum(r.restored for r in rollbacks),
            "ignored": metrics.ignored,
            "not_counted": dict(metrics.not_counted),
            "skipped": metrics.skipped,
            "per_month": dict(metrics.per_month),
            "per_quarter": dict(metrics.per_quarter),
            "items": [rollback_json(r) for r in rollbacks],
        },
        "duration": {
            "method": "detection (else the first command's start) to the restored state; "
            "median: middle value (mean of the two middle ones); p90: nearest-rank",
            "automated": _stats_json(metrics.automated),
            "manual": _stats_json(metrics.manual),
        },
        "first_attempt_success": {
            "successes": metrics.first_attempt_successes,
            "count": len(rollbacks),
            "rate": metrics.first_attempt_success_rate,
        },
        "mttr": {
            "samples": metrics.mttr_samples,
            "mean_seconds": metrics.mttr_mean_seconds,
            "median_seconds": metrics.mttr_median_seconds,
            "starts": dict(metrics.mttr_starts),
            "unverified": metrics.mttr_unverified,
        },
        "data_rollbacks": _data_json(metrics),
        "deployments": _deployments_json(metrics.deployments),
        "drills": [_drill_json(d) for d in metrics.drills],
        "targets": [
            {
                "name": r.name,
                "value": r.value,
                "target": r.target,
                "state": r.state,
                "ok": r.ok,
                "no_data": r.no_data,
                "detail": r.detail,
            }
            for r in results
        ],
    }
    return json.dumps(document, indent=2) + "\n"
