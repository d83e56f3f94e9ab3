"""What a role needs, read from what AWS runs: GetJob's script and S3 arguments, a state
machine's Task states, and the environment's extra "ACTION RESOURCE" strings. Pure, on
literal answers shaped as GetJob and DescribeStateMachine give them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_ohpen.checks.permissions import (
    Need,
    glue_job_needs,
    role_needs,
    state_machine_needs,
)

ACCOUNT = "123456789012"
GLUE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ohpen-transaction-etl-spark-role"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/ohpen-etl-orchestration-role"
MACHINE_ARN = f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:ohpen-etl-orchestration"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:ohpen-etl-failures"
JOB: dict[str, Any] = {
    "Name": "ohpen-transaction-etl-spark",
    "Role": GLUE_ROLE,
    "Command": {
        "Name": "glueetl",
        "ScriptLocation": "s3://ohpen-artifacts/glue/ohpen-transaction-etl-spark/main.py",
        "PythonVersion": "3",
    },
    "DefaultArguments": {
        "--input_path": "s3://ohpen-bronze/transactions/",
        "--output_path": "s3://ohpen-silver/transactions/",
        "--TempDir": "s3://ohpen-artifacts/tmp/",
        "--job-language": "python",
    },
    "GlueVersion": "4.0",
}
PIPELINE = {  # the stack's definition (infra/terraform/pipeline.tf)
    "StartAt": "RunTransactionEtl",
    "States": {
        "RunTransactionEtl": {
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun",
            "Parameters": {
                "JobName": "ohpen-transaction-etl-spark",
                "Arguments": {"--run_key.$": "$.run_key"},
            },
            "Next": "ReadRunSummary",
        },
        "ReadRunSummary": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "ohpen-read-run-summary", "Payload.$": "$"},
            "Next": "NotifyFailure",
        },
        "NotifyFailure": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": TOPIC, "Message.$": "States.JsonToString($.error)"},
            "Next": "Failed",
        },
        "Failed": {"Type": "Fail", "Error": "PipelineFailed"},
    },
}


def _described(definition: dict[str, Any], role: str = PIPELINE_ROLE) -> dict[str, Any]:
    return {
        "stateMachineArn": MACHINE_ARN,
        "name": "ohpen-etl-orchestration",
        "definition": json.dumps(definition),
        "roleArn": role,
        "type": "STANDARD",
    }


def test_glue_job_reads_its_script_and_input_and_writes_its_output() -> None:
    role, needs = glue_job_needs(JOB)
    assert role == GLUE_ROLE
    job = "Glue job ohpen-transaction-etl-spark"
    assert needs == [
        Need(
            "s3:GetObject",
            "arn:aws:s3:::ohpen-artifacts/glue/ohpen-transaction-etl-spark/main.py",
            f"{job} script",
        ),
        Need(
            "s3:GetObject",
            "arn:aws:s3:::ohpen-bronze/transactions/*",
            f"{job} --input_path s3://ohpen-bronze/transactions/",
        ),
        Need(
            "s3:ListBucket",
            "arn:aws:s3:::ohpen-bronze",
            f"{job} --input_path s3://ohpen-bronze/transactions/",
        ),
        Need(
            "s3:PutObject",
            "arn:aws:s3:::ohpen-silver/transactions/*",
            f"{job} --output_path s3://ohpen-silver/transactions/",
        ),
    ]


@pytest.mark.parametrize(
    ("argument", "actions"),
    [
        ("--source_bucket", ["s3:GetObject", "s3:ListBucket"]),
        ("--READ_FROM", ["s3:GetObject", "s3:ListBucket"]),
        ("--target", ["s3:PutObject"]),
        ("--destination", ["s3:PutObject"]),
        ("--write_prefix", ["s3:PutObject"]),
        ("--extra-py-files", []),
    ],
)
def test_glue_argument_names_say_read_or_write(argument: str, actions: list[str]) -> None:
    job = {"Name": "j", "Role": "r", "DefaultArguments": {argument: "s3://b/p/"}}
    assert [n.action for n in glue_job_needs(job)[1]] == actions


def test_glue_job_without_script_or_arguments_needs_nothing() -> None:
    assert glue_job_needs({"Name": "j", "Role": "r", "Command": {}}) == ("r", [])


def test_state_machine_tasks_need_the_job_the_function_and_the_topic() -> None:
    role, needs = state_machine_needs(_described(PIPELINE))
    assert role == PIPELINE_ROLE
    machine = "state machine ohpen-etl-orchestration state"
    assert needs == [
        Need(
            "glue:StartJobRun",
            f"arn:aws:glue:eu-west-1:{ACCOUNT}:job/ohpen-transaction-etl-spark",
            f"{machine} RunTransactionEtl",
        ),
        Need(
            "lambda:InvokeFunction",
            f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:ohpen-read-run-summary",
            f"{machine} ReadRunSummary",
        ),
        Need("sns:Publish", TOPIC, f"{machine} NotifyFailure"),
    ]


def test_jsonpath_and_jsonata_parameters_are_skipped() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName.$": "$.job"},
                "Next": "B",
            },
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "{% $states.input.fn %}"},
                "Next": "C",
            },
            "C": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn.$": "$.topic", "Message": "x"},
                "End": True,
            },
        },
    }
    assert state_machine_needs(_described(definition))[1] == []


def test_nested_tasks_sync_glue_runs_plain_lambda_arns_and_s3_sdk_calls() -> None:
    fn = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:ohpen-validate"
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Run",
                        "States": {
                            "Run": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                                "Parameters": {"JobName": "etl"},
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "StartAt": "Validate",
                                    "States": {
                                        "Validate": {"Type": "Task", "Resource": fn, "End": True}
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                ],
                "Next": "Write",
            },
            "Write": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": "ohpen-silver", "Key": "_SUCCESS", "Body": ""},
                "Next": "Read",
            },
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "ohpen-silver", "Key.$": "$.key"},
                "End": True,
            },
        },
    }
    needs = state_machine_needs(_described(definition))[1]
    job = f"arn:aws:glue:eu-west-1:{ACCOUNT}:job/etl"
    assert [(n.action, n.resource) for n in needs] == [
        ("glue:StartJobRun", job),
        ("glue:GetJobRun", job),
        ("glue:GetJobRuns", job),
        ("glue:BatchStopJobRun", job),
        ("lambda:InvokeFunction", fn),
        ("s3:PutObject", "arn:aws:s3:::ohpen-silver/_SUCCESS"),
    ]
    assert needs[4].why == "state machine ohpen-etl-orchestration state Validate"


@pytest.mark.parametrize(
    ("name", "arn"),
    [
        ("summary", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:summary"),
        ("summary:live", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:summary:live"),
        (f"{ACCOUNT}:function:summary", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:summary"),
        (
            f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:summary",
            f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:summary",
        ),
    ],
)
def test_lambda_function_names_become_arns(name: str, arn: str) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": name},
                "End": True,
            }
        },
    }
    assert [n.resource for n in state_machine_needs(_described(definition))[1]] == [arn]


def test_role_needs_gathers_what_runs_as_the_role_by_name_or_arn() -> None:
    other_job = {**JOB, "Name": "other", "Role": "arn:aws:iam::1:role/other-role"}
    extra = [Need("kms:Decrypt", "*", "extra")]
    by_name = role_needs(
        [JOB, other_job], [_described(PIPELINE)], "ohpen-transaction-etl-spark-role", extra
    )
    assert by_name == [*glue_job_needs(JOB)[1], *extra]
    # A state machine's role ARN with a path matches the role's name and ARN.
    machine = state_machine_needs(_described(PIPELINE))[1]
    assert role_needs([JOB], [_described(PIPELINE)], "ohpen-etl-orchestration-role", []) == machine
    assert role_needs([JOB], [_described(PIPELINE)], PIPELINE_ROLE, []) == machine
    assert role_needs([JOB], [_described(PIPELINE)], "nobody-role", []) == []
