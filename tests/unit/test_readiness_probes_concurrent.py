"""The readiness probes are made at once (one thread per resource, up to ``concurrency``),
and still read back in order, each outcome worded as a sequential probe would word it."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from conftest import prod_environment

from pytest_ohpen.config.environments import Environment
from pytest_ohpen.readiness import gather


def _env(concurrency: int) -> Environment:
    return prod_environment(concurrency=concurrency)


def test_probes_run_at_once_and_come_back_in_order() -> None:
    meet = threading.Barrier(3, timeout=5)  # only passes when three calls are in flight

    def probe(answer: str) -> str:
        meet.wait()
        return answer

    probes = [(name, lambda name=name: probe(name)) for name in ("a", "b", "c")]
    answers = gather._ahead(_env(16), probes)
    assert [(what, answer()) for what, answer in answers] == [("a", "a"), ("b", "b"), ("c", "c")]


def test_an_error_is_raised_where_its_probe_is_read() -> None:
    def fails() -> str:
        raise OSError("reset")

    answers = gather._ahead(_env(4), [("ok", lambda: "fine"), ("bad", fails)])
    assert answers[0][1]() == "fine"
    with pytest.raises(OSError, match="reset"):
        answers[1][1]()


class InFlight:
    """A probe that counts how many of its calls are in flight at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.now, self.most = seconds, 0, 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        threading.Event().wait(self.seconds)
        with self._lock:
            self.now -= 1
        return 1


def test_concurrency_one_never_has_two_calls_in_flight() -> None:
    probe = InFlight(0.01)
    answers = gather._ahead(replace(_env(1)), [(str(i), probe) for i in range(5)])
    assert sum(answer() for _, answer in answers) == 5
    assert probe.most == 1


def test_the_pool_leaves_one_call_of_concurrency_to_the_caller() -> None:
    """The gathering reads the state and the lock itself while the probes are in flight:
    at ``concurrency`` 2 one probe is out at a time, so the two together stay within 2."""
    probe = InFlight(0.02)
    answers = gather._ahead(_env(2), [(str(i), probe) for i in range(4)])
    assert sum(answer() for _, answer in answers) == 4
    assert probe.most == 1
