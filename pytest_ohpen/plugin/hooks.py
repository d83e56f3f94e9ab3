"""pytest hooks of pytest-ohpen (entry point ``pytest11``, name ``ohpen``; disable with
``-p no:ohpen``).

Thin by design: options live in ``config.settings``, the run's state in ``stash``,
fixtures in ``fixtures``, retry rules in ``retries``, the preflight boundary in
``preflight``, xdist's roles in ``xdist``. Stateful features are plugin objects registered
only when switched on and unregistered in pytest_unconfigure. Nothing here imports botocore
or moto, so the plugin adds no import cost to pytest runs that check nothing.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Generator, Sequence
from functools import partial
from typing import Any

import pytest

from pytest_ohpen.checks.base import CheckFailed, CheckInconclusive
from pytest_ohpen.config.settings import add_options, named_report
from pytest_ohpen.context import OhpenRun
from pytest_ohpen.errors import ConfigError, OhpenError
from pytest_ohpen.plugin.deadline import bound_attempt, deadline_of, start_deadline, timeout_reason
from pytest_ohpen.plugin.fixtures import (  # noqa: F401  (fixtures are registered by being here)
    PLUGIN_FIXTURES,
    RESOURCE_FIXTURES,
    TargetUnusable,
    bake_minutes,
    ohpen_alarm,
    ohpen_aws,
    ohpen_bake_window,
    ohpen_bucket,
    ohpen_deployed_at,
    ohpen_drill,
    ohpen_env,
    ohpen_glue_job,
    ohpen_invoke_lambda,
    ohpen_lambda,
    ohpen_role,
    ohpen_state_machine,
    ohpen_table,
    ohpen_target_state,
    ohpen_where,
)
from pytest_ohpen.plugin.outcomes import (
    CHECK_PROPERTY,
    INCONCLUSIVE_PROPERTY,
    KIND_PROPERTY,
    RESOURCE_PROPERTY,
)
from pytest_ohpen.plugin.preflight import REPORTER_NAME, USAGE_PREFIX, preflight, usage_error
from pytest_ohpen.plugin.retries import SETTLE_NAME, SettleRetries, SettleWindow, retry_policy
from pytest_ohpen.plugin.stash import RUN_KEY, prefetch_of, run_of, selection_of
from pytest_ohpen.plugin.xdist import (
    CONTROLLER_NAME,
    XdistController,
    is_controller,
    is_worker,
    send_to_controller,
)

STATEFUL_PLUGINS = (REPORTER_NAME, SETTLE_NAME, CONTROLLER_NAME)
"""The plugin objects registered while a run needs them; unregistered in pytest_unconfigure."""
LAST_FAILED_NARROWING = "lfplugin-collskip"
"""pytest's --lf registers this plugin once it drops files and items from collection,
which it does without calling pytest_deselected."""
PIPELINE_MARKER = "ohpen_pipeline"
DRILL_MARKER = "ohpen_drill"
BAKE_MARKER = "ohpen_bake"
DRILL_NEEDS_ONE_PROCESS = (
    "the rollback drill runs its steps in order in one process: run it without -n"
)
TIMEOUT_METHOD = "signal" if hasattr(signal, "SIGALRM") else "thread"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_ohpen.plugin import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{PIPELINE_MARKER}: a check that runs the pipeline end to end: bounded by the "
        "environment's pipeline_timeout, never retried (each try starts an execution)",
    )
    config.addinivalue_line(
        "markers",
        f"{BAKE_MARKER}: a check that watches the bake window: bounded by bake_minutes "
        "(--bake-minutes), not by the run's deadline",
    )
    config.addinivalue_line(
        "markers",
        f"{DRILL_MARKER}: a step of the rollback drill: runs only where drills = true, in "
        "order, in one process, never retried",
    )
    run = run_of(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "ohpen" in workerinput:
        run.adopt(workerinput["ohpen"])
    if _checks_an_environment(run):
        from pytest_ohpen.plugin.redaction import register as redact_logs
        from pytest_ohpen.util import collector

        redact_logs(config)  # removed at unconfigure (config.add_cleanup)
        config.add_cleanup(partial(collector.restore, collector.relax()))
    if getattr(config.option, "allure_report_dir", None):  # allure-pytest's --alluredir
        from pytest_ohpen.plugin.allure import register

        register(config)


def _checks_an_environment(run: OhpenRun) -> bool:
    """Whether this run names an environment (``--env``, OHPEN_ENV); a bad setting counts
    as yes: the run reports it later, and its logs are redacted meanwhile."""
    try:
        return run.settings.env_name is not None
    except OhpenError:
        return True


def pytest_unconfigure(config: pytest.Config) -> None:
    prefetch = prefetch_of(config)
    if prefetch is not None:
        prefetch.close()
        from pytest_ohpen.util import collector

        collector.spare_exit()  # botocore's large heap: not walked again by the last collections
    for name in STATEFUL_PLUGINS:
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin, name)
    if RUN_KEY in config.stash:
        config.stash[RUN_KEY].close()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """On xdist's controller: preflight once, before xdist starts the workers (its own
    pytest_sessionstart), so they share one embedded account and one account guard."""
    config = session.config
    if not is_controller(config):
        return
    run = run_of(config)
    config.pluginmanager.register(XdistController(run, config), CONTROLLER_NAME)
    _retire_previous_report(config)
    try:
        named = run.settings.env_name is not None
    except OhpenError as error:
        raise usage_error(error) from None
    if named:
        preflight(config, run)
        start_deadline(config)


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    """Whatever deselects (-k, -m, --deselect, --lf, a conftest), the run is then partial."""
    if items:
        selection_of(items[0].config).deselected += len(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note a --lf narrowing (it calls no pytest_deselected for what it drops); on an xdist
    worker, send what collection left out to the controller, which reports."""
    config = session.config
    selection = selection_of(config)
    if config.pluginmanager.has_plugin(LAST_FAILED_NARROWING):
        selection.narrowed = True
    send_to_controller(config, selection=selection.as_data())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per resource of the environment, the resource's name as its id."""
    if not PLUGIN_FIXTURES & set(metafunc.fixturenames):
        return
    config = metafunc.config
    if is_worker(config) and metafunc.definition.get_closest_marker(DRILL_MARKER):
        _worker_usage_error(config, DRILL_NEEDS_ONE_PROCESS)
    run = run_of(config)
    try:
        resources = run.environment.resources.by_kind()
    except OhpenError as error:
        if is_worker(config):
            _worker_usage_error(config, str(error))
        return  # pytest_collection_modifyitems raises it as a usage error
    for fixture, kind in RESOURCE_FIXTURES.items():
        if fixture in metafunc.fixturenames:
            names = list(resources[kind])
            metafunc.parametrize(fixture, names, indirect=True, ids=names)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Give each check the environment's retry and timeout; preflight before any runs."""
    checks = [item for item in items if PLUGIN_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if not checks:
        return
    run = run_of(config)
    if not is_worker(config) and not config.option.collectonly:
        _retire_previous_report(config)
    try:
        env = run.environment
        policy = retry_policy(
            env.retries,
            env.retry_delay,
            env.timeout,
            config.getoption("reruns", None),
            config.getoption("reruns_delay", None),
            config.getoption("timeout", None),
            config.getoption("force_reruns", None),
        )
        drill = [item for item in checks if item.get_closest_marker(DRILL_MARKER)]
        if drill:
            _refuse_unsafe_drill(config, run)
    except OhpenError as error:
        if is_worker(config):
            return  # already reported as a collection error by pytest_generate_tests
        raise usage_error(error) from None
    if not config.option.collectonly:
        if not is_worker(config):
            run.runs_pipelines = any(
                item.get_closest_marker(PIPELINE_MARKER) or item.get_closest_marker(DRILL_MARKER)
                for item in checks
            )
            preflight(config, run)
        start_deadline(config)  # a worker's starts as it begins (after preflight)
    for item in checks:
        _label(item, env.name)
        long_running = item.get_closest_marker(PIPELINE_MARKER) is not None
        in_drill = item.get_closest_marker(DRILL_MARKER) is not None
        reruns = 0 if long_running or in_drill else policy.reruns
        timeout = env.pipeline_timeout + policy.timeout if long_running else policy.timeout
        if item.get_closest_marker(BAKE_MARKER) is not None:
            timeout = bake_minutes(config) * 60 + policy.timeout
        if in_drill:
            timeout = env.rollback.timeout + env.pipeline_timeout + policy.timeout
        # A target state version that cannot be used stays so: not retried.
        item.add_marker(
            pytest.mark.flaky(reruns=reruns, reruns_delay=0, rerun_except=[TargetUnusable])
        )
        item.add_marker(pytest.mark.timeout(timeout, method=TIMEOUT_METHOD, func_only=True))
    if policy.reruns and not config.pluginmanager.has_plugin(SETTLE_NAME):
        deadline = start_deadline(config)  # started already, unless --collect-only
        window = SettleWindow(policy.settle_seconds, remaining=deadline.remaining)
        settle = SettleRetries({item.nodeid for item in checks}, window)
        config.pluginmanager.register(settle, SETTLE_NAME)


def _retire_previous_report(config: pytest.Config) -> None:
    """As a run that checks an environment starts, before its options are validated and
    before preflight: remove the previous run's readiness report, so a run that ends with a
    usage or preflight error (exit 4) leaves none behind that reads as its own."""
    from pytest_ohpen.readiness.conclude import retire_report

    path = named_report(config)
    if path is None:
        return
    try:
        retire_report(path)
    except OhpenError as error:
        raise usage_error(error) from None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run whose every check was skipped checked nothing: exit code 5 (pytest's "no tests
    ran"), not 0, whatever the skips were; a run with another failure keeps its code."""
    if _nothing_checked(session.config) and session.exitstatus == pytest.ExitCode.OK:
        from pytest_ohpen.plugin.evidence import NOTHING_CHECKED_EXIT  # known_good: not for --help

        session.exitstatus = NOTHING_CHECKED_EXIT


def _nothing_checked(config: pytest.Config) -> str | None:
    reporter = config.pluginmanager.get_plugin(REPORTER_NAME)
    return reporter.nothing_checked if reporter is not None else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    lines = config.stash[RUN_KEY].summary_lines if RUN_KEY in config.stash else []
    if lines:
        terminalreporter.section("ohpen")
        for line in lines:
            terminalreporter.write_line(line)
    nothing = _nothing_checked(config)
    if nothing:
        terminalreporter.write_line(f"ERROR: {USAGE_PREFIX}{nothing}", red=True, bold=True)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    return list(config.stash[RUN_KEY].report_lines) if RUN_KEY in config.stash else []


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """As the tests start (preflight passed): every check's first attempt, ahead, on the
    environment's ``concurrency`` threads (``plugin.prefetch``). Not on an xdist worker,
    whose share of the items xdist hands out one by one."""
    config = session.config
    if config.option.collectonly or is_worker(config) or is_controller(config):
        return
    checks = [item for item in session.items if _is_check(item)]
    if checks and run_of(config).preflight_done:
        from pytest_ohpen.plugin.prefetch import start

        start(config, checks)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A check's first attempt, when it was prefetched: its outcome, without a second call."""
    prefetch = prefetch_of(pyfuncitem.config)
    if prefetch is None:
        return None
    from pytest_ohpen.plugin.prefetch import TIMED_OUT

    marker = pyfuncitem.get_closest_marker("timeout")  # this attempt's, deadline-bound
    timeout = float(marker.args[0]) if marker and marker.args else float("inf")
    outcome = prefetch.take(pyfuncitem.nodeid, timeout)
    if outcome is None:
        return None
    if outcome is TIMED_OUT:  # worded (inconclusive) as pytest-timeout's own failure is
        pytest.fail(f"Timeout (>{timeout:.1f}s) from pytest-timeout.", pytrace=False)
    if outcome.error is not None:
        raise outcome.error
    return True


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """A long-running check (pipeline, drill step) has a budget of its own: the time it
    takes is added to the run's deadline, so the smoke checks keep their share."""
    deadline = deadline_of(item.config)
    if deadline is None or not _long_running(item):
        return (yield)
    started = time.monotonic()
    try:
        return (yield)
    finally:
        deadline.extend(time.monotonic() - started)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Each attempt of a smoke check is bounded by what is left of the run's deadline (its
    pytest-timeout, set here, outside pytest-timeout's own hook); none starts after it."""
    deadline = deadline_of(item.config)
    if deadline is not None and _is_check(item) and not _long_running(item):
        bound_attempt(item, deadline)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed check reports its one-line message, not a traceback into the check code;
    one that could not be performed (CheckInconclusive, or ended by pytest-timeout) is
    marked inconclusive on its report: still a failure of the run, never a finding."""
    report = yield
    excinfo = call.excinfo
    if excinfo is None or not report.failed:
        return report
    message: str | None = None
    if excinfo.errisinstance(CheckInconclusive):
        message = str(excinfo.value)
    elif excinfo.errisinstance(pytest.fail.Exception):
        message = timeout_reason(item, str(excinfo.value), deadline_of(item.config))
    if message is not None:  # a copy: the item's own list is shared by every attempt
        report.user_properties = [*report.user_properties, (INCONCLUSIVE_PROPERTY, "true")]
    if message is not None or excinfo.errisinstance(CheckFailed):
        longrepr = excinfo.getrepr(style="value")
        if longrepr.reprcrash is not None:  # the summary line shows the message alone
            longrepr.reprcrash.message = message or str(excinfo.value)
        report.longrepr = longrepr
    return report


def _is_check(item: pytest.Item) -> bool:
    return bool(PLUGIN_FIXTURES & set(getattr(item, "fixturenames", ())))


def _long_running(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in (PIPELINE_MARKER, DRILL_MARKER, BAKE_MARKER))


def _worker_usage_error(config: pytest.Config, message: str) -> None:
    """On an xdist worker: a usage error cannot be raised as one here, so it is this
    module's collection error (the user reads it) and goes to the controller as data
    (which makes the run's exit code 4)."""
    send_to_controller(config, usage_error=message)
    raise pytest.Collector.CollectError(f"{USAGE_PREFIX}{message}")


def _refuse_unsafe_drill(config: pytest.Config, run: OhpenRun) -> None:
    """The drill breaks things on purpose: only where drills = true, one fault, in order."""
    from pytest_ohpen.rollback.drill import choose_fault, refuse_unless_drills

    refuse_unless_drills(run.environment)
    choose_fault(run.settings.drill_fault, run.environment)
    if is_controller(config) or is_worker(config):
        raise ConfigError(DRILL_NEEDS_ONE_PROCESS)


def _label(item: pytest.Item, env_name: str) -> None:
    """Mark a check's reports with its environment and resource (read on the controller,
    shown in junit properties)."""
    item.user_properties.append((CHECK_PROPERTY, env_name))
    params = getattr(getattr(item, "callspec", None), "params", {})
    for fixture, kind in RESOURCE_FIXTURES.items():
        if fixture in params:
            item.user_properties.append((RESOURCE_PROPERTY, str(params[fixture])))
            item.user_properties.append((KIND_PROPERTY, kind))
            break
