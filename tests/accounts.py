"""Resources of a test account, made with plain boto3 calls and literal names.

The domain tests check the plugin's checks, state restore and readiness against resources
made here rather than by ``pytest_ohpen.emulator``: a check tested against what the same
project's emulator builds could share its bugs. Each function makes one thing, as the tests
need it, in eu-west-1 of account 123456789012 (moto's default account).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

from pytest_ohpen.emulator.stack import Stack, role_name

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STATE_BUCKET = "ohpen-terraform-state"
STATE_KEY = "ohpen-data-lake/terraform.tfstate"
LINEAGE = "6f1c2a4e-0b7d-4c39-9a55-3e2d8f0c1b7a"
LOCK_TABLE = "ohpen-terraform-locks"
FAILURE_TOPIC = "ohpen-etl-failures"
ONCALL_QUEUE = "ohpen-etl-failures-oncall"
GLUE_JOB = "ohpen-transaction-etl-spark"
STATE_MACHINE = "ohpen-etl-orchestration"
LAMBDA = "ohpen-read-run-summary"


def client(url: str, service: str) -> Any:
    """A boto3 client of ``service`` on the moto server at ``url``."""
    make: Any = boto3.client  # one factory for every service name
    return make(service, endpoint_url=url, region_name=REGION)


def bucket(url: str, name: str, *, versioned: bool = True) -> None:
    """A bucket as a data lake keeps one: versioned, AES256 by default, no public access."""
    s3 = client(url, "s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def role(url: str, name: str, service: str) -> str:
    """An IAM role ``service`` (e.g. glue.amazonaws.com) may assume; its ARN."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    created = client(url, "iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(created["Role"]["Arn"])


def glue_job(url: str, name: str = GLUE_JOB) -> None:
    """A Spark Glue job with its own role."""
    client(url, "glue").create_job(
        Name=name,
        Role=role(url, f"{name}-role", "glue.amazonaws.com"),
        Command={"Name": "glueetl", "ScriptLocation": f"s3://ohpen-artifacts/glue/{name}.py"},
        GlueVersion="4.0",
    )


def lambda_function(url: str, name: str = LAMBDA) -> None:
    """A Python Lambda with its own role; it returns ``{"ok": true}``."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
    client(url, "lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="handler.handler",
        Role=role(url, f"{name}-role", "lambda.amazonaws.com"),
        Code={"ZipFile": code.getvalue()},
    )


def state_machine(url: str, name: str, definition: dict[str, Any]) -> str:
    """A standard state machine with its own role; its ARN."""
    created = client(url, "stepfunctions").create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn=role(url, f"{name}-role", "states.amazonaws.com"),
    )
    return str(created["stateMachineArn"])


def etl_pipeline(url: str, name: str = STATE_MACHINE) -> str:
    """The ETL state machine: run the Glue job with the run's input, invoke the Lambda, and on
    any error publish it to the failure topic and fail; its ARN."""
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    arguments = {
        "--run_key.$": "$.run_key",
        "--s3_bucket.$": "$.s3_bucket",
        "--s3_key.$": "$.s3_key",
    }
    return state_machine(
        url,
        name,
        {
            "StartAt": "RunTransactionEtl",
            "States": {
                "RunTransactionEtl": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::glue:startJobRun",
                    "Parameters": {"JobName": GLUE_JOB, "Arguments": arguments},
                    "ResultPath": "$.glue",
                    "Catch": catch,
                    "Next": "ReadRunSummary",
                },
                "ReadRunSummary": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": LAMBDA, "Payload.$": "$"},
                    "ResultPath": "$.summary",
                    "Catch": catch,
                    "Next": "Done",
                },
                "NotifyFailure": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {
                        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{FAILURE_TOPIC}",
                        "Message.$": "States.JsonToString($.error)",
                    },
                    "Next": "Failed",
                },
                "Failed": {
                    "Type": "Fail",
                    "Error": "PipelineFailed",
                    "Cause": "see the failure topic",
                },
                "Done": {"Type": "Succeed"},
            },
        },
    )


def failure_topic(url: str) -> str:
    """The failure topic with the on-call SQS queue subscribed (moto confirms it); its ARN."""
    sqs = client(url, "sqs")
    queue_url = sqs.create_queue(QueueName=ONCALL_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns = client(url, "sns")
    topic_arn = str(sns.create_topic(Name=FAILURE_TOPIC)["TopicArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn


def alarm(url: str, name: str, topic_arn: str) -> None:
    """A metric alarm, actions enabled, notifying ``topic_arn``."""
    client(url, "cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="Ohpen/ETL",
        MetricName="Failures",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        ActionsEnabled=True,
        AlarmActions=[topic_arn],
    )


def lock_table(url: str, name: str = LOCK_TABLE) -> None:
    """A Terraform S3-backend lock table (hash key LockID), empty."""
    client(url, "dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def terraform_state(serial: int, lineage: str = LINEAGE) -> dict[str, Any]:
    """A Terraform 1.5 state (format 4) holding one bucket, as the S3 backend stores it."""
    return {
        "version": 4,
        "terraform_version": "1.5.0",
        "serial": serial,
        "lineage": lineage,
        "outputs": {"release": {"value": f"apply-{serial}", "type": "string"}},
        "resources": [
            {
                "mode": "managed",
                "type": "aws_s3_bucket",
                "name": "bronze",
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": [{"schema_version": 0, "attributes": {"bucket": "ohpen-bronze"}}],
            }
        ],
    }


def state_body(serial: int, lineage: str = LINEAGE) -> bytes:
    """``terraform_state`` as the bytes Terraform writes (indented JSON)."""
    return json.dumps(terraform_state(serial, lineage), indent=2).encode()


def state_versions(url: str, bodies: list[bytes]) -> list[str]:
    """The versioned state bucket holding ``bodies`` as versions of the state key, oldest first;
    the version ids, oldest first."""
    bucket(url, STATE_BUCKET)
    s3 = client(url, "s3")
    return [
        str(s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=body)["VersionId"])
        for body in bodies
    ]


def three_applies(url: str) -> list[str]:
    """The state bucket after three applies (serials 1, 2, 3); version ids, oldest first."""
    return state_versions(url, [state_body(serial) for serial in (1, 2, 3)])


# ---------------------------------------------------------------- policy documents
# Bucket and IAM policies the security checks are tested on (tests/aws and tests/unit).

DENY_NON_TLS = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::ohpen-bronze", "arn:aws:s3:::ohpen-bronze/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
READ_FROM_PIPELINE = {
    "Sid": "PipelineReads",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/ohpen-etl-role"},
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::ohpen-bronze", "arn:aws:s3:::ohpen-bronze/*"],
}
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ALL_BUT_IAM = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
}
SCOPED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::ohpen-bronze/*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/ohpen-*",
        },
    ],
}


# --- a hand-made state of the whole stack (test data) ------------------------------


def glue_script_key(job: str) -> str:
    """Where the job's script lives in the artifacts bucket."""
    return f"glue/{job}/main.py"


