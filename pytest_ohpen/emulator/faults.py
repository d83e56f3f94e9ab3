"""Faults the embedded account can be provisioned with (``--emulator-fault NAME[=RESOURCE]``),
so each check can be seen failing for the reason it exists: the post-rollback ones here,
the playbook's failures in ``faults_glue``, ``faults_iam`` and ``faults_ops``.

Each fault changes one thing after the stack is provisioned; RESOURCE picks which
resource (default: the first of its kind).
"""

from __future__ import annotations

import json

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.emulator.fault import Fault
from pytest_ohpen.emulator.faults_glue import FAULTS as GLUE_FAULTS
from pytest_ohpen.emulator.faults_iam import FAULTS as IAM_FAULTS
from pytest_ohpen.emulator.faults_ops import FAULTS as OPS_FAULTS
from pytest_ohpen.emulator.stack import Stack, role_name
from pytest_ohpen.errors import ConfigError

FAILING_DEFINITION = {
    "Comment": "injected by --emulator-fault failing-pipeline",
    "StartAt": "RunTransactionEtl",
    "States": {
        "RunTransactionEtl": {"Type": "Pass", "Next": "ValidateOutput"},
        "ValidateOutput": {
            "Type": "Fail",
            "Error": "PipelineFailed",
            "Cause": "injected by --emulator-fault failing-pipeline",
        },
    },
}


def _failing_pipeline(clients: AwsClients, stack: Stack, machine: str) -> None:
    env = clients.env
    arn = f"arn:aws:states:{env.region}:{env.account_id}:stateMachine:{machine}"
    clients.client("stepfunctions").update_state_machine(
        stateMachineArn=arn, definition=json.dumps(FAILING_DEFINITION)
    )


def _alarm_actions_disabled(clients: AwsClients, stack: Stack, alarm: str) -> None:
    clients.client("cloudwatch").disable_alarm_actions(AlarmNames=[alarm])


def _public_bucket(clients: AwsClients, stack: Stack, bucket: str) -> None:
    clients.client("s3").delete_public_access_block(Bucket=bucket)


def _wildcard_policy(clients: AwsClients, stack: Stack, role: str) -> None:
    clients.client("iam").put_role_policy(
        RoleName=role,
        PolicyName="injected-admin",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )


def _drifted_glue_job(clients: AwsClients, stack: Stack, job: str) -> None:
    """Recreated with 10 workers (moto's UpdateJob fails), as a console edit would leave it."""
    glue = clients.client("glue")
    current = glue.get_job(JobName=job)["Job"]
    glue.delete_job(JobName=job)
    glue.create_job(
        Name=job,
        Role=current["Role"],
        Command=current["Command"],
        GlueVersion=current.get("GlueVersion", "4.0"),
        WorkerType=current.get("WorkerType", "G.1X"),
        NumberOfWorkers=10,
        Timeout=current.get("Timeout", 60),
    )


FAULTS: dict[str, Fault] = {
    "failing-pipeline": Fault(
        "the state machine's definition fails", "state_machines", _failing_pipeline
    ),
    "alarm-actions-disabled": Fault(
        "an alarm's actions are disabled", "alarms", _alarm_actions_disabled
    ),
    "public-bucket": Fault(
        "a data bucket's public access block is removed", "buckets", _public_bucket
    ),
    "wildcard-policy": Fault(
        "a pipeline role gets an Allow * on * policy", "roles", _wildcard_policy
    ),
    "drifted-glue-job": Fault(
        "the Glue job runs 10 workers, unlike its state", "glue_jobs", _drifted_glue_job
    ),
}


FAULTS.update({**GLUE_FAULTS, **IAM_FAULTS, **OPS_FAULTS})  # the playbook's failures


def _candidates(stack: Stack, kind: str) -> tuple[str, ...]:
    if kind == "roles":
        return tuple(
            role_name(r) for r in (*stack.glue_jobs, *stack.state_machines, *stack.lambdas)
        )
    names: tuple[str, ...] = getattr(stack, kind)
    return names


def parse_faults(specs: tuple[str, ...], stack: Stack) -> list[tuple[Fault, str]]:
    """``NAME`` or ``NAME=RESOURCE`` each, validated against the catalogue and the stack."""
    chosen = []
    for spec in specs:
        name, _, resource = spec.partition("=")
        fault = FAULTS.get(name)
        if fault is None:
            catalogue = "; ".join(f"{n} ({f.description})" for n, f in FAULTS.items())
            raise ConfigError(f"--emulator-fault {spec!r}: unknown fault; known: {catalogue}")
        candidates = _candidates(stack, fault.kind)
        if not candidates:
            raise ConfigError(
                f"--emulator-fault {spec!r}: the embedded account has no "
                f"{fault.kind.replace('_', ' ')} to break"
            )
        if resource and resource not in candidates:
            raise ConfigError(
                f"--emulator-fault {spec!r}: {resource!r} is not one of its "
                f"{fault.kind.replace('_', ' ')}: {', '.join(candidates)}"
            )
        chosen.append((fault, resource or candidates[0]))
    return chosen


def inject(clients: AwsClients, stack: Stack, faults: list[tuple[Fault, str]]) -> None:
    """Apply each chosen fault to the provisioned account."""
    for fault, resource in faults:
        fault.inject(clients, stack, resource)
