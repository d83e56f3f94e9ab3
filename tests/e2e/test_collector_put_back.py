"""A run that names an environment relaxes the garbage collector for its AWS work and puts
its thresholds back at the end, whatever the run's outcome (issue 14): a process that runs
pytest in-process (an IDE, pytester) keeps its own settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pytest_ohpen.util.collector import YOUNG_THRESHOLD

SEES_THRESHOLD = """
import gc

def test_sees_the_relaxed_collector():
    assert gc.get_threshold()[0] >= {young}
"""


@pytest.fixture
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_thresholds_are_put_back_after_a_run_with_a_usage_error(
    pytester: pytest.Pytester, own_thresholds: tuple[int, int, int]
) -> None:
    pytester.makepyfile(test_x="def test_x(ohpen_bucket):\n    pass\n")
    result = pytester.runpytest("--env", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert gc.get_threshold() == own_thresholds


def test_a_run_without_an_environment_leaves_the_collector_alone(
    pytester: pytest.Pytester, own_thresholds: tuple[int, int, int]
) -> None:
    pytester.makepyfile(test_x=SEES_THRESHOLD.replace(">= {young}", "== 700"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert gc.get_threshold() == own_thresholds


def test_the_checks_run_relaxed(
    pytester: pytest.Pytester, own_thresholds: tuple[int, int, int]
) -> None:
    pytester.makefile(".toml", environments='[a]\naccount_id = "123456789012"\n')
    pytester.makepyfile(test_x=SEES_THRESHOLD.format(young=YOUNG_THRESHOLD))
    result = pytester.runpytest("--env", "a", "--targets", "environments.toml")
    result.assert_outcomes(passed=1)
    assert gc.get_threshold() == own_thresholds
