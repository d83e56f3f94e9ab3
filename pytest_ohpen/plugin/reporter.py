"""The readiness reporter: a plugin object that exists only on the process that reports
(the single process, or xdist's controller) and only once a run has passed preflight.

It collects each check's final outcome from the logged reports; at session finish it
assesses them (facts, verdict, report) and concludes (trigger, files, audit records) and
prints a few summary lines. The run's exit code is never changed.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.context import OhpenRun
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.plugin.deadline import deadline_of
from pytest_ohpen.plugin.outcomes import CheckOutcomes
from pytest_ohpen.plugin.preflight import REPORTER_NAME
from pytest_ohpen.plugin.stash import selection_of
from pytest_ohpen.readiness.assess import assess
from pytest_ohpen.readiness.conclude import Hooks, ReadinessRun, conclude

PLUGIN_NAME = REPORTER_NAME


def register(config: pytest.Config, run: OhpenRun) -> None:
    """The reporter on this process, once; the plugin's pytest_unconfigure removes it."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(ReadinessReporter(run), PLUGIN_NAME)


class ReadinessReporter:
    """Outcomes in, readiness report and rollback trigger out, at session finish."""

    def __init__(self, run: OhpenRun) -> None:
        self.run = run
        self.outcomes = CheckOutcomes()
        self.lines: list[str] = []
        self.failure: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.outcomes.record(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes.results:
            return  # no check ran (e.g. interrupted during collection)
        config = session.config
        terminal = config.pluginmanager.get_plugin("terminalreporter")

        def write_line(line: str) -> None:
            """Straight to the terminal, as it happens (the command's output is streamed)."""
            if terminal is not None:
                terminal.write_line(line)

        hook = config.hook
        settings = self.run.settings
        try:
            run = ReadinessRun(
                env=self.run.environment,
                clients=self.run.clients,
                audit=self.run.audit_store(),
                repo=self.run.repo,
                report_path=self.run.report_path(),
                caller_arn=self.run.caller_arn,
                rollback_mode=settings.rollback_mode,
                target_ref=settings.rollback_target,
                approved_by=settings.approved_by,
                notify=settings.notify,
                complete_run=_complete(config),
                hooks=Hooks(
                    facts=hook.pytest_ohpen_readiness_facts,
                    report=hook.pytest_ohpen_readiness_report,
                    veto=hook.pytest_ohpen_rollback_veto,
                    concluded=hook.pytest_ohpen_readiness_concluded,
                ),
                write_line=write_line,
                deadline=deadline_of(config),
            )
            self.lines = conclude(run, assess(run, self.outcomes)).lines
        except OhpenError as error:
            self.failure = str(error)
        except Exception as error:  # a report problem must not change the checks' exit code
            self.failure = f"{type(error).__name__}: {error}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.lines and not self.failure:
            return
        terminalreporter.section("ohpen rollback readiness")
        for line in self.lines:
            terminalreporter.write_line(line)
        if self.failure:
            terminalreporter.write_line(
                f"readiness report could not be completed: {self.failure}", red=True
            )


def _complete(config: pytest.Config) -> bool:
    """Whether every collected check was selected: only then can a pass mark known-good.

    Collection reports what it leaves out (``pytest_deselected``, tracked in the run's
    Selection); node ids on the command line select some checks without deselecting any.
    """
    if any("::" in arg for arg in config.args):
        return False
    return selection_of(config).everything
