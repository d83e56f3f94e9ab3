"""What a state machine calls: every Lambda function, Glue job, SNS topic, S3 bucket, SQS
queue and state machine its definition names, and whether each still exists.

A deploy or a rollback can leave a state machine ACTIVE while a task names a function
that was renamed or removed; the first run then fails at that state, hours later. Reading
the definition (:func:`references`, pure) and asking once per named resource finds it
right after the deploy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pytest_ohpen.aws.errors import error_code
from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.stepfunctions import NOT_FOUND as STATE_MACHINE_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import state_machine_arn

Kind = Literal[
    "Lambda function", "Glue job", "SNS topic", "S3 bucket", "SQS queue", "state machine"
]
INTEGRATION = re.compile(r"^arn:aws[\w-]*:states:::(?P<service>[\w-]+):(?P<action>[\w-]+)")
SDK_S3 = re.compile(r"^arn:aws[\w-]*:states:::aws-sdk:s3:\w+")
LAMBDA_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):"
    r"function:(?P<name>[\w-]+)(?::(?P<qualifier>[\w$-]+))?$"
)
PARTIAL_LAMBDA = re.compile(r"^(?P<account>\d{12}):function:(?P<name>[\w-]+)(?::[\w$-]+)?$")
NAME_WITH_QUALIFIER = re.compile(r"^(?P<name>[\w-]+)(?::(?P<qualifier>[\w$-]+))?$")
QUEUE_URL = re.compile(r"^https?://[^/]+/(?P<account>\d{12})/(?P<name>[\w.-]+)$")
NOT_FOUND: dict[str, frozenset[str]] = {
    "Lambda function": frozenset({"ResourceNotFoundException"}),
    "Glue job": frozenset({"EntityNotFoundException"}),
    "SNS topic": frozenset({"NotFound", "NotFoundException"}),
    "S3 bucket": frozenset({"NoSuchBucket", "404", "NotFound"}),
    "SQS queue": frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}),
    "state machine": STATE_MACHINE_NOT_FOUND,
}
SERVICE: dict[str, str] = {
    "Lambda function": "lambda",
    "Glue job": "glue",
    "SNS topic": "sns",
    "S3 bucket": "s3",
    "SQS queue": "sqs",
    "state machine": "stepfunctions",
}
"""The boto3 service whose client asks whether a reference of each kind exists."""


@dataclass(frozen=True)
class Reference:
    """One resource a state of the definition names: what it is, and which state uses it."""

    kind: Kind
    name: str
    arn: str
    state: str


def references(definition: dict[str, Any], region: str, account_id: str) -> list[Reference]:
    """Every resource the definition's tasks name literally, in the order of its states
    (nested Parallel branches and Map iterators included). Values chosen at run time
    (keys ending ``.$``, JSONata ``{% %}``) name nothing that can be checked now."""
    return list(_walk(definition, region, account_id))


def _walk(machine: dict[str, Any], region: str, account_id: str) -> Iterator[Reference]:
    states = machine.get("States")
    if not isinstance(states, dict):
        return
    for state_name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield from _task(str(state_name), state, region, account_id)
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                yield from _walk(branch, region, account_id)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _walk(state[key], region, account_id)
        for key in ("ItemReader", "ResultWriter"):  # a distributed Map's S3 reads and writes
            if isinstance(state.get(key), dict):
                yield from _task(str(state_name), state[key], region, account_id)


def _task(state: str, task: dict[str, Any], region: str, account: str) -> Iterator[Reference]:
    resource = str(task.get("Resource") or "")
    parameters = task.get("Parameters") or task.get("Arguments") or {}
    if not isinstance(parameters, dict):
        parameters = {}

    def literal(key: str) -> str | None:
        value = parameters.get(key)
        if isinstance(value, str) and value and not value.startswith("{%"):
            return value
        return None

    lambda_arn = LAMBDA_ARN.match(resource)
    if lambda_arn:
        yield Reference("Lambda function", lambda_arn["name"], resource, state)
        return
    if SDK_S3.match(resource):
        bucket = literal("Bucket")
        if bucket:
            yield Reference("S3 bucket", bucket, f"arn:aws:s3:::{bucket}", state)
        return
    integration = INTEGRATION.match(resource)
    if not integration:
        return
    action = f"{integration['service']}:{integration['action']}"
    found: Reference | None = None
    if action == "lambda:invoke" and literal("FunctionName"):
        found = _lambda(str(literal("FunctionName")), state, region, account)
    elif action == "glue:startJobRun" and literal("JobName"):
        job = str(literal("JobName"))
        found = Reference("Glue job", job, f"arn:aws:glue:{region}:{account}:job/{job}", state)
    elif action == "sns:publish" and literal("TopicArn"):
        topic = str(literal("TopicArn"))
        found = Reference("SNS topic", topic.rsplit(":", 1)[-1], topic, state)
    elif action == "sqs:sendMessage" and literal("QueueUrl"):
        found = _queue(str(literal("QueueUrl")), state, region, account)
    elif action == "states:startExecution" and literal("StateMachineArn"):
        machine = str(literal("StateMachineArn"))
        found = Reference("state machine", machine.rsplit(":", 1)[-1], machine, state)
    elif action in {"s3:getObject", "s3:putObject", "s3:listObjectsV2"} and literal("Bucket"):
        bucket = str(literal("Bucket"))
        found = Reference("S3 bucket", bucket, f"arn:aws:s3:::{bucket}", state)
    if found:
        yield found


def _lambda(function: str, state: str, region: str, account: str) -> Reference | None:
    """A FunctionName as Lambda accepts it: a name, ``name:alias``, ``account:function:name``
    or a full (possibly qualified) ARN."""
    full = LAMBDA_ARN.match(function)
    if full:
        return Reference("Lambda function", full["name"], function, state)
    partial = PARTIAL_LAMBDA.match(function)
    if partial:
        return Reference(
            "Lambda function", partial["name"], f"arn:aws:lambda:{region}:{function}", state
        )
    plain = NAME_WITH_QUALIFIER.match(function)
    if plain:
        arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
        return Reference("Lambda function", plain["name"], arn, state)
    return None


def _queue(url: str, state: str, region: str, account: str) -> Reference | None:
    found = QUEUE_URL.match(url)
    if not found:
        return None
    host_region = re.search(r"sqs\.([\w-]+)\.amazonaws", url)
    queue_region = host_region[1] if host_region else region
    arn = f"arn:aws:sqs:{queue_region}:{found['account']}:{found['name']}"
    return Reference("SQS queue", found["name"], arn, state)


# ---------------------------------------------------------------- the check


def check_state_machine_references(
    sfn: Any, clients_by_service: Mapping[str, Any], name: str, where: Where
) -> None:
    """DescribeStateMachine, then one existence call per distinct resource its definition
    names (in the machine's own region: a client of this region cannot answer for
    another). Fails naming every missing one with the states that use it.

    ``clients_by_service`` maps boto3 service names (lambda, glue, sns, s3, sqs,
    stepfunctions) to clients; only the services the definition needs are looked up.
    """
    with probing("state machine", name, where, STATE_MACHINE_NOT_FOUND):
        described = sfn.describe_state_machine(stateMachineArn=state_machine_arn(name, where))
    try:
        definition = json.loads(described.get("definition") or "{}")
    except ValueError:
        raise CheckFailed(f"state machine {name}: definition is not valid JSON {where}") from None
    if not isinstance(definition, dict):
        raise CheckFailed(f"state machine {name}: definition is not a JSON object {where}")
    used_in: dict[tuple[str, str], list[Reference]] = {}
    for reference in references(definition, where.region, where.account_id):
        used_in.setdefault((reference.kind, reference.arn), []).append(reference)
    missing: list[str] = []
    for uses in used_in.values():
        first = uses[0]
        if not _in_region(first, where):
            continue
        client = sfn if first.kind == "state machine" else clients_by_service[SERVICE[first.kind]]
        if not _exists(_existence_call(client, first), first, name, where):
            states = list(dict.fromkeys(use.state for use in uses))
            label = "state" if len(states) == 1 else "states"
            missing.append(
                f"missing {first.kind} {first.name} ({first.arn}) in {label} {', '.join(states)}"
            )
    if missing:
        raise CheckFailed(f"state machine {name}: references {'; '.join(missing)} {where}")


def _in_region(reference: Reference, where: Where) -> bool:
    """Buckets are global by name; the others carry their region in their ARN."""
    if reference.kind == "S3 bucket":
        return True
    parts = reference.arn.split(":")
    return len(parts) > 3 and parts[3] in {"", where.region}


def _existence_call(client: Any, reference: Reference) -> Callable[[], Any]:
    """The cheapest read that answers "does it exist?" for the reference's kind."""
    arn, name = reference.arn, reference.name
    calls: dict[str, Callable[[], Any]] = {
        "Lambda function": lambda: client.get_function(FunctionName=arn),
        "Glue job": lambda: client.get_job(JobName=name),
        "SNS topic": lambda: client.get_topic_attributes(TopicArn=arn),
        "S3 bucket": lambda: client.head_bucket(Bucket=name),
        "SQS queue": lambda: client.get_queue_attributes(
            QueueUrl=queue_url(arn), AttributeNames=["QueueArn"]
        ),
        "state machine": lambda: client.describe_state_machine(stateMachineArn=arn),
    }
    return calls[reference.kind]


def queue_url(arn: str) -> str:
    """The queue's URL from its ARN (boto3 sends it to the client's endpoint whatever the host)."""
    _, _, _, region, account, name = arn.split(":", 5)
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def _exists(call: Callable[[], Any], reference: Reference, machine: str, where: Where) -> bool:
    """False when AWS says the resource does not exist; any other error is the check's
    failure (access denied) or inconclusive (throttled, 5xx, no answer), as ``probing`` says."""
    import botocore.exceptions as bex

    label = f"{machine}: {reference.kind} {reference.name}"
    with probing("state machine", label, where, NOT_FOUND[reference.kind]):
        try:
            call()
        except bex.ClientError as error:
            if error_code(error) in NOT_FOUND[reference.kind]:
                return False
            raise
    return True
