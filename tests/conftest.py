"""Shared fixtures of the plugin's own tests.

Two ways to reach the emulator, never mixed in one process (moto keeps its data
per process):
- ``moto_url``: a moto server in this test process, for checks and preflight code
  called directly, and as an "independently provisioned" account that pytest runs
  in a subprocess point at through ``endpoint_url``;
- ``emulated`` runs (``emulated = true``), always in a subprocess
  (``pytester.runpytest_subprocess``), which start their own embedded account.

Tests sit in three tiers: ``tests/unit`` (no AWS, no process, no connection: enforced
below by ``offline``), ``tests/aws`` (moto's server in this process) and ``tests/e2e``
(pytester runs, the embedded account, real Terraform and git). Tests of the checks,
the state restore and readiness build their AWS resources with tests/accounts.py (plain
boto3, literal names), not with pytest_ohpen.emulator, so they cannot share its bugs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Audit, Environment

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "tests" / "unit"
SMOKE_SUITE = REPO / "suites" / "smoke" / "test_smoke.py"
PLAYBOOK_LIST = (
    "test_bucket_accessible",
    "test_glue_job_exists",
    "test_lambda_active",
    "test_lambda_invocable",
    "test_state_machine_active",
)
"""The smoke suite's first checks, the playbook's list: one per resource. The plugin's own
mechanics (retries, settle window, deadline, known-good marks, Allure, readiness) are tested on
a suite of these, so a missing resource fails one check; the whole suite (every playbook
failure) is tested by test_smoke_suite's green run and tests/e2e/test_playbook_faults.py."""
PLAYBOOK_LIST_SUITE = (
    '"""The playbook\'s list of smoke checks, collected from the plugin (test data)."""\n\n'
    "from pytest_ohpen.plugin.smoke_tests import (  # noqa: F401\n"
    + "".join(f"    {name},\n" for name in PLAYBOOK_LIST)
    + ")\n"
)
SIX_RESOURCES = {
    "buckets": ["ohpen-bronze", "ohpen-silver", "ohpen-artifacts"],
    "glue_jobs": ["ohpen-transaction-etl-spark"],
    "state_machines": ["ohpen-etl-orchestration"],
    "lambdas": ["ohpen-read-run-summary"],
    # What the smoke suite's IAM and catalog checks read (the embedded stack has them).
    "roles": [
        "ohpen-transaction-etl-spark-role",
        "ohpen-etl-orchestration-role",
        "ohpen-read-run-summary-role",
    ],
    "tables": ["silver.transactions"],
    "permissions": {"ohpen-read-run-summary-role": ["s3:GetObject arn:aws:s3:::ohpen-silver/*"]},
}


class OfflineViolation(BaseException):
    """A unit test started a process or opened a connection.

    A BaseException, so no ``except Exception`` (nor botocore's retry on OSError) can turn
    it into an ordinary error path that the test then passes on."""


NOT_IN_UNIT = ("moto_url", "fresh_moto", "pytester", "suite_dir")
"""Fixtures that reach moto's server or run pytest: they belong to tests/aws or tests/e2e."""


@contextmanager
def offline(nodeid: str) -> Generator[None]:
    """Within: starting a process or connecting a socket raises OfflineViolation."""

    def refuse(what: str) -> Any:
        def refused(*args: object, **kwargs: object) -> None:
            raise OfflineViolation(f"{nodeid}: a unit test may not {what} (tests/unit is offline)")

        return refused

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "_execute_child", refuse("start a process"))
        for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp"):
            if hasattr(os, name):
                patch.setattr(os, name, refuse(f"start a process (os.{name})"))
        for name in ("connect", "connect_ex", "sendto"):
            patch.setattr(socket.socket, name, refuse(f"open a connection (socket.{name})"))
        yield


def _in_unit(item: pytest.Item) -> bool:
    return item.path.is_relative_to(UNIT)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    """tests/unit: no AWS or pytester fixture, and no process or connection while fixtures
    are set up."""
    if not _in_unit(item):
        return (yield)
    asked = [name for name in NOT_IN_UNIT if name in getattr(item, "fixturenames", ())]
    if asked:
        raise OfflineViolation(
            f"{item.nodeid}: a unit test may not use {', '.join(asked)}: "
            "move it to tests/aws or tests/e2e"
        )
    with offline(item.nodeid):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    """tests/unit: no process or connection while the test runs."""
    if not _in_unit(item):
        return (yield)
    with offline(item.nodeid):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None]:
    """tests/unit: no process or connection while fixtures are torn down."""
    if not _in_unit(item):
        return (yield)
    with offline(item.nodeid):
        return (yield)


