"""The first attempt of every check, run ahead on a bounded thread pool.

The checks are AWS reads that wait on the network, not on the CPU: made one at a time, a
run over N resources costs N round trips end to end. So, as the run's tests start (the
account guard has passed), each of the plugin's own checks (the suites' test functions in
``pytest_ohpen.plugin``) whose arguments are all the plugin's fixtures is started on a pool
of ``concurrency`` threads with the very values pytest would give it; when pytest reaches
the test, its first attempt takes that result (a pass, the CheckFailed line, the
inconclusive line, a skip) instead of asking AWS again.

What runs live, as before: every retry (a retry must see the account as it is then), a
check written outside the plugin (whatever it prints is then captured and redacted with its
test), a check that takes a fixture of its own, a long-running one (pipeline, drill, bake),
and every check on an xdist worker (there xdist's processes are the parallelism). An
attempt that has not answered within its timeout is that attempt's timeout (inconclusive).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from pytest_ohpen.plugin.fixtures import RESOURCE_FIXTURES, deploy_time
from pytest_ohpen.plugin.services import INVOKER, services_of
from pytest_ohpen.plugin.stash import PREFETCH_KEY, run_of
from pytest_ohpen.util.threads import DaemonPool

OWN_CHECKS = "pytest_ohpen.plugin."
"""Only the plugin's own check functions (the suites') are made ahead: they print nothing. A
check written in a user's conftest or suite runs live, so whatever it prints is captured and
redacted with its test, as before."""
LIVE_MARKERS = ("ohpen_pipeline", "ohpen_drill", "ohpen_bake")
"""Checks with budgets of their own (they start executions, wait out windows): never ahead."""


@dataclass(frozen=True)
class Outcome:
    """How one prefetched attempt ended: ``error`` None is a pass."""

    error: BaseException | None
    seconds: float
    live: bool = False
    """A fixture value could not be made ahead: pytest's setup must make it (and report it)."""


TIMED_OUT = Outcome(None, float("inf"))
"""A prefetched attempt that did not end within its timeout."""


class _SetupFailed(Exception):
    """A fixture value made in the pool raised: not the check's outcome."""


class Prefetch:
    """The run's pool of prefetched first attempts, by test node id."""

    def __init__(self, concurrency: int) -> None:
        self._pool = DaemonPool(concurrency, "ohpen-prefetch")
        self._futures: dict[str, Future[Outcome]] = {}
        self._lock = threading.Lock()

    def submit(self, nodeid: str, call: Callable[[], object]) -> None:
        """Start ``call`` (a check's test function, its arguments bound) on the pool."""
        self._futures[nodeid] = self._pool.submit(partial(_attempt, call))

    def take(self, nodeid: str, timeout: float) -> Outcome | None:
        """The prefetched outcome of a check's first attempt, at most once per check; None
        (run it live) when there is none or a fixture value could not be made ahead. An
        attempt that has not ended within ``timeout`` (the attempt's own bound), or took
        longer, is :data:`TIMED_OUT`, as pytest-timeout would have ended it."""
        with self._lock:
            future = self._futures.pop(nodeid, None)
        if future is None:
            return None
        try:
            outcome = future.result(timeout=max(0.0, timeout))
        except FutureTimeout:
            future.cancel()
            return TIMED_OUT
        if outcome.live:
            return None
        return outcome if outcome.seconds <= timeout else TIMED_OUT

    def close(self) -> None:
        """Drop what has not started; never wait for a running AWS call at exit."""
        for future in self._futures.values():
            future.cancel()
        self._pool.close()

    def __len__(self) -> int:
        return len(self._futures)


def _attempt(call: Callable[[], object]) -> Outcome:
    started = time.monotonic()
    try:
        call()
    except _SetupFailed:
        return Outcome(None, time.monotonic() - started, live=True)
    except BaseException as error:  # a skip or a failure is the outcome
        return Outcome(error, time.monotonic() - started)
    return Outcome(None, time.monotonic() - started)


def start(config: pytest.Config, items: Iterable[pytest.Item]) -> Prefetch | None:
    """Prefetch every eligible check among ``items``; None when none is."""
    run = run_of(config)
    eligible = []
    for item in items:
        arguments = _arguments(config, item)
        if arguments is not None:
            eligible.append((item.nodeid, item.obj, arguments))  # type: ignore[attr-defined]
    if not eligible:
        return None
    # The clients the checks declare (``plugin.services``), made here and not on a pool
    # thread: botocore reads os.environ as it makes a client, and pytest edits it per test.
    for service in services_of(function for _, function, _ in eligible):
        if service == INVOKER:
            run.clients.invoker()
        else:
            run.clients.client(service)
    prefetch = Prefetch(min(run.environment.concurrency, len(eligible)))  # no idle threads
    for nodeid, function, arguments in eligible:
        prefetch.submit(nodeid, _bound(function, arguments))
    config.stash[PREFETCH_KEY] = prefetch
    return prefetch


def _bound(
    function: Callable[..., object], arguments: dict[str, Callable[[], Any]]
) -> Callable[[], object]:
    """The check with its arguments made first (in the pool: the deploy time is a call)."""

    def call() -> object:
        try:
            values = {name: make() for name, make in arguments.items()}
        except Exception as error:
            raise _SetupFailed from error
        return function(**values)

    return call


def _arguments(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]] | None:
    """How to make each value pytest would pass the check, when every argument is a plugin
    fixture whose value does not depend on the test's setup; None when it must run live."""
    if not isinstance(item, pytest.Function):
        return None
    if not getattr(item.obj, "__module__", "").startswith(OWN_CHECKS):
        return None
    if any(item.get_closest_marker(marker) for marker in LIVE_MARKERS):
        return None
    names = getattr(getattr(item, "_fixtureinfo", None), "argnames", None)
    if names is None:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    run = run_of(config)
    values: dict[str, Callable[[], Any]] = {}
    for name in names:
        if name in RESOURCE_FIXTURES and name in params:
            values[name] = _constant(params[name])
        elif name in _RUN_VALUES:
            values[name] = _constant(_RUN_VALUES[name](run))
        elif name == "ohpen_deployed_at":
            values[name] = lambda: deploy_time(config)
        else:
            return None
    return values


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


_RUN_VALUES: dict[str, Callable[[Any], Any]] = {
    "ohpen_aws": lambda run: run.clients,
    "ohpen_where": lambda run: run.where,
    "ohpen_env": lambda run: run.environment,
    "ohpen_invoke_lambda": lambda run: run.settings.invoke_lambda,
}
"""The session fixtures a prefetched check may take, as the fixtures give them."""
