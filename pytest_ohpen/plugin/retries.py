"""Retries and per-attempt timeouts of checks, applied through pytest-rerunfailures and
pytest-timeout.

The retry delay is a settle window for eventual consistency after ``terraform
apply``, shared by the whole run: a failed check is retried once the window
opened by the run's first failure has passed, not after 30 s of its own. Six
checks failing after a bad deploy therefore cost one 30 s wait, not six, and the
worst case stays well under two minutes. Each attempt (not the wait) is bounded
by pytest-timeout, using its ``func_only`` mode, which re-arms the timer for every
attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pytest_ohpen.config.schema import RETRIES, RETRY_DELAY, TIMEOUT
from pytest_ohpen.errors import ConfigError

SETTLE_NAME = "ohpen-settle-retries"


@dataclass(frozen=True)
class RetryPolicy:
    """How a check is retried and bounded, after the command line has had its say."""

    reruns: int
    settle_seconds: float
    timeout: float


def retry_policy(
    env_retries: int,
    env_delay: float,
    env_timeout: float,
    cli_reruns: int | None,
    cli_delay: float | None,
    cli_timeout: float | None,
    cli_force_reruns: int | None = None,
) -> RetryPolicy:
    """The environment's retries, delay and timeout, each overridden by its command-line
    option (--reruns, --reruns-delay, --timeout) when that was given.

    An option takes the range of the key it overrides, so the command line cannot do what
    the file may not (``--reruns 1000``, ``--timeout -5``, ``--reruns-delay nan``): a
    ConfigError naming the option, which the plugin turns into a usage error.
    """
    for option, value, bounds, key_name in (
        ("--reruns", cli_reruns, RETRIES, "retries"),
        ("--reruns-delay", cli_delay, RETRY_DELAY, "retry_delay"),
        ("--timeout", cli_timeout, TIMEOUT, "timeout"),
        ("--force-reruns", cli_force_reruns, RETRIES, "retries"),  # it overrides the marker
    ):
        problem = None if value is None else bounds.problem(value)
        if problem:
            raise ConfigError(
                f"{option} {value!r} (command line): {problem}, the range of the "
                f"environments file's {key_name}"
            )
    return RetryPolicy(
        reruns=env_retries if cli_reruns is None else cli_reruns,
        settle_seconds=env_delay if cli_delay is None else float(cli_delay),
        timeout=env_timeout if cli_timeout is None else float(cli_timeout),
    )


class SettleWindow:
    """Makes every retry wait until the run's first failure is ``seconds`` old.

    Attempt k+1 of any check starts no earlier than ``first_failure + k * seconds``, and
    no wait goes past the run's deadline (``remaining``: the seconds left of it).
    """

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        remaining: Callable[[], float] | None = None,
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._sleep = sleep
        self._remaining = remaining
        self._first_failure: float | None = None

    def wait_before_retry(self, failed_attempt: int) -> float:
        """Block until retry number ``failed_attempt + 1`` may start; return seconds waited."""
        now = self._clock()
        if self._first_failure is None:
            self._first_failure = now
        wait = self._first_failure + (failed_attempt + 1) * self.seconds - now
        if self._remaining is not None:
            wait = min(wait, self._remaining())
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0


class SettleRetries:
    """Holds each retry of a check until the run's settle window has passed (a plugin
    object on the process that runs the checks, registered only when checks are retried)."""

    def __init__(self, nodeids: set[str], window: SettleWindow) -> None:
        self.nodeids = nodeids
        self.window = window

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome: str = report.outcome  # pytest-rerunfailures adds the "rerun" outcome
        if outcome == "rerun" and report.nodeid in self.nodeids:
            self.window.wait_before_retry(int(getattr(report, "rerun", 0)))
