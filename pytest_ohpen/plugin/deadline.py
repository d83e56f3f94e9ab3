"""The run-wide deadline in a pytest run: started once the account guard has passed,
it bounds each check attempt (its pytest-timeout), the settle wait before a retry
(``retries``) and the readiness gathering (``reporter``).

A long-running check (a pipeline run, a drill step) has its own explicit budget, longer
than a smoke run's: it is not bounded by the deadline, and the time it takes is added to
it, so the smoke checks around it keep their share.
"""

from __future__ import annotations

import re

import pytest

from pytest_ohpen.checks.base import INCONCLUSIVE_PREFIX, CheckInconclusive
from pytest_ohpen.plugin.stash import run_of
from pytest_ohpen.util.deadline import Deadline

DEADLINE_KEY = pytest.StashKey[Deadline]()
BOUND_MARK_KEY = pytest.StashKey[pytest.Mark]()
"""The timeout marker this module put on an item for its current attempt."""
PYTEST_TIMEOUT = re.compile(r"Timeout \(>([0-9.]+)s\) from pytest-timeout")
"""pytest-timeout's failure message (``PYTEST_FAILURE_MESSAGE``)."""


def start_deadline(config: pytest.Config) -> Deadline:
    """The run's deadline, started now (once: later calls return the running one)."""
    if DEADLINE_KEY not in config.stash:
        config.stash[DEADLINE_KEY] = Deadline(run_of(config).environment.deadline)
    return config.stash[DEADLINE_KEY].start()


def deadline_of(config: pytest.Config) -> Deadline | None:
    """The run's deadline, when it has been started."""
    return config.stash.get(DEADLINE_KEY, None)


def bound_attempt(item: pytest.Item, deadline: Deadline) -> None:
    """Before one attempt: refuse it as inconclusive when the deadline has run out, else
    bound its pytest-timeout by what is left (the marker read by pytest-timeout's
    ``pytest_runtest_call``, which runs inside this)."""
    if deadline.expired:
        raise CheckInconclusive(
            f"{item.name}: {INCONCLUSIVE_PREFIX}{deadline.ran_out()} before it could start"
        )
    previous = item.stash.get(BOUND_MARK_KEY, None)
    if previous is not None:
        item.own_markers.remove(previous)
    marker = item.get_closest_marker("timeout")
    configured = float(marker.args[0]) if marker and marker.args else deadline.seconds
    kwargs = dict(marker.kwargs) if marker else {}
    kwargs["func_only"] = True
    bound = pytest.mark.timeout(deadline.bound(configured), **kwargs)
    item.add_marker(bound, append=False)
    item.stash[BOUND_MARK_KEY] = bound.mark


def timeout_reason(item: pytest.Item, failure: str, deadline: Deadline | None) -> str | None:
    """The inconclusive line of an attempt pytest-timeout ended, from its failure text
    ("Timeout (>15.0s) from pytest-timeout."); None for any other failure."""
    found = PYTEST_TIMEOUT.match(failure)
    if found is None:
        return None
    ran_out = f"; {deadline.ran_out()}" if deadline is not None and deadline.expired else ""
    return (
        f"{item.name}: {INCONCLUSIVE_PREFIX}no answer within {float(found[1]):g} s "
        f"(pytest-timeout){ran_out}"
    )
