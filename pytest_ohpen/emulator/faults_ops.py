"""Faults of what goes wrong right after a deploy (``--emulator-fault NAME[=RESOURCE]``):
a state machine naming a function that is gone, a Lambda failing its events, an alarm
firing, a bucket's default encryption removed. Each changes the one thing its check reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.emulator.fault import Fault
from pytest_ohpen.emulator.stack import Stack

MISSING_SUFFIX = "-missing"
"""Appended to the Lambda a task names, so the name is one no function has."""
INJECTED = "injected by --emulator-fault"


def with_missing_lambda(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with its first Lambda task (``lambda:invoke`` FunctionName, or a
    Lambda ARN as Resource) naming a function that does not exist; otherwise identical.
    A definition without a Lambda task is a ValueError."""
    changed: dict[str, Any] = json.loads(json.dumps(definition))
    if not _rename_first_lambda(changed):
        raise ValueError("the state machine's definition has no Lambda task to break")
    return changed


def _rename_first_lambda(machine: dict[str, Any]) -> bool:
    for state in (machine.get("States") or {}).values():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            resource = str(state.get("Resource") or "")
            parameters = state.get("Parameters")
            invokes = resource.startswith("arn:aws:states:::lambda:invoke")
            if (
                invokes
                and isinstance(parameters, dict)
                and isinstance(parameters.get("FunctionName"), str)
            ):
                parameters["FunctionName"] = _missing(parameters["FunctionName"])
                return True
            if ":lambda:" in resource and ":function:" in resource:
                state["Resource"] = _missing(resource)
                return True
        nested = [*(state.get("Branches") or []), state.get("ItemProcessor"), state.get("Iterator")]
        if any(isinstance(m, dict) and _rename_first_lambda(m) for m in nested):
            return True
    return False


def _missing(function: str) -> str:
    """``name`` → ``name-missing``, keeping an ARN's prefix and a ``:alias`` qualifier."""
    head, marker, tail = function.rpartition(":function:")
    name, colon, qualifier = tail.partition(":")
    return f"{head}{marker}{name}{MISSING_SUFFIX}{colon}{qualifier}"


def _bad_reference(clients: AwsClients, stack: Stack, machine: str) -> None:
    """UpdateStateMachine with the definition only: the role and logging stay as they are."""
    env = clients.env
    arn = f"arn:aws:states:{env.region}:{env.account_id}:stateMachine:{machine}"
    sfn = clients.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    sfn.update_state_machine(
        stateMachineArn=arn, definition=json.dumps(with_missing_lambda(definition))
    )


def _lambda_errors(clients: AwsClients, stack: Stack, function: str) -> None:
    """5 of 6 invocations failed, now: as AWS/Lambda reports a function failing its events."""
    dimensions = [{"Name": "FunctionName", "Value": function}]
    now = datetime.now(UTC)
    clients.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Errors", "Dimensions": dimensions, "Value": 5.0, "Timestamp": now},
            {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 6.0, "Timestamp": now},
        ],
    )


def _alarm_firing(clients: AwsClients, stack: Stack, alarm: str) -> None:
    clients.client("cloudwatch").set_alarm_state(
        AlarmName=alarm,
        StateValue="ALARM",
        StateReason=f"Threshold Crossed: {INJECTED} alarm-firing",
    )


def _encryption_changed(clients: AwsClients, stack: Stack, bucket: str) -> None:
    """moto then answers ServerSideEncryptionConfigurationNotFoundError (real S3 would fall
    back to SSE-S3): the bucket has no default encryption."""
    clients.client("s3").delete_bucket_encryption(Bucket=bucket)


FAULTS: dict[str, Fault] = {
    "state-machine-bad-reference": Fault(
        "the state machine's Lambda task names a function that does not exist",
        "state_machines",
        _bad_reference,
    ),
    "lambda-errors": Fault(
        "a Lambda reports 5 errors in 6 invocations since the deploy", "lambdas", _lambda_errors
    ),
    "alarm-firing": Fault("an alarm is in ALARM", "alarms", _alarm_firing),
    "encryption-changed": Fault(
        "a data bucket's default encryption is removed", "buckets", _encryption_changed
    ),
}
