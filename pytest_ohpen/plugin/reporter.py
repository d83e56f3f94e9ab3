"""The readiness reporter: a plugin object that exists only on the process that reports
(the single process, or xdist's controller) and only once a run has passed preflight.

It collects each check's final outcome from the logged reports; at session finish it
assesses them (facts, verdict, report) and concludes (trigger, files, audit records) and
prints a few summary lines. A run whose every check was skipped checked nothing: it
concludes nothing (no report, no record, no mark) and the plugin's hooks end it with exit
code 5. Otherwise the run's exit code is never changed here.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.context import OhpenRun
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.plugin.deadline import deadline_of
from pytest_ohpen.plugin.evidence import evidence_of, nothing_checked
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

    @property
    def nothing_checked(self) -> str | None:
        """The one line when every check was skipped (the run then ends with exit 5)."""
        return nothing_checked(self.outcomes.results, self.run.environment.name)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes.results:
            return  # no check ran (e.g. interrupted during collection)
        if self.nothing_checked:
            return  # nothing to conclude from: no report, no mark (exit 5, see hooks)
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
                evidence=evidence_of(
                    self.outcomes.results,
                    self.run.environment.name,
                    left_out=_left_out(session),
                ),
                deployed_commit=settings.deployed_commit,
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


def _left_out(session: pytest.Session) -> str | None:
    """What of the collected checks did not run, or None: only a run that left nothing out
    can mark known-good.

    Collection reports what it leaves out (``pytest_deselected``, tracked in the run's
    Selection); node ids on the command line select some checks without deselecting any;
    -x, --maxfail and Ctrl-C stop a run before every check ran.
    """
    config = session.config
    if any("::" in arg for arg in config.args) or not selection_of(config).everything:
        return "only part of the checks was selected (-k, -m, --deselect, --lf or node ids)"
    if (
        session.shouldstop
        or session.shouldfail
        or (session.exitstatus == pytest.ExitCode.INTERRUPTED)
    ):
        return "the run stopped before every check ran"
    return None
