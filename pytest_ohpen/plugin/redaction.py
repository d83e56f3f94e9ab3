"""Redaction of what a checking run logs and captures, wherever pytest shows or writes it.

Registered in pytest_configure for every run that names an environment, on each process
(xdist's workers too: their reports reach the controller already redacted), and removed
at unconfigure. Two nets:

- the log filter of :mod:`pytest_ohpen.records.log_redaction` on the root logger's handlers
  and on pytest's own (captured logs of each test, the report's log section, live logging,
  ``--log-file``), so DEBUG botocore request headers never reach the terminal, a file, a
  report or an Allure attachment;
- each test report's captured sections (stdout, stderr, log) and, when it would leak, its
  failure text, redacted before anyone reads the report: the terminal, ``--junitxml`` and
  allure-pytest, which attaches the sections.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import pytest

from pytest_ohpen.records.log_redaction import LogRedaction, process_handlers
from pytest_ohpen.records.redact import redact_text

PLUGIN_NAME = "ohpen-redaction"
LOGGING_PLUGIN = "logging-plugin"
"""The name pytest registers its LoggingPlugin under."""
PYTEST_HANDLERS = ("caplog_handler", "report_handler", "log_cli_handler", "log_file_handler")
"""LoggingPlugin's handlers: caplog, the report's log section, live logging, --log-file."""


def register(config: pytest.Config) -> None:
    """Redact this run's logs and captures until pytest unconfigures."""
    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    plugin = RunRedaction(config)
    config.pluginmanager.register(plugin, PLUGIN_NAME)
    config.add_cleanup(plugin.close)


def pytest_handlers(config: pytest.Config) -> list[logging.Handler]:
    """The handlers of pytest's logging plugin (none under ``-p no:logging``)."""
    plugin: Any = config.pluginmanager.get_plugin(LOGGING_PLUGIN)
    if plugin is None:
        return []
    found = (getattr(plugin, name, None) for name in PYTEST_HANDLERS)
    return [handler for handler in found if isinstance(handler, logging.Handler)]


class RunRedaction:
    """The plugin object: installs the log filter, redacts each test report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.logs = LogRedaction()

    def install(self) -> None:
        """Put the filter on pytest's handlers and the root logger's (again: a conftest or
        a fixture may have added one since)."""
        self.logs.install([*pytest_handlers(self.config), *process_handlers()])

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Generator[None, None, None]:
        """Before any hook of the session logs: the preflight calls AWS here."""
        self.install()
        return (yield)

    def pytest_runtest_logstart(self) -> None:
        self.install()

    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost: before allure-pytest reads it
    def pytest_runtest_makereport(self) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        redact_report(report)
        return report

    def close(self) -> None:
        self.logs.uninstall()
        if self.config.pluginmanager.get_plugin(PLUGIN_NAME) is self:
            self.config.pluginmanager.unregister(self, PLUGIN_NAME)


def redact_report(report: pytest.TestReport) -> None:
    """The report's captured sections redacted; a failure's text too, as plain text, only
    when it holds something to redact (the structured form keeps pytest's layout, and a
    skip's location tuple is left as pytest's summary needs it)."""
    report.sections = [(title, redact_text(content)) for title, content in report.sections]
    if not report.failed or report.longrepr is None:
        return
    text = report.longreprtext
    redacted = redact_text(text)
    if redacted != text:
        report.longrepr = redacted