def state_machine_definition(region: str, account_id: str, stack: Stack) -> str:
    """The pipeline: run the Glue job, read the run summary, notify the failure topic on error."""
    glue_job = stack.glue_jobs[0] if stack.glue_jobs else "ohpen-transaction-etl-spark"
    summary = stack.lambdas[0] if stack.lambdas else "ohpen-read-run-summary"
    topic_arn = f"arn:aws:sns:{region}:{account_id}:{'ohpen-etl-failures'}"
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    definition: dict[str, Any] = {
        "Comment": "Ohpen ETL: bronze to silver, then publish the run summary",
        "StartAt": "RunTransactionEtl",
        "States": {
            "RunTransactionEtl": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun",
                "Parameters": {
                    "JobName": glue_job,
                    "Arguments": {
                        "--run_key.$": "$.run_key",
                        "--s3_bucket.$": "$.s3_bucket",
                        "--s3_key.$": "$.s3_key",
                    },
                },
                "ResultPath": "$.glue",
                "Catch": catch,
                "Next": "ReadRunSummary",
            },
            "ReadRunSummary": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": summary, "Payload.$": "$"},
                "ResultPath": "$.summary",
                "Catch": catch,
                "Next": "Done",
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic_arn, "Message.$": "States.JsonToString($.error)"},
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "see the failure topic"},
            "Done": {"Type": "Succeed"},
        },
    }
    return json.dumps(definition, indent=2)


def stack_state(serial: int, region: str, account_id: str, stack: Stack) -> dict[str, Any]:
    """A hand-made Terraform 1.5 state (format 4) naming the stack's jobs, functions and
    machines: test data for the pure comparison helpers (real states come from real applies)."""

    def resource(kind: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {
            "mode": "managed",
            "type": kind,
            "name": name.replace("-", "_"),
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": attributes}],
        }

    arn = f"arn:aws:{{}}:{region}:{account_id}:{{}}"
    resources = [
        resource("aws_s3_bucket", b, {"bucket": b, "arn": f"arn:aws:s3:::{b}"})
        for b in stack.buckets
    ]
    resources += [
        resource(
            "aws_glue_job",
            j,
            {
                "name": j,
                "worker_type": "G.1X",
                "number_of_workers": 2,
                "timeout": 60,
                "glue_version": "4.0",
                "role_arn": f"arn:aws:iam::{account_id}:role/{role_name(j)}",
                "command": [
                    {
                        "name": "glueetl",
                        "python_version": "3",
                        "script_location": f"s3://{artifacts_bucket(stack)}/{glue_script_key(j)}",
                    }
                ],
            },
        )
        for j in stack.glue_jobs
    ]
    resources += [
        resource(
            "aws_lambda_function",
            f,
            {
                "function_name": f,
                "runtime": "python3.12",
                "handler": "handler.handler",
                "memory_size": 256,
                "timeout": 30,
                "arn": arn.format("lambda", f"function:{f}"),
            },
        )
        for f in stack.lambdas
    ]
    resources += [
        resource(
            "aws_sfn_state_machine",
            m,
            {
                "name": m,
                "arn": arn.format("states", f"stateMachine:{m}"),
                "definition": state_machine_definition(region, account_id, stack),
                "role_arn": f"arn:aws:iam::{account_id}:role/{role_name(m)}",
            },
        )
        for m in stack.state_machines
    ]
    return {
        "version": 4,
        "terraform_version": "1.5.0",
        "serial": serial,
        "lineage": LINEAGE,
        "outputs": {"deployment": {"value": f"apply-{serial}", "type": "string"}},
        "resources": resources,
    }


def artifacts_bucket(stack: Stack) -> str:
    """The bucket holding job scripts: the one named like artifacts."""
    return next((b for b in stack.buckets if "artifacts" in b), "ohpen-artifacts")
