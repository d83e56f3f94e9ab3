"""Working with pytest-xdist: which process this is, and what crosses between them.

The controller is asked of xdist itself: xdist registers its distributed session as the
plugin ``dsession`` (in its trylast ``pytest_configure``) exactly when it will start
workers, so ``--dist load`` without ``-n`` (no workers) is a single process here too.
Workers send what the controller needs through xdist's ``workeroutput``, which reaches the
controller's ``pytest_testnodedown`` as plain data, never through a report's text.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.context import OhpenRun
from pytest_ohpen.plugin.stash import selection_of

CONTROLLER_NAME = "ohpen-xdist-controller"
WORKER_OUTPUT = "ohpen"
"""The key of the plugin's data in xdist's ``workeroutput``."""


def is_controller(config: pytest.Config) -> bool:
    """Whether this process is xdist's controller (valid from ``pytest_sessionstart`` on)."""
    return config.pluginmanager.has_plugin("dsession")


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (xdist's own test: it set ``workerinput``)."""
    return hasattr(config, "workerinput")


def send_to_controller(config: pytest.Config, **values: Any) -> None:
    """On a worker, hand plain ``values`` to the controller (nothing elsewhere)."""
    output: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if output is not None:
        output.setdefault(WORKER_OUTPUT, {}).update(values)


class XdistController:
    """xdist's controller: preflight once for every worker, hand the result over, and
    gather what the workers send back (a usage error, what their collection left out)."""

    def __init__(self, run: OhpenRun, config: pytest.Config) -> None:
        self.run = run
        self.config = config
        self.usage_error = False

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["ohpen"] = self.run.handoff()

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        sent: dict[str, Any] = (getattr(node, "workeroutput", None) or {}).get(WORKER_OUTPUT, {})
        if sent.get("usage_error"):
            self.usage_error = True
        if "selection" in sent:
            selection_of(self.config).add(sent["selection"])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.usage_error:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
