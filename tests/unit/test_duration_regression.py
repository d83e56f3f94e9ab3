"""The newest run's duration against the median of the runs before it (pure logic)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pytest_ohpen.checks.durations import (
    WINDOW,
    NotEnoughHistory,
    describe,
    glue_run_seconds,
    regression,
)
from pytest_ohpen.emulator.glue_runs import SPACING, run_times

STEADY = [64.0, 61.0, 70.0, 66.0, 62.0]


def test_a_run_like_the_others_is_no_regression() -> None:
    assert regression([*STEADY, 68.0], factor=3) is None


def test_a_run_ten_times_the_median_is_one() -> None:
    found = regression([*STEADY, 712.0], factor=3)
    assert found is not None
    assert (found.newest, found.median, found.earlier) == (712.0, 64.0, 5)
    assert found.ratio == pytest.approx(11.125)
    assert describe(found, 3) == (
        "took 712 s, 11.1x the median 64 s of the 5 runs before it (factor 3)"
    )


def test_exactly_the_factor_is_still_fine() -> None:
    assert regression([10.0, 10.0, 30.0], factor=3) is None
    assert regression([10.0, 10.0, 30.1], factor=3) is not None


def test_only_the_newest_is_judged() -> None:
    """A slow run earlier in the history does not make a normal newest run fail."""
    assert regression([60.0, 900.0, 60.0, 62.0], factor=3) is None


def test_the_median_is_of_the_recent_runs_only() -> None:
    """Years of history do not hide a regression: the median is of the last WINDOW runs."""
    old_and_slow = [1000.0] * 50
    recent = [60.0] * WINDOW
    found = regression([*old_and_slow, *recent, 700.0], factor=3)
    assert found is not None
    assert (found.median, found.earlier) == (60.0, WINDOW)


@pytest.mark.parametrize("durations", [[], [60.0], [60.0, 600.0]])
def test_fewer_than_two_earlier_runs_is_not_enough(durations: list[float]) -> None:
    with pytest.raises(NotEnoughHistory, match=f"^{len(durations)} completed run"):
        regression(durations, factor=3)


def test_a_median_of_zero_seconds() -> None:
    assert regression([0.0, 0.0, 0.0], factor=3) is None
    found = regression([0.0, 0.0, 5.0], factor=3)
    assert found is not None and found.ratio == float("inf")


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_a_factor_must_be_more_than_one(factor: float) -> None:
    with pytest.raises(ValueError, match="must be more than 1"):
        regression(STEADY, factor)


def test_a_glue_run_lasts_from_start_to_completion_else_its_execution_time() -> None:
    started = datetime(2026, 11, 26, 6, 0, 0)
    run = {"StartedOn": started, "CompletedOn": started + timedelta(seconds=70.5)}
    assert glue_run_seconds(run) == 70.5
    assert glue_run_seconds({"StartedOn": started, "ExecutionTime": 123}) == 123.0
    assert glue_run_seconds({"StartedOn": started}) is None


def test_seeded_runs_are_daily_and_the_newest_ends_at_the_end() -> None:
    end = datetime(2026, 11, 26, 6, 0, 0)
    times = run_times([60.0, 700.0], end)
    assert times == [
        (end - SPACING - timedelta(seconds=60), end - SPACING),
        (end - timedelta(seconds=700), end),
    ]
