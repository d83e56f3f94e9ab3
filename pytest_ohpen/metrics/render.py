"""The metrics and targets as text: a table for a terminal or job log, Markdown for a report
or a pull-request comment (JSON: :mod:`pytest_ohpen.metrics.render_json`). Each shows a
target's state (met, breached, no data), every rollback with its attempts, data rollbacks
and deployments apart, and names every corrupt or unreadable record."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_ohpen.metrics.attempt import RESTORED, VERIFY_FAILED, Attempt
from pytest_ohpen.metrics.figures import DeploymentStats, DurationStats, Metrics
from pytest_ohpen.metrics.incidents import Rollback
from pytest_ohpen.metrics.records import Drill
from pytest_ohpen.metrics.render_json import to_json
from pytest_ohpen.metrics.targets import BREACHED, MET, TargetResult, targets
from pytest_ohpen.metrics.window import duration_text
from pytest_ohpen.util.tables import text_table

__all__ = ["to_json", "to_markdown", "to_table"]

_TABLE_STATE = {MET: "ok", BREACHED: "BREACH"}
_MARKDOWN_STATE = {MET: "met", BREACHED: "**breached**"}
_LONGEST_CELL = 90
"""Longer outcome texts (an error message) are cut in the table; JSON has them whole."""


def _window_text(metrics: Metrics) -> str:
    days = (metrics.now - metrics.since).total_seconds() / 86400
    return f"{metrics.since:%Y-%m-%d %H:%M}Z to {metrics.now:%Y-%m-%d %H:%M}Z ({days:.0f} days)"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _recoveries(count: int) -> str:
    return f"{count} recover{'y' if count == 1 else 'ies'}"


def _summary(metrics: Metrics) -> str:
    rollbacks = metrics.rollbacks
    automated = sum(r.automated for r in rollbacks)
    text = (
        f"{_plural(len(rollbacks), 'rollback')} ({automated} automated, "
        f"{len(rollbacks) - automated} "
        f"manual) from {_plural(metrics.attempts, 'attempt')}; not restored: "
        f"{sum(not r.restored for r in rollbacks)}"
    )
    if metrics.not_counted:
        reasons = ", ".join(f"{why}: {n}" for why, n in sorted(metrics.not_counted.items()))
        text += f"; not counted ({reasons})"
    if metrics.corrupt:
        text += f"; corrupt or unreadable records, not counted: {len(metrics.corrupt)}"
    return text


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LONGEST_CELL else text[: _LONGEST_CELL - 1] + "…"


def _since(rollback: Rollback) -> str:
    return "from detection" if rollback.clock_start == "detection" else "from command start"


def _rollback_cells(rollback: Rollback) -> list[str]:
    took = rollback.duration_seconds
    return [
        f"{rollback.started_at:%Y-%m-%d %H:%M}Z",
        "automated" if rollback.automated else "manual",
        rollback.outcome,
        f"{duration_text(took)} {_since(rollback)}" if took is not None else "-",
        "first attempt: " + ("yes" if rollback.first_attempt_success else "no"),
        _plural(len(rollback.attempts), "attempt"),
    ]


def _attempt_cells(number: int, attempt: Attempt) -> list[str]:
    applied = attempt.result in (RESTORED, VERIFY_FAILED) and attempt.verification != "not run"
    said = attempt.verification if applied else attempt.outcome
    return [
        f"{number}.",
        f"{attempt.started_at:%Y-%m-%d %H:%M}Z",
        attempt.initiated_by or ("trigger" if attempt.via_trigger else "not recorded"),
        attempt.method,
        attempt.result,
        _cut(said),
        attempt.records[-1] if attempt.records else attempt.id,
    ]


def _rollback_lines(rollbacks: Sequence[Rollback]) -> list[str]:
    lines: list[str] = []
    for rollback in rollbacks:
        lines += ["  " + line for line in text_table(_rollback_cells(rollback), [])]
        rows = [_attempt_cells(n, a) for n, a in enumerate(rollback.attempts, start=1)]
        lines += ["      " + line for line in text_table(rows[0], rows[1:])]
    return lines


def _stats_rows(pairs: Sequence[tuple[str, DurationStats]]) -> list[list[str]]:
    return [
        [
            label,
            str(s.count),
            duration_text(s.median_seconds),
            duration_text(s.p90_seconds),
            str(s.from_command_start),
            str(s.not_restored),
        ]
        for label, s in pairs
    ]


_STATS_HEADER = [
    "duration (detection to restored)",
    "count",
    "median",
    "p90 (nearest-rank)",
    "from command start",
    "not restored",
]


def _rate(successes: int, count: int, rate: float | None) -> str:
    return "no data" if rate is None else f"{successes}/{count} ({rate * 100:.1f} %)"


def _mttr_line(metrics: Metrics) -> str:
    starts = ", ".join(f"{n} {start}" for start, n in sorted(metrics.mttr_starts.items()))
    text = (
        f"MTTR (failed deployment to green): mean {duration_text(metrics.mttr_mean_seconds)}, "
        f"median {duration_text(metrics.mttr_median_seconds)} "
        f"({_recoveries(metrics.mttr_samples)}{'; from: ' + starts if starts else ''})"
    )
    if metrics.mttr_unverified:
        text += f"; {metrics.mttr_unverified} stop at the restore (no green verification)"
    return text


def _deployment_line(stats: DeploymentStats) -> str:
    if not stats.recorded:
        return "deployments: no data (no deployment record of the environment)"
    rate = stats.change_failure_rate
    return (
        f"deployments: {stats.count} finished ({stats.successes} succeeded, {stats.failures} "
        f"failed or rolled back), {stats.unfinished} unfinished; frequency "
        f"{stats.per_week or 0:.2f} per week; change-failure rate "
        + _rate(stats.failures, stats.count, rate)
    )


def _data_line(metrics: Metrics) -> str:
    data = metrics.data_rollbacks
    if not data:
        return "data rollbacks: none in the window"
    successes = sum(r.first_attempt_success for r in data)
    stats = metrics.data_duration
    return (
        f"data rollbacks: {len(data)} from {_plural(sum(len(r.attempts) for r in data), 'attempt')}"
        f"; restored {sum(r.restored for r in data)}; first-attempt success "
        f"{_rate(successes, len(data), successes / len(data))}; duration median "
        f"{duration_text(stats.median_seconds)}, p90 {duration_text(stats.p90_seconds)}"
        + (f" ({stats.from_command_start} from command start)" if stats.from_command_start else "")
    )


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
    results = list(results) if results is not None else targets(metrics)
    title = f"Rollback metrics: {metrics.environment}, " if metrics.environment else "Rollback "
    lines = [
        f"{title}{_window_text(metrics)}",
        _summary(metrics),
        "",
        "per month:   " + "  ".join(f"{k} {v}" for k, v in metrics.per_month.items()),
        "per quarter: " + "  ".join(f"{k} {v}" for k, v in metrics.per_quarter.items()),
        "",
        *text_table(
            _STATS_HEADER,
            _stats_rows((("automated", metrics.automated), ("manual", metrics.manual))),
        ),
        "",
        "first-attempt success: "
        + _rate(
            metrics.first_attempt_successes,
            len(metrics.rollbacks),
            metrics.first_attempt_success_rate,
        ),
        _mttr_line(metrics),
        "",
    ]
    if metrics.rollbacks:
        lines.append("rollbacks (each attempt below its rollback):")
        lines += _rollback_lines(metrics.rollbacks)
    else:
        lines.append("rollbacks: none in the window")
    lines += ["", _data_line(metrics), *_rollback_lines(metrics.data_rollbacks), ""]
    lines.append(_deployment_line(metrics.deployments))
    if metrics.deployments.recorded:
        per_month = metrics.deployments.per_month.items()
        lines.append("  per month: " + "  ".join(f"{k} {v}" for k, v in per_month))
    lines.append("")
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in rows[0]) + " |"]
    lines.append("|" + "|".join("---" for _ in rows[0]) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[1:]]
    return lines


def _md_rollbacks(rollbacks: Sequence[Rollback]) -> list[str]:
    rows = [["Started", "Mode", "Outcome", "Duration", "First attempt", "Attempts"]]
    for rollback in rollbacks:
        rows.append(_rollback_cells(rollback))
        rows += [
            ["", "", f"{n}. {a.method} by {a.initiated_by or 'not recorded'}", a.result, "", ""]
            for n, a in enumerate(rollback.attempts, start=1)
        ]
    return _md_table(rows)


def to_markdown(metrics: Metrics, results: Sequence[TargetResult] | None = None) -> str:
    """The metrics and targets as Markdown, for a report or a pull-request comment."""
    results = list(results) if results is not None else targets(metrics)
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
            [
                [h.capitalize() for h in _STATS_HEADER],
                *_stats_rows((("Automated", metrics.automated), ("Manual", metrics.manual))),
            ]
        ),
        "",
        "First-attempt success: "
        + _rate(
            metrics.first_attempt_successes,
            len(metrics.rollbacks),
            metrics.first_attempt_success_rate,
        )
        + f". {_mttr_line(metrics)}.",
        "",
        "## Rollbacks and their attempts",
        "",
        *(_md_rollbacks(metrics.rollbacks) if metrics.rollbacks else ["No rollback."]),
        "",
        "## Data rollbacks",
        "",
        _data_line(metrics) + ".",
        *(["", *_md_rollbacks(metrics.data_rollbacks)] if metrics.data_rollbacks else []),
        "",
        "## Deployments",
        "",
        _deployment_line(metrics.deployments) + ".",
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
