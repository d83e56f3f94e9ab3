"""The plugin's boundary with pytest and xdist: how preflight failures end, how long the
embedded account's setup may take, which runs count as complete, and which plugin objects
exist while a run needs them.

Emulated runs go through ``runpytest_subprocess`` (each starts its own embedded account);
their conftest slows moto down or breaks it in that subprocess only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import environments_toml, local_env

from pytest_ohpen.plugin.preflight import REPORTER_NAME
from pytest_ohpen.plugin.retries import SETTLE_NAME

SECRETS = ("fake-secret-ohpen-test-do-not-leak", "AKIAFAKEOHPENTEST0001")
TERRAFORM = {"state_bucket": "ohpen-terraform-state", "state_key": "lake/terraform.tfstate"}

SLOW_STATE_MACHINES = """\
import time

import moto.stepfunctions.models as stepfunctions

import pytest_ohpen.aws.timeouts as timeouts

_create = stepfunctions.StepFunctionBackend.create_state_machine


def slow_create(self, *args, **kwargs):
    time.sleep(@SECONDS@)  # moto's first CreateStateMachine on a busy machine
    return _create(self, *args, **kwargs)


stepfunctions.StepFunctionBackend.create_state_machine = slow_create
if @TINY@:
    timeouts.PROVISIONING = timeouts.ClientTimeouts(connect=1.0, read=0.5, max_attempts=1)
"""
BROKEN_MOTO = """\
import moto.server


def refuse(self, *args, **kwargs):
    raise OSError(98, "Address already in use")


moto.server.ThreadedMotoServer.start = refuse
"""


def write_local(pytester: pytest.Pytester, **overrides: object) -> None:
    pytester.path.joinpath("environments.toml").write_text(
        environments_toml({"local": local_env(retry_delay=0, **overrides)})
    )


def slow_state_machines(pytester: pytest.Pytester, seconds: float, tiny: bool) -> None:
    pytester.makeconftest(
        SLOW_STATE_MACHINES.replace("@SECONDS@", str(seconds)).replace("@TINY@", str(tiny))
    )


def one_usage_error(result: pytest.RunResult) -> str:
    """The run's single ``ERROR: ohpen:`` line; exit code 4, no traceback, no credential."""
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    lines = [line for line in result.errlines if line.startswith("ERROR: ohpen: ")]
    assert len(lines) == 1, result.errlines
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert not [secret for secret in SECRETS if secret in output]
    assert "PASSED" not in output
    return lines[0]


# ------------------------------------------------------- preflight failures are one line


def test_a_provisioning_timeout_is_one_usage_line(suite_dir: pytest.Pytester) -> None:
    """A provisioning call that outlasts its read timeout stops the run as a usage error."""
    write_local(suite_dir)
    slow_state_machines(suite_dir, seconds=2.0, tiny=True)
    result = suite_dir.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider")
    line = one_usage_error(result)
    assert line.startswith(
        "ERROR: ohpen: the embedded account for environment 'local' could not be "
        "provisioned at http://127.0.0.1:"
    )
    assert "ReadTimeoutError" in line and "0.5 s" in line


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_a_moto_that_does_not_start_is_one_usage_line(
    suite_dir: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    """Any exception while starting the embedded account, on the controller too."""
    write_local(suite_dir)
    suite_dir.makeconftest(BROKEN_MOTO)
    result = suite_dir.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider", *workers)
    line = one_usage_error(result)
    assert line == (
        "ERROR: ohpen: the embedded account for environment 'local' could not start: "
        "OSError: [Errno 98] Address already in use"
    )


def test_provisioning_does_not_use_the_checks_tight_timeouts(suite_dir: pytest.Pytester) -> None:
    """A 5 s check budget (0.7 s reads) does not starve a 2 s CreateStateMachine."""
    write_local(suite_dir, timeout=5)
    slow_state_machines(suite_dir, seconds=2.0, tiny=False)
    result = suite_dir.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["ohpen: embedded account provisioned in *"])


# ------------------------------------------------------- complete runs and deselection

DESELECT_SILVER = """\
def pytest_collection_modifyitems(config, items):
    silver = [item for item in items if "ohpen-silver" in item.nodeid]
    items[:] = [item for item in items if item not in silver]
    config.hook.pytest_deselected(items=silver)
"""


def known_good_marks(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    folder = pytester.path / "reports" / "audit" / "local" / "known_good"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
@pytest.mark.parametrize("deselect", [False, True], ids=["all checks", "conftest deselects"])
def test_only_a_run_that_deselected_nothing_marks_known_good(
    suite_dir: pytest.Pytester, deselect: bool, workers: tuple[str, ...]
) -> None:
    """A conftest that deselects through pytest_deselected makes the run partial, as -k
    does; with xdist the workers, which collect, tell the controller, which reports."""
    write_local(suite_dir, terraform=dict(TERRAFORM))
    if deselect:
        suite_dir.makeconftest(DESELECT_SILVER)
    result = suite_dir.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider", *workers)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=5 if deselect else 6, skipped=1)
    marks = known_good_marks(suite_dir)
    assert len(marks) == (0 if deselect else 1)


# ------------------------------------------------------- plugin objects while needed

REGISTRATIONS = """\
import json


def test_registered(ohpen_bucket, pytestconfig):
    names = ["@REPORTER@", "@SETTLE@"]
    with open("registered.json", "w") as out:
        json.dump({name: pytestconfig.pluginmanager.has_plugin(name) for name in names}, out)
"""


@pytest.mark.parametrize("retries", [1, 0])
def test_stateful_plugins_exist_only_while_switched_on_and_until_unconfigure(
    pytester: pytest.Pytester, fresh_moto: str, retries: int
) -> None:
    """The readiness reporter after preflight, the settle window only when checks are
    retried; neither stays registered once pytest has unconfigured."""
    pytester.makepyfile(
        test_x=REGISTRATIONS.replace("@REPORTER@", REPORTER_NAME).replace("@SETTLE@", SETTLE_NAME)
    )
    env = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": fresh_moto,
        "retries": retries,
        "resources": {"buckets": ["ohpen-bronze"]},
    }
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"a": env}))

    recorder = pytester.inline_run("--env", "a", "-p", "no:cacheprovider")

    recorder.assertoutcome(passed=1)
    during = json.loads(Path(pytester.path, "registered.json").read_text())
    assert during == {REPORTER_NAME: True, SETTLE_NAME: bool(retries)}
    config = recorder.getcall("pytest_sessionstart").session.config
    for name in (REPORTER_NAME, SETTLE_NAME):
        assert not config.pluginmanager.has_plugin(name), f"{name} unregistered at unconfigure"
