"""The quarterly rollback drill (the playbook's "Rollback Testing"): in a drill environment,
break one thing on purpose, see the checks catch it, roll back, see everything green again,
and record how long each took.

Only environments with ``drills = true`` may run it (prod never has it). The catalogue
below is what ``--drill-fault`` accepts: a fault arrives as a bad revision (a throwaway
commit, deployed with ``ohpen deploy``'s code) or as out-of-band drift. The rollback is
always the environment's rollback command with ``--apply`` to the good commit, approved by
the drill — on the embedded account too, where it is real Terraform with the embedded
provider.
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
from pytest_ohpen.emulator.stack import role_name
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.jsonable import iso_utc

KIND = "drill"
ADMIN_POLICY = "drill-injected-admin"


@dataclass(frozen=True)
class DrillFault:
    """A fault the drill can inject and the resource it hits: either out-of-band drift
    (``inject`` changes the account behind Terraform's back) or a bad revision (``code``
    gives the files a throwaway commit adds, which the drill then deploys)."""

    name: str
    description: str
    target: Callable[[Environment], str | None]
    inject: Callable[[AwsClients, str], None] | None = None
    code: Callable[[Environment, str], dict[str, str]] | None = None

    @property
    def how(self) -> str:
        """ "bad revision" or "drift": how the fault reaches the environment."""
        return "bad revision" if self.code is not None else "drift"


def _first(items: tuple[str, ...]) -> str | None:
    return items[0] if items else None


def _pipeline_role(env: Environment) -> str | None:
    return _first(env.resources.roles) or (
        role_name(env.resources.glue_jobs[0]) if env.resources.glue_jobs else None
    )


def _admin_policy_code(env: Environment, role: str) -> dict[str, str]:
    """A change to the Terraform code granting the pipeline role Allow * on *."""
    folder = env.terraform.working_dir if env.terraform else "."
    statement = '{ Effect = "Allow", Action = "*", Resource = "*" }'
    body = (
        "# Added by the rollback drill (a throwaway commit on no branch): the bad revision.\n"
        'resource "aws_iam_role_policy" "drill_injected_admin" {\n'
        f'  name   = "{ADMIN_POLICY}"\n'
        f"  role   = {json.dumps(role)}\n"
        f'  policy = jsonencode({{ Version = "2012-10-17", Statement = [{statement}] }})\n'
        "}\n"
    )
    return {str(Path(folder) / "drill_fault.tf"): body}


def _delete_glue_job(clients: AwsClients, job: str) -> None:
    clients.client("glue").delete_job(JobName=job)


def _remove_public_access_block(clients: AwsClients, bucket: str) -> None:
    clients.client("s3").delete_public_access_block(Bucket=bucket)


def _break_lambda(clients: AwsClients, function: str) -> None:
    clients.client("lambda").update_function_configuration(
        FunctionName=function, Handler="missing_module.handler", MemorySize=128
    )


CATALOGUE: dict[str, DrillFault] = {
    fault.name: fault
    for fault in (
        DrillFault(
            "wrong-iam-policy",
            "a bad revision grants the pipeline role Allow * on *",
            _pipeline_role,
            code=_admin_policy_code,
        ),
        DrillFault(
            "deleted-glue-job",
            "the Glue job is deleted out of band",
            lambda env: _first(env.resources.glue_jobs),
            inject=_delete_glue_job,
        ),
        DrillFault(
            "public-access-block-removed",
            "a data bucket's public access block is removed out of band",
            lambda env: _first(env.resources.buckets),
            inject=_remove_public_access_block,
        ),
        DrillFault(
            "broken-lambda-config",
            "the Lambda's handler and memory are changed out of band",
            lambda env: _first(env.resources.lambdas),
            inject=_break_lambda,
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
    good_commit: str | None = None
    """The commit deployed before the fault (the checkout's HEAD when the drill starts):
    what the rollback goes back to."""
    bad_commit: str | None = None
    """The throwaway commit a bad-revision fault deployed."""
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
                {
                    "env": self.env.name,
                    "target_ref": self.good_commit or "HEAD",
                    "state_version": state_version,
                },
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
            "fault_arrives_as": self.fault.how,
            "resource": self.resource,
            "good_commit": self.good_commit,
            "bad_commit": self.bad_commit,
            "time_to_detect_seconds": self.seconds("injected", "detected"),
            "rollback_seconds": self.seconds("rollback_started", "rollback_done"),
            "time_to_green_seconds": self.seconds("injected", "green"),
            "first_attempt_success": green and self.rollback.get("ok", False),
            "passed": green and all(step["ok"] for step in self.steps),
            "rollback": self.rollback,
            "steps": self.steps,
        }
