"""The metrics and targets as text: a table for a terminal or job log, JSON for dashboards
(``schema_version`` 2), Markdown for a report or a pull-request comment. Each shows a
target's state (met, breached, no data) and names every corrupt or unreadable record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pytest_ohpen.metrics.figures import DurationStats, Metrics, duration_text
from pytest_ohpen.metrics.records import Drill, Rollback
from pytest_ohpen.metrics.targets import BREACHED, MET, OK, TargetResult, overall, targets
from pytest_ohpen.util.jsonable import iso_utc
from pytest_ohpen.util.tables import text_table

SCHEMA_VERSION = 2
"""The version of :func:`to_json`'s layout. 2: a target without data is no longer "ok";
``state`` (report and targets) and ``corrupt`` added."""
_TABLE_STATE = {MET: "ok", BREACHED: "BREACH"}
_MARKDOWN_STATE = {MET: "met", BREACHED: "**breached**"}


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


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
    if metrics.corrupt:
        text += f"; corrupt or unreadable records, not counted: {len(metrics.corrupt)}"
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
    lines += text_table(
        ["duration", "count", "median", "p90 (nearest-rank)"],
        [
            [label, str(s.count), duration_text(s.median_seconds), duration_text(s.p90_seconds)]
            for label, s in (("automated", metrics.automated), ("manual", metrics.manual))
        ],
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
            "  " + line for line in text_table(_DRILL_HEADER, map(_drill_cells, metrics.drills))
        ]
    else:
        lines.append("drills: none in the window")
    lines += ["", "targets:"]
    # no header: every row is a target, the first one sets the columns like the others
    rows = [
        [_TABLE_STATE.get(r.state, "NO DATA"), r.name, r.detail, f"target {r.target}"]
        for r in results
    ]
    lines += ["  " + line for line in text_table(rows[0], rows[1:])] if rows else []
    if metrics.corrupt:
        lines += ["", "corrupt or unreadable records (not counted; fix or remove them):"]
        lines += [f"  {corrupt.text}" for corrupt in metrics.corrupt]
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
        "state": overall(results, len(metrics.corrupt)),
        "ok": overall(results, len(metrics.corrupt)) == OK,
        "corrupt": [{"where": c.where, "problem": c.problem} for c in metrics.corrupt],
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
                "state": r.state,
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
            + [
                [r.name, r.detail, r.target, _MARKDOWN_STATE.get(r.state, "no data")]
                for r in results
            ]
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
    if metrics.corrupt:
        lines += ["", "## Corrupt or unreadable records (not counted)", ""]
        lines += _md_table(
            [["Record", "Problem"]] + [[c.where, c.problem] for c in metrics.corrupt]
        )
    return "\n".join(lines) + "\n"
