"""Run durations: the newest completed run of a Glue job or a state machine did not take
many times longer than usual. A deploy that doubles a partition scan or removes a filter
still succeeds; only the clock says so, hours before the daily run misses its window.

Pure :func:`regression` decides; the checks read the runs. Too little history is neither a
pass nor a failure: :class:`NotEnoughHistory`, which the suite turns into a skip.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.glue import NOT_FOUND as GLUE_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import NOT_FOUND as SFN_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import state_machine_arn

MIN_EARLIER = 2
"""Earlier runs needed for a median to mean anything."""
WINDOW = 10
"""Earlier runs the median is taken over (the newest ones): the job's recent normal."""


class NotEnoughHistory(Exception):
    """Too few completed runs to compare the newest with; one line saying how many."""


@dataclass(frozen=True)
class Regression:
    """The newest run took ``ratio`` times the median of the ``earlier`` runs before it."""

    newest: float
    median: float
    ratio: float
    earlier: int


def regression(durations: list[float], factor: float) -> Regression | None:
    """The newest duration (last) against the median of the earlier ones (up to
    ``WINDOW``): a Regression when it is more than ``factor`` times that median, else None.
    NotEnoughHistory with fewer than ``MIN_EARLIER`` earlier durations."""
    if factor <= 1:
        raise ValueError(f"factor {factor}: must be more than 1")
    earlier = durations[:-1][-WINDOW:]
    if len(earlier) < MIN_EARLIER:
        raise NotEnoughHistory(
            f"{len(durations)} completed run(s), {MIN_EARLIER + 1} needed to compare the "
            "newest with a median"
        )
    newest, median = durations[-1], statistics.median(earlier)
    ratio = _ratio(newest, median)
    if ratio <= factor:
        return None
    return Regression(newest, median, ratio, len(earlier))


def _ratio(newest: float, median: float) -> float:
    """newest / median; a run of any length against a median of 0 s is infinitely slower."""
    if median > 0:
        return newest / median
    return float("inf") if newest > 0 else 1.0


def describe(found: Regression, factor: float) -> str:
    """'took 712 s, 10.2x the median 70 s of the 5 runs before it (factor 3)'."""
    runs = "run" if found.earlier == 1 else f"{found.earlier} runs"
    return (
        f"took {found.newest:.0f} s, {found.ratio:.1f}x the median {found.median:.0f} s "
        f"of the {runs} before it (factor {factor:g})"
    )


def _judge(
    kind: str,
    name: str,
    what: str,
    runs: list[tuple[datetime, str, float]],
    factor: float,
    where: Where,
) -> None:
    """``runs``: (started, id, seconds) in any order; fails on a regression of the newest."""
    runs.sort(key=lambda run: run[0])
    try:
        found = regression([seconds for _, _, seconds in runs], factor)
    except NotEnoughHistory as reason:
        raise NotEnoughHistory(f"{kind} {name}: {reason} {where}") from None
    if found is not None:
        raise CheckFailed(
            f"{kind} {name}: newest {what} {runs[-1][1]} {describe(found, factor)} {where}"
        )


def glue_run_seconds(run: dict[str, Any]) -> float | None:
    """A completed run's duration: CompletedOn - StartedOn, else ExecutionTime."""
    started, completed = run.get("StartedOn"), run.get("CompletedOn")
    if isinstance(started, datetime) and isinstance(completed, datetime):
        return (completed - started).total_seconds()
    seconds = run.get("ExecutionTime")
    return float(seconds) if isinstance(seconds, (int, float)) else None


def check_glue_job_duration(glue: Any, job: str, factor: float, where: Where) -> None:
    """GetJobRuns: the newest SUCCEEDED run (by StartedOn) took at most ``factor`` times
    the median of the runs before it."""
    runs: list[tuple[datetime, str, float]] = []
    with probing("Glue job", job, where, GLUE_NOT_FOUND):
        for page in glue.get_paginator("get_job_runs").paginate(JobName=job):
            for run in page.get("JobRuns", []):
                seconds = glue_run_seconds(run)
                started = run.get("StartedOn")
                if run.get("JobRunState") == "SUCCEEDED" and seconds is not None and started:
                    runs.append((started, str(run.get("Id")), seconds))
    _judge("Glue job", job, "run", runs, factor, where)


def check_state_machine_duration(sfn: Any, name: str, factor: float, where: Where) -> None:
    """ListExecutions: the newest SUCCEEDED execution (by startDate) took at most
    ``factor`` times the median of the executions before it."""
    runs: list[tuple[datetime, str, float]] = []
    with probing("state machine", name, where, SFN_NOT_FOUND):
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn(name, where), statusFilter="SUCCEEDED"
        )
        for page in pages:
            for execution in page.get("executions", []):
                started, stopped = execution.get("startDate"), execution.get("stopDate")
                if started and stopped:
                    seconds = (stopped - started).total_seconds()
                    runs.append((started, str(execution.get("name")), seconds))
    _judge("state machine", name, "execution", runs, factor, where)
