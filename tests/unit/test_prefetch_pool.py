"""The prefetch pool: checks' first attempts run at once, each outcome is taken once (a retry
runs live), and an attempt slower than its timeout is not used."""

from __future__ import annotations

import threading

import pytest

from pytest_ohpen.checks.base import CheckFailed
from pytest_ohpen.plugin.prefetch import TIMED_OUT, Prefetch


def test_first_attempts_run_at_once_and_each_is_taken_once() -> None:
    meet = threading.Barrier(3, timeout=5)  # passes only with three attempts in flight
    pool = Prefetch(concurrency=4)

    def passes() -> None:
        meet.wait()

    def fails() -> None:
        meet.wait()
        raise CheckFailed("bucket b: not found (NoSuchBucket)")

    pool.submit("a", passes)
    pool.submit("b", passes)
    pool.submit("c", fails)
    first = pool.take("a", timeout=5)
    assert first is not None and first.error is None
    failed = pool.take("c", timeout=5)
    assert failed is not None and isinstance(failed.error, CheckFailed)
    assert str(failed.error) == "bucket b: not found (NoSuchBucket)"
    assert pool.take("c", timeout=5) is None  # the retry: live
    pool.close()


def test_an_attempt_that_has_not_answered_within_its_timeout_timed_out() -> None:
    """Not a second, live attempt: the first took its whole timeout, as pytest-timeout
    would have ended it (the plugin words it inconclusive)."""
    release = threading.Event()
    pool = Prefetch(concurrency=1)
    pool.submit("stuck", release.wait)
    assert pool.take("stuck", timeout=0.05) is TIMED_OUT
    release.set()
    pool.close()


def test_an_attempt_that_took_longer_than_its_timeout_timed_out() -> None:
    pool = Prefetch(concurrency=1)
    pool.submit("slow", lambda: threading.Event().wait(0.2))
    pool._futures["slow"].result()  # it answered, but too late
    assert pool.take("slow", timeout=0.1) is TIMED_OUT
    pool.close()


def test_a_skip_is_an_outcome_too() -> None:
    pool = Prefetch(concurrency=1)
    pool.submit("skip", lambda: pytest.skip("opted out"))
    outcome = pool.take("skip", timeout=5)
    assert outcome is not None and isinstance(outcome.error, pytest.skip.Exception)
    pool.close()
