"""Run moto's server on 127.0.0.1 as the embedded AWS account, provisioned with the stack."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.emulator import glue_runs
from pytest_ohpen.emulator.alarm_history import install as install_alarm_history
from pytest_ohpen.emulator.fault import Fault
from pytest_ohpen.emulator.faults import inject
from pytest_ohpen.emulator.iam_simulation import install as install_iam_simulation
from pytest_ohpen.emulator.moto_lookups import install as install_moto_lookups
from pytest_ohpen.emulator.provision import provision
from pytest_ohpen.emulator.stack import Stack
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.cache import usable_cache_dir


def moto_config(execute_pipelines: bool) -> dict[str, dict[str, bool]]:
    """Lambda without docker (canned, successful results), and state machines run for real
    only when the run starts executions: turning moto's executor on imports its ASL parser
    (and moto.batch, moto.ec2), about 2 s of CPU on the first CreateStateMachine."""
    return {
        "stepfunctions": {"execute_state_machine": execute_pipelines},
        "lambda": {"use_docker": False},
    }


@dataclass(frozen=True)
class Started:
    """Where the embedded account listens and how long it took to be ready."""

    url: str
    seconds: float


class EmbeddedAccount:
    """moto's server in a thread of this process, serving the environment's account.

    moto reads MOTO_ACCOUNT_ID per request and calls back into MOTO_PORT when a state
    machine runs a task, so both are set while the account runs and restored after.
    """

    def __init__(
        self,
        env: Environment,
        stack: Stack,
        faults: list[tuple[Fault, str]] | None = None,
        *,
        execute_pipelines: bool = True,
    ) -> None:
        """``execute_pipelines`` False: executions never run (a run that starts none)."""
        self.execute_pipelines = execute_pipelines
        self.env = env
        self.stack = stack
        self.faults = faults or []
        self.url: str | None = None
        self._server: object | None = None
        self._saved_environ: dict[str, str | None] = {}
        self.recorded_now = False
        """True when this start deployed the stack for real (nothing was recorded yet)."""

    def start(self) -> Started:
        """Start the server on a free loopback port and provision the stack in it."""
        began = time.perf_counter()
        usable_cache_dir()  # its provider mirror and recorded applies: one line if unusable
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise ConfigError(
                f"{self.env.source}: [{self.env.name}] emulated = true needs moto's server: "
                "pip install 'pytest-ohpen[emulator]'"
            ) from None
        # What moto 5.2.5 lacks and the checks read, added to its responses in this process.
        install_iam_simulation()  # IAM SimulatePrincipalPolicy
        install_alarm_history()  # CloudWatch DescribeAlarmHistory
        glue_runs.install()  # Glue job runs that take time (CompletedOn, ExecutionTime)
        install_moto_lookups()  # what moto looks up per request, looked up once
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._set_environ({"MOTO_PORT": str(port), "MOTO_ACCOUNT_ID": self.env.account_id})
        self._post("/moto-api/config", moto_config(self.execute_pipelines))
        # Provisioning is moto's own CPU work: its profile, not the checks' tight budget.
        clients = AwsClients(self.env, endpoint_url=self.url, profile="provisioning")
        self.recorded_now = provision(clients, self.stack)
        inject(clients, self.stack, self.faults)
        return Started(self.url, time.perf_counter() - began)

    def stop(self) -> None:
        """Stop the server and restore the process environment; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            _stop_without_idling(server)
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ = {}

    def _set_environ(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _post(self, path: str, body: object) -> None:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def _stop_without_idling(server: Any) -> None:
    """ThreadedMotoServer.stop, without its idle: the serving loop looks for the shutdown
    request only when its select times out (0.5 s), so a connection wakes it at once."""
    host, port = server.get_host_and_port()
    stopping = threading.Thread(target=server.stop, name="ohpen-moto-stop")
    stopping.start()
    while stopping.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.2).close()
        stopping.join(0.02)
