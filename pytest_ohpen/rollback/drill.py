"""The quarterly rollback drill (the playbook's "Rollback Testing"): in a drill environment,
break one thing on purpose, see the checks catch it, roll back, see everything green again,
and record how long each took.

Only environments with ``drills = true`` may run it (prod never has it). The catalogue
below is what ``--drill-fault`` accepts. On the embedded account no Terraform provider
can run, so there the rollback re-provisions the broken resource as the known-good stack
defines it (and says so); elsewhere it runs the environment's rollback command with
``--apply``, approved by the drill.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.emulator.stack import Stack, role_name
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.jsonable import iso_utc

KIND = "drill"
ADMIN_POLICY = "drill-injected-admin"


@dataclass(frozen=True)
class DrillFault:
    """A fault the drill can inject, the resource it hits, and how the embedded account
    re-provisions that resource."""

    name: str
    description: str
    target: Callable[[Environment], str | None]
    inject: Callable[[AwsClients, str], None]
    repair: Callable[[AwsClients, Environment, str], None]


def _first(items: tuple[str, ...]) -> str | None:
    return items[0] if items else None


def _pipeline_role(env: Environment) -> str | None:
    return _first(env.resources.roles) or (
        role_name(env.resources.glue_jobs[0]) if env.resources.glue_jobs else None
    )


def _inject_admin_policy(clients: AwsClients, role: str) -> None:
    clients.client("iam").put_role_policy(
        RoleName=role,
        PolicyName=ADMIN_POLICY,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )


def _repair_admin_policy(clients: AwsClients, env: Environment, role: str) -> None:
    clients.client("iam").delete_role_policy(RoleName=role, PolicyName=ADMIN_POLICY)


def _delete_glue_job(clients: AwsClients, job: str) -> None:
    clients.client("glue").delete_job(JobName=job)


def _repair_glue_job(clients: AwsClients, env: Environment, job: str) -> None:
    from pytest_ohpen.emulator.provision import create_glue_job

    create_glue_job(clients, Stack.for_environment(env), job)


def _remove_public_access_block(clients: AwsClients, bucket: str) -> None:
    clients.client("s3").delete_public_access_block(Bucket=bucket)


def _repair_public_access_block(clients: AwsClients, env: Environment, bucket: str) -> None:
    from pytest_ohpen.emulator.provision import block_public_access

    block_public_access(clients.client("s3"), bucket)


def _break_lambda(clients: AwsClients, function: str) -> None:
    clients.client("lambda").update_function_configuration(
        FunctionName=function, Handler="missing_module.handler", MemorySize=128
    )


def _repair_lambda(clients: AwsClients, env: Environment, function: str) -> None:
    clients.client("lambda").update_function_configuration(
        FunctionName=function, Handler="handler.handler", MemorySize=256
    )


CATALOGUE: dict[str, DrillFault] = {
    fault.name: fault
    for fault in (
        DrillFault(
            "wrong-iam-policy",
            "the pipeline role gets an Allow * on * policy",
            _pipeline_role,
            _inject_admin_policy,
            _repair_admin_policy,
        ),
        DrillFault(
            "deleted-glue-job",
            "the Glue job is deleted",
            lambda env: _first(env.resources.glue_jobs),
            _delete_glue_job,
            _repair_glue_job,
        ),
        DrillFault(
            "public-access-block-removed",
            "a data bucket's public access block is removed",
            lambda env: _first(env.resources.buckets),
            _remove_public_access_block,
            _repair_public_access_block,
        ),
        DrillFault(
            "broken-lambda-config",
            "the Lambda's handler and memory are changed",
            lambda env: _first(env.resources.lambdas),
            _break_lambda,
            _repair_lambda,
        ),
    )
}


def choose_fault(name: str | None, env: Environment) -> tuple[DrillFault, str]:
    """The fault ``--drill-fault`` names and the resource it will hit; one clear error else."""
    catalogue = ", ".join(CATALOGUE)
    if not name:
        raise ConfigError(f"--drill-fault: the drill needs a fault to inject; one of: {catalogue}")
    fault = CATALOGUE.get(name)
    if fault is None:
        raise ConfigError(f"--drill-fault {name!r}: unknown fault; one of: {catalogue}")
    target = fault.target(env)
    if target is None:
        raise ConfigError(
            f"--drill-fault {name!r}: environment {env.name!r} has no resource "
            "of that kind to break"
        )
    return fault, target


def refuse_unless_drills(env: Environment) -> None:
    """The drill breaks things on purpose: only where the environment says drills = true."""
    if not env.drills:
        raise ConfigError(
            f"{env.source}: [{env.name}] drills: the rollback drill breaks the environment on "
            f"purpose and runs only where drills = true (never prod); {env.name!r} does not "
            "allow it — run it in staging, e.g. pytest suites/drill --env staging"
        )


@dataclass
class DrillRun:
    """The drill's timeline: each step's start and end, and what the steps found."""

    env: Environment
    fault: DrillFault
    resource: str
    repo: Path
    """Where the rollback command runs, as the trigger's: the run's repository (the
    environment's terraform.repo, else the rootdir)."""
    endpoint_url: str | None = None
    """The run's AWS endpoint (the embedded account's, or the environment's)."""
    clock: Callable[[], float] = time.monotonic
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    marks: dict[str, float] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    detected: list[str] = field(default_factory=list)
    rollback: dict[str, Any] = field(default_factory=dict)
    green_after: list[str] = field(default_factory=list)

    def mark(self, name: str) -> None:
        """Remember when ``name`` happened (monotonic seconds)."""
        self.marks[name] = self.clock()

    def step(self, name: str, ok: bool, detail: str) -> None:
        """Record one step, timestamped."""
        self.steps.append(
            {
                "step": name,
                "ok": ok,
                "detail": detail,
                "at": iso_utc(datetime.now(UTC)),
            }
        )

    def roll_back_by_command(
        self, state_version: str | None, on_line: Callable[[str], None] = print
    ) -> dict[str, Any]:
        """The environment's rollback command with --apply, approved by the drill: built,
        told (``OHPEN_*``) and run exactly as the plugin's trigger does, in ``repo``."""
        from pytest_ohpen.rollback.trigger import (
            CommandError,
            build_command,
            rollback_handoff,
            run_rollback,
        )

        try:
            argv = build_command(
                self.env.rollback.command,
                "apply",
                {"env": self.env.name, "target_ref": "HEAD", "state_version": state_version},
            )
        except CommandError as error:
            return {"mode": "apply", "ok": False, "error": str(error)}
        detected = next((s["at"] for s in self.steps if s["step"] == "detect"), None)
        handoff = rollback_handoff(
            self.env,
            self.endpoint_url,
            "apply",
            detected_at=detected,
            approved_by="drill",
            drill=True,
        )
        result = run_rollback(
            argv,
            handoff,
            endpoint_url=self.endpoint_url,
            cwd=self.repo,
            timeout=self.env.rollback.timeout,
            on_line=on_line,
        )
        return {
            "mode": "apply",
            "command": argv,
            "exit_code": result.exit_code,
            "ok": result.ok,
            "error": result.error,
            "seconds": round(result.duration_seconds, 3),
        }

    def seconds(self, start: str, end: str) -> float | None:
        if start in self.marks and end in self.marks:
            return round(self.marks[end] - self.marks[start], 3)
        return None

    def record(self) -> dict[str, Any]:
        """The drill's audit record: what was broken, time to detect, rollback duration,
        time to green (MTTR) and whether the first rollback attempt made it green."""
        green = bool(self.marks.get("green")) and not self.green_after
        return {
            "started_at": iso_utc(self.started),
            "finished_at": iso_utc(datetime.now(UTC)),
            "fault": self.fault.name,
            "resource": self.resource,
            "time_to_detect_seconds": self.seconds("injected", "detected"),
            "rollback_seconds": self.seconds("rollback_started", "rollback_done"),
            "time_to_green_seconds": self.seconds("injected", "green"),
            "first_attempt_success": green and self.rollback.get("ok", False),
            "passed": green and all(step["ok"] for step in self.steps),
            "rollback": self.rollback,
            "steps": self.steps,
        }
