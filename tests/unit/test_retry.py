"""Retry rules of checks: which values win, and how long a retry waits for the settle window.

The window is tested with a fake clock and a fake sleep, so no test here waits.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.plugin.retries import RetryPolicy, SettleWindow, retry_policy


def policy(
    cli_reruns: int | None = None, cli_delay: float | None = None, cli_timeout: float | None = None
) -> RetryPolicy:
    """The policy of an environment with retries 1, retry_delay 30, timeout 40."""
    return retry_policy(1, 30.0, 40.0, cli_reruns, cli_delay, cli_timeout)


def test_environment_values_apply_when_the_command_line_gives_none() -> None:
    """Without --reruns/--reruns-delay/--timeout, the environments file decides."""
    assert policy() == RetryPolicy(reruns=1, settle_seconds=30.0, timeout=40.0)


def test_command_line_values_win() -> None:
    """--reruns 3 --reruns-delay 5 --timeout 10 override the environment's values."""
    expected = RetryPolicy(reruns=3, settle_seconds=5.0, timeout=10.0)
    assert policy(cli_reruns=3, cli_delay=5.0, cli_timeout=10.0) == expected


def test_zero_on_the_command_line_is_a_given_value() -> None:
    """--reruns 0 --reruns-delay 0 turn retries and the wait off; 0 is not "not given"."""
    expected = RetryPolicy(reruns=0, settle_seconds=0.0, timeout=40.0)
    assert policy(cli_reruns=0, cli_delay=0.0) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"cli_reruns": 2}, (2, 30.0, 40.0)),
        ({"cli_delay": 1.5}, (1, 1.5, 40.0)),
        ({"cli_timeout": 5.0}, (1, 30.0, 5.0)),
    ],
)
def test_each_option_overrides_only_its_own_value(
    given: dict[str, float], expected: tuple[int, float, float]
) -> None:
    """One command-line option changes one value; the others stay the environment's."""
    result = policy(**given)  # type: ignore[arg-type]
    assert (result.reruns, result.settle_seconds, result.timeout) == expected


class FakeTime:
    """A clock that only moves when told to, and a sleep that records and advances it."""

    def __init__(self, sleep_advances: bool = True) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.sleep_advances = sleep_advances

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.sleep_advances:
            self.now += seconds

    def window(self, seconds: float = 30.0) -> SettleWindow:
        return SettleWindow(seconds, clock=self.clock, sleep=self.sleep)


def test_first_retry_of_the_run_waits_the_full_window() -> None:
    """The run's first failure opens the window: its retry waits the whole settle delay."""
    time = FakeTime()
    assert time.window().wait_before_retry(0) == 30.0
    assert time.slept == [30.0]


def test_a_retry_after_the_window_has_passed_does_not_wait() -> None:
    """Six failing checks after a bad deploy cost one 30 s wait, not six."""
    time = FakeTime()
    window = time.window()
    window.wait_before_retry(0)
    time.now += 5.0  # another check runs and fails after the window closed
    assert window.wait_before_retry(0) == 0.0
    assert time.slept == [30.0]


def test_a_retry_halfway_through_the_window_waits_the_rest() -> None:
    """A check failing 12 s after the first failure waits only the remaining 18 s."""
    time = FakeTime(sleep_advances=False)  # as if the first retry slept in another thread
    window = time.window()
    first = time.now
    window.wait_before_retry(0)
    time.now = first + 12.0
    assert window.wait_before_retry(0) == pytest.approx(18.0)
    assert time.slept == [30.0, pytest.approx(18.0)]


def test_second_retries_wait_until_two_windows_after_the_first_failure() -> None:
    """Attempt k+1 of any check starts no earlier than first_failure + k * seconds."""
    time = FakeTime()
    window = time.window()
    first = time.now
    window.wait_before_retry(0)  # sleeps to first + 30
    time.now += 4.0
    assert window.wait_before_retry(1) == pytest.approx(26.0)
    assert time.now == pytest.approx(first + 60.0)
    assert window.wait_before_retry(1) == 0.0


def test_a_zero_window_never_sleeps() -> None:
    """--reruns-delay 0 retries at once."""
    time = FakeTime()
    window = time.window(0.0)
    assert [window.wait_before_retry(0), window.wait_before_retry(1)] == [0.0, 0.0]
    assert time.slept == []
