"""Allure results for a checking run (``--alluredir``, allure-pytest): what a reader of the
Allure report needs beyond pass and fail. This module is the listener; the labels are worked
out in :mod:`pytest_ohpen.plugin.allure_labels`, the run's files written by
:mod:`pytest_ohpen.plugin.allure_files`.

- Every check is labelled where it runs (a worker under xdist): epic = environment,
  feature = AWS service, story = the check in words, tag = the suite, severity (blocker for
  smoke), the resource as a parameter and a link to it in the AWS console. Labels go in
  through ``allure.dynamic`` at setup, not as collection markers: allure-pytest's
  ``--allure-features``-style selection would then deselect checks behind the back of the
  known-good logic, which trusts a run only when nothing was deselected.
- A check that failed and then passed on its retry gets ``statusDetails.flaky`` and the tag
  "passed on retry" (allure-pytest writes one result per attempt, same historyId).
- At the end, on the process that reports (single process or xdist controller), the
  readiness report (the typed one, ``pytest_ohpen_readiness_concluded``) becomes
  ``environment.properties``, ``categories.json`` and a synthetic result.
- Last, on that process, every file the run put in the folder is redacted in place:
  allure-pytest copies a failure's message from the exception itself.

The module is imported only when ``--alluredir`` is given; allure has no type hints, so it
is used as Any.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import allure as _allure
import pytest
from allure_commons import model2 as _model2

from pytest_ohpen.plugin.allure_files import redact_results, write_run_files
from pytest_ohpen.plugin.allure_labels import CheckLabels, check_labels
from pytest_ohpen.plugin.outcomes import check_tag

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.readiness.report import Report

allure: Any = _allure
model: Any = _model2

PLUGIN_NAME = "ohpen-allure-results"
ALLURE_LISTENER = "allure_listener"
"""The name allure-pytest registers its listener under (its test results live there)."""
PASSED_ON_RETRY = "passed on retry"
"""The tag of a check's attempt that passed after a failed one."""


def register(config: pytest.Config) -> None:
    """Register the plugin object on this process (controller and workers alike) and
    unregister it when pytest unconfigures, as allure-pytest does with its listener."""
    results = AllureResults(config, Path(os.path.abspath(config.option.allure_report_dir)))
    config.pluginmanager.register(results, PLUGIN_NAME)
    config.add_cleanup(lambda: config.pluginmanager.unregister(name=PLUGIN_NAME))


def apply_labels(labels: CheckLabels) -> None:
    """Put the labels on the test result allure-pytest has scheduled for this attempt."""
    dynamic = allure.dynamic
    dynamic.epic(labels.epic)
    if labels.feature:
        dynamic.feature(labels.feature)
    dynamic.story(labels.story)
    if labels.suite:
        dynamic.tag(labels.suite)
    dynamic.label("severity", labels.severity)
    if labels.resource is not None:
        dynamic.parameter("resource", labels.resource)
    if labels.link:
        url, name = labels.link
        dynamic.link(url, name=name)


class AllureResults:
    """Labels each check's attempts; writes the run-level files where the run is reported."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.running: str | None = None
        """The node id of the check whose attempt runs on this process now."""
        self.retry = 0
        """Which retry the running attempt is (0: the first attempt)."""
        self.written: list[Path] = []
        self.failure: str | None = None
        self.started = time.time() - 1  # mtimes may be coarser than time.time()

    @pytest.hookimpl(tryfirst=True)  # before a skip marker ends the setup
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        from pytest_ohpen.plugin.stash import run_of

        if check_tag(item.user_properties) is None:
            return  # not a check: nothing to say, and no environment to load
        env = run_of(item.config).environment
        labels = check_labels(item, env.region, env.account_id, item.config.rootpath)
        if labels is None:
            return
        self.running, self.retry = item.nodeid, 0
        apply_labels(labels)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid == self.running:
            self.retry = max(self.retry, int(getattr(report, "rerun", 0) or 0))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """Runs inside allure-pytest's own logfinish wrapper, before it writes the result."""
        if nodeid != self.running:
            return
        retry, self.running, self.retry = self.retry, None, 0
        if retry:
            mark_passed_on_retry(self.config, retry)

    def pytest_ohpen_readiness_concluded(self, report: Report, env: Environment) -> None:
        """The run is over and reported (this is the reporting process): write its files."""
        try:
            self.written = write_run_files(self.directory, report, env)
        except OSError as error:  # the readiness report stands; say what is missing
            self.failure = f"{type(error).__name__}: {error}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.failure:
            terminalreporter.write_line(
                f"ohpen: Allure run files not written to {self.directory}: {self.failure}",
                red=True,
            )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Every writer is done by now (xdist's workers included): redact what they wrote."""
        from pytest_ohpen.plugin.xdist import is_worker

        if is_worker(config) or not self.directory.is_dir():
            return
        try:
            redact_results(self.directory, self.started)
        except OSError as error:  # nothing to say it with any more: stderr
            sys.stderr.write(f"ohpen: Allure results in {self.directory} not redacted: {error}\n")


def mark_passed_on_retry(config: pytest.Config, retry: int) -> None:
    """Mark the attempt's result flaky, if it passed (allure-pytest set its status)."""
    listener: Any = config.pluginmanager.get_plugin(ALLURE_LISTENER)
    result: Any = listener.allure_logger.get_test(None) if listener is not None else None
    if result is None or result.status != "passed":
        return
    details = result.statusDetails or model.StatusDetails()
    details.flaky = True
    details.message = details.message or (
        f"passed on attempt {retry + 1}, after {retry} failed attempt{'s' if retry > 1 else ''}"
    )
    result.statusDetails = details
    allure.dynamic.tag(PASSED_ON_RETRY)
