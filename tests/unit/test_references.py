"""A state machine's definition is read for every resource its tasks name literally, and
the reference check asks once per distinct one, naming each missing one with its states.

Pure reading of literal definitions, and the check on fake clients (the states that only
AWS can produce: throttling, access denied). The check against moto is
tests/aws/test_ops_checks.py.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bex
import pytest
from accounts import state_machine_definition

from pytest_ohpen.checks import CheckFailed, CheckInconclusive, Where
from pytest_ohpen.checks.references import (
    Reference,
    check_state_machine_references,
    queue_url,
    references,
)
from pytest_ohpen.emulator.faults_ops import with_missing_lambda
from pytest_ohpen.emulator.stack import Stack

REGION, ACCOUNT = "eu-west-1", "123456789012"
WHERE = Where(ACCOUNT, REGION)
AT = "in account 123456789012 eu-west-1"
STACK = Stack(
    buckets=("ohpen-bronze",),
    glue_jobs=("ohpen-transaction-etl-spark",),
    state_machines=("ohpen-etl-orchestration",),
    lambdas=("ohpen-read-run-summary",),
)
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ohpen-etl-failures"
PIPELINE = json.loads(state_machine_definition(REGION, ACCOUNT, STACK))


def _task(resource: str, **parameters: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}


def _machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def _found(definition: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(r.kind, r.name, r.arn, r.state) for r in references(definition, REGION, ACCOUNT)]


def test_the_pipeline_names_its_glue_job_lambda_and_topic() -> None:
    assert references(PIPELINE, REGION, ACCOUNT) == [
        Reference(
            "Glue job",
            "ohpen-transaction-etl-spark",
            f"arn:aws:glue:{REGION}:{ACCOUNT}:job/ohpen-transaction-etl-spark",
            "RunTransactionEtl",
        ),
        Reference(
            "Lambda function",
            "ohpen-read-run-summary",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ohpen-read-run-summary",
            "ReadRunSummary",
        ),
        Reference("SNS topic", "ohpen-etl-failures", TOPIC, "NotifyFailure"),
    ]


LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ohpen-x"


@pytest.mark.parametrize(
    ("function", "arn"),
    [
        ("ohpen-x", LAMBDA),
        ("ohpen-x:live", f"{LAMBDA}:live"),
        (f"{ACCOUNT}:function:ohpen-x", LAMBDA),
        (LAMBDA, LAMBDA),
        (f"{LAMBDA}:7", f"{LAMBDA}:7"),
        ("arn:aws:lambda:us-east-1:210987654321:function:ohpen-x", None),
    ],
)
def test_a_function_name_is_read_in_every_form_lambda_accepts(
    function: str, arn: str | None
) -> None:
    for resource in (
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
    ):
        found = _found(_machine(Call=_task(resource, FunctionName=function)))
        assert found == [("Lambda function", "ohpen-x", arn or function, "Call")]


def test_a_lambda_arn_as_the_resource_is_a_reference() -> None:
    definition = _machine(Call={"Type": "Task", "Resource": f"{LAMBDA}:$LATEST", "End": True})
    assert _found(definition) == [("Lambda function", "ohpen-x", f"{LAMBDA}:$LATEST", "Call")]


def test_every_integration_is_read() -> None:
    queue = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/ohpen-oncall"
    child = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ohpen-child"
    definition = _machine(
        Glue=_task("arn:aws:states:::glue:startJobRun.sync", JobName="ohpen-job"),
        Notify=_task("arn:aws:states:::sns:publish.waitForTaskToken", TopicArn=TOPIC),
        Queue=_task("arn:aws:states:::sqs:sendMessage", QueueUrl=queue),
        Child=_task("arn:aws:states:::states:startExecution.sync:2", StateMachineArn=child),
        Read=_task("arn:aws:states:::aws-sdk:s3:getObject", Bucket="ohpen-bronze", Key="k"),
        Write=_task("arn:aws:states:::s3:putObject", Bucket="ohpen-silver"),
    )
    assert _found(definition) == [
        ("Glue job", "ohpen-job", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/ohpen-job", "Glue"),
        ("SNS topic", "ohpen-etl-failures", TOPIC, "Notify"),
        ("SQS queue", "ohpen-oncall", f"arn:aws:sqs:{REGION}:{ACCOUNT}:ohpen-oncall", "Queue"),
        ("state machine", "ohpen-child", child, "Child"),
        ("S3 bucket", "ohpen-bronze", "arn:aws:s3:::ohpen-bronze", "Read"),
        ("S3 bucket", "ohpen-silver", "arn:aws:s3:::ohpen-silver", "Write"),
    ]


def test_nested_branches_and_iterators_are_walked() -> None:
    inner = _machine(Inner=_task("arn:aws:states:::lambda:invoke", FunctionName="ohpen-in-map"))
    old_map = _machine(Old=_task("arn:aws:states:::glue:startJobRun", JobName="ohpen-old"))
    definition = _machine(
        Fan={
            "Type": "Parallel",
            "Branches": [
                _machine(Left=_task("arn:aws:states:::lambda:invoke", FunctionName="ohpen-left"))
            ],
            "Next": "Each",
        },
        Each={
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "ohpen-bronze", "Key": "items.json"},
            },
            "ItemProcessor": inner,
            "Next": "Legacy",
        },
        Legacy={"Type": "Map", "Iterator": old_map, "End": True},
    )
    assert [(kind, name, state) for kind, name, _, state in _found(definition)] == [
        ("Lambda function", "ohpen-left", "Left"),
        ("Lambda function", "ohpen-in-map", "Inner"),
        ("S3 bucket", "ohpen-bronze", "Each"),
        ("Glue job", "ohpen-old", "Old"),
    ]


def test_values_chosen_at_run_time_name_nothing() -> None:
    definition = _machine(
        Path=_task("arn:aws:states:::lambda:invoke", **{"FunctionName.$": "$.function"}),
        Jsonata={
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun",
            "Arguments": {"JobName": "{% $states.input.job %}"},
            "End": True,
        },
        Pass={"Type": "Pass", "Next": "Activity"},
        Activity={
            "Type": "Task",
            "Resource": f"arn:aws:states:{REGION}:{ACCOUNT}:activity:ohpen",
            "End": True,
        },
    )
    assert _found(definition) == []


def test_jsonata_arguments_with_literal_values_are_read() -> None:
    definition = _machine(
        Run={
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun",
            "Arguments": {"JobName": "ohpen-job"},
            "End": True,
        }
    )
    assert [name for _, name, _, _ in _found(definition)] == ["ohpen-job"]


def test_queue_url_comes_from_the_arn() -> None:
    assert queue_url(f"arn:aws:sqs:{REGION}:{ACCOUNT}:q") == (
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    )


# ---------------------------------------------------------------- the check on fakes


def _error(code: str, status: int, operation: str) -> bex.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bex.ClientError(response, operation)


class FakeService:
    """Answers every call, or raises the error given for one name."""

    def __init__(self, errors: dict[str, bex.ClientError] | None = None) -> None:
        self.errors = errors or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> dict[str, Any]:
            self.calls.append((operation, params))
            for key in self.errors:
                if key in json.dumps(params):
                    raise self.errors[key]
            return {}

        return call


class FakeSfn(FakeService):
    def __init__(self, definition: dict[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition if isinstance(definition, str) else json.dumps(definition)

    def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        self.calls.append(("describe_state_machine", {"stateMachineArn": stateMachineArn}))
        return {"definition": self.definition, "status": "ACTIVE"}


def _clients(**services: FakeService) -> dict[str, Any]:
    names = ("lambda", "glue", "sns", "s3", "sqs")
    return {name: services.get(name, FakeService()) for name in names}


def test_a_definition_whose_resources_all_exist_passes_with_one_call_each() -> None:
    twice = _machine(
        A=_task("arn:aws:states:::lambda:invoke", FunctionName="ohpen-x"),
        B=_task("arn:aws:states:::lambda:invoke", FunctionName=LAMBDA),
    )
    lambda_client = FakeService()
    check_state_machine_references(
        FakeSfn(twice), _clients(**{"lambda": lambda_client}), "m", WHERE
    )
    assert lambda_client.calls == [("get_function", {"FunctionName": LAMBDA})]


def test_every_missing_reference_is_named_with_the_states_using_it() -> None:
    definition = _machine(
        Summarise=_task("arn:aws:states:::lambda:invoke", FunctionName="ohpen-x"),
        Again=_task("arn:aws:states:::lambda:invoke", FunctionName="ohpen-x"),
        Notify=_task("arn:aws:states:::sns:publish", TopicArn=TOPIC),
        Glue=_task("arn:aws:states:::glue:startJobRun", JobName="ohpen-job"),
    )
    services = _clients(
        **{
            "lambda": FakeService(
                {"ohpen-x": _error("ResourceNotFoundException", 404, "GetFunction")}
            ),
            "sns": FakeService(
                {"ohpen-etl-failures": _error("NotFound", 404, "GetTopicAttributes")}
            ),
        }
    )
    with pytest.raises(CheckFailed) as failed:
        check_state_machine_references(FakeSfn(definition), services, "m", WHERE)
    assert str(failed.value) == (
        f"state machine m: references missing Lambda function ohpen-x ({LAMBDA}) in states "
        f"Summarise, Again; missing SNS topic ohpen-etl-failures ({TOPIC}) in state Notify {AT}"
    )


def test_a_throttled_existence_call_is_inconclusive() -> None:
    definition = _machine(A=_task("arn:aws:states:::glue:startJobRun", JobName="ohpen-job"))
    glue = FakeService({"ohpen-job": _error("ThrottlingException", 400, "GetJob")})
    with pytest.raises(CheckInconclusive) as unanswered:
        check_state_machine_references(FakeSfn(definition), _clients(glue=glue), "m", WHERE)
    assert str(unanswered.value).startswith(
        "state machine m: Glue job ohpen-job: could not be checked: throttled"
    )


def test_access_denied_fails_as_access_denied_not_as_missing() -> None:
    definition = _machine(A=_task("arn:aws:states:::aws-sdk:s3:putObject", Bucket="ohpen-silver"))
    s3 = FakeService({"ohpen-silver": _error("403", 403, "HeadBucket")})
    with pytest.raises(CheckFailed) as failed:
        check_state_machine_references(FakeSfn(definition), _clients(s3=s3), "m", WHERE)
    assert str(failed.value) == (
        f"state machine m: S3 bucket ohpen-silver: access denied (403) {AT}"
    )


def test_references_in_another_region_are_not_asked_about() -> None:
    other = "arn:aws:sns:us-east-1:123456789012:ohpen-global"
    definition = _machine(A=_task("arn:aws:states:::sns:publish", TopicArn=other))
    sns = FakeService({"ohpen-global": _error("NotFound", 404, "GetTopicAttributes")})
    check_state_machine_references(FakeSfn(definition), _clients(sns=sns), "m", WHERE)
    assert sns.calls == []


def test_a_definition_that_is_not_json_fails() -> None:
    sfn = FakeSfn("{not json")
    with pytest.raises(CheckFailed, match="state machine m: definition is not valid JSON"):
        check_state_machine_references(sfn, _clients(), "m", WHERE)


# ---------------------------------------------------------------- the fault's definition


def test_the_fault_renames_the_first_lambda_and_nothing_else() -> None:
    broken = with_missing_lambda(PIPELINE)
    found = references(broken, REGION, ACCOUNT)
    assert [r.name for r in found] == [
        "ohpen-transaction-etl-spark",
        "ohpen-read-run-summary-missing",
        "ohpen-etl-failures",
    ]
    broken["States"]["ReadRunSummary"]["Parameters"]["FunctionName"] = "ohpen-read-run-summary"
    assert broken == PIPELINE


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (f"{LAMBDA}:live", f"{LAMBDA}-missing:live"),
        (LAMBDA, f"{LAMBDA}-missing"),
    ],
)
def test_the_fault_keeps_an_arn_and_its_qualifier(resource: str, expected: str) -> None:
    definition = _machine(Call={"Type": "Task", "Resource": resource, "End": True})
    assert with_missing_lambda(definition)["States"]["Call"]["Resource"] == expected


def test_the_fault_finds_a_lambda_inside_a_parallel_branch() -> None:
    definition = _machine(
        Fan={
            "Type": "Parallel",
            "Branches": [_machine(L=_task("arn:aws:states:::lambda:invoke", FunctionName="f:1"))],
            "End": True,
        }
    )
    branch = with_missing_lambda(definition)["States"]["Fan"]["Branches"][0]
    assert branch["States"]["L"]["Parameters"]["FunctionName"] == "f-missing:1"


def test_the_fault_refuses_a_definition_without_a_lambda() -> None:
    with pytest.raises(ValueError, match="no Lambda task"):
        with_missing_lambda(_machine(P={"Type": "Pass", "End": True}))