TEST_CACHE = Path(tempfile.gettempdir()) / f"pytest-ohpen-tests-{os.getuid()}"
SHARED_CACHE_PARTS = ("terraform-provider", "deployment-history")
"""What a test with a cache of its own still shares (generated once per machine)."""


def share_generated(cache: Path) -> None:
    """Give ``cache`` (a test's own, for its own emulator records) the tests' provider
    mirror and recorded applies, so it does not deploy the stack again."""
    cache.mkdir(parents=True, exist_ok=True)
    for part in SHARED_CACHE_PARTS:
        (TEST_CACHE / part).mkdir(parents=True, exist_ok=True)
        (cache / part).symlink_to(TEST_CACHE / part, target_is_directory=True)


@pytest.fixture(autouse=True)
def fake_aws_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Recognisable fake credentials, no developer AWS config or instance metadata, and a
    cache folder of the test session's own."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "OHPEN_")) or name in {
            "SMOKE_INVOKE_LAMBDA",
            "MOTO_PORT",
            "MOTO_ACCOUNT_ID",
        }:
            monkeypatch.delenv(name)
    # What pytest-ohpen generates per machine (the embedded provider's mirror, the recorded
    # Terraform applies, running embedded accounts) goes to a folder of the tests' own: never
    # the user's (no test attaches to an operator's `ohpen emulator start`), and shared by
    # workers and sessions (a stack's applies are recorded once per machine, not per test).
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(TEST_CACHE))
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEOHPENTEST0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-ohpen-test-do-not-leak")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on 127.0.0.1 in this process, for the whole test session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fresh_moto(moto_url: str) -> str:
    """The session's moto server, emptied for this test."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=10).read()
    return moto_url


@pytest.fixture
def moto_process(tmp_path: Path) -> Iterator[str]:
    """A moto server in a process of its own, for an e2e test whose account is changed by
    several processes: moto's in-process backends are shared by every test of the worker, and
    some states (a Lambda backend after a drill) survive ``/moto-api/reset``."""
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "moto-server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"moto_server exited: {server.returncode}") from None
                time.sleep(0.05)
        else:
            raise RuntimeError("moto_server did not answer within 10 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def moto_clients(url: str, **overrides: Any) -> AwsClients:
    """Clients of a non-emulated environment "test" (account 123456789012, eu-west-1, a 10 s
    timeout) pointed at the moto server ``url``; ``overrides`` replace Environment fields."""
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment

    fields: dict[str, Any] = {
        "name": "test",
        "source": Path("environments.toml"),
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": url,
        "timeout": 10,
    }
    fields.update(overrides)
    return AwsClients(Environment(**fields))


def toml_value(value: object) -> str:
    """A Python value as TOML (strings, numbers, booleans, lists of strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):  # an inline table
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value)


def environments_toml(envs: dict[str, dict[str, object]]) -> str:
    """An environments file: ``{"local": {"account_id": ..., "resources": {...}}}``."""
    lines: list[str] = []
    for name, keys in envs.items():
        lines.append(f"[{name}]")
        tables = {k: v for k, v in keys.items() if isinstance(v, dict)}
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items() if k not in tables]
        for table, values in tables.items():
            lines.append(f"[{name}.{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def local_env(**overrides: object) -> dict[str, object]:
    """An emulated environment with the playbook's six resources and a short retry delay."""
    env: dict[str, object] = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "emulated": True,
        "retry_delay": 0.5,
        "timeout": 20,
        "resources": dict(SIX_RESOURCES),
    }
    env.update(overrides)
    return env


@pytest.fixture
def suite_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding the smoke suite's playbook list (``PLAYBOOK_LIST``)."""
    (pytester.path / "test_smoke.py").write_text(PLAYBOOK_LIST_SUITE)
    return pytester


AUDIT_START = datetime(2026, 11, 26, 10, 37, 12, tzinfo=UTC)


class AuditClock:
    """A clock that advances one minute per reading, so audit records have distinct times."""

    def __init__(self, start: datetime = AUDIT_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(minutes=1)
        return now


def files_under(directory: Path) -> Iterator[Path]:
    """Every file below ``directory``."""
    return (path for path in directory.rglob("*") if path.is_file())


def prod_environment(**overrides: Any) -> Environment:
    """Environment "prod" (account 123456789012, eu-west-1, from environments.toml), a real
    one unless ``overrides`` say otherwise: the one tests build in code."""
    from pytest_ohpen.config.environments import Environment

    values: dict[str, Any] = {
        "name": "prod",
        "source": Path("environments.toml"),
        "account_id": "123456789012",
        "region": "eu-west-1",
    }
    return Environment(**{**values, **overrides})


def audit_environment(audit: Audit) -> Environment:
    """Environment "prod" (account 123456789012, eu-west-1) keeping its records in ``audit``."""
    return prod_environment(audit=audit)
