"""Create a Stack in an AWS account (the embedded one) through boto3.

Only the embedded account is ever provisioned: ``server.EmbeddedAccount`` calls
this with clients pointed at its own loopback address.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.emulator.stack import (
    STATE_SERIALS,
    Stack,
    artifacts_bucket,
    glue_script_key,
    role_name,
    state_machine_definition,
    terraform_state,
)

LAMBDA_SOURCE = '''\
import json


def handler(event, context):
    """Read the run summary the ETL job wrote and return it."""
    return {"statusCode": 200, "body": json.dumps({"run_key": event.get("run_key"), "ok": True})}
'''
GLUE_SCRIPT = b"# Ohpen transaction ETL (bronze -> silver); the embedded account never runs it\n"
TRUST = {
    "glue": "glue.amazonaws.com",
    "states": "states.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
}
PERMISSIONS: dict[str, list[dict[str, Any]]] = {
    "glue": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [
                "arn:aws:s3:::ohpen-bronze",
                "arn:aws:s3:::ohpen-bronze/*",
                "arn:aws:s3:::ohpen-artifacts/*",
            ],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::ohpen-silver/*",
        },
    ],
    "states": [
        {"Effect": "Allow", "Action": ["glue:StartJobRun", "glue:GetJobRun"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:*:*:function:ohpen-*",
        },
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:ohpen-*"},
    ],
    "lambda": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/ohpen-*",
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ohpen-silver/*"},
    ],
}
"""Each service role's inline policy: named actions on named resources (what the
post-rollback security suite expects of the pipeline's roles)."""


def provision(clients: AwsClients, stack: Stack) -> None:
    """Create every resource of ``stack`` in the account ``clients`` talk to."""
    env = clients.env
    for bucket in stack.buckets:
        _bucket(clients.client("s3"), bucket, env.region, versioned=True)
    if artifacts_bucket(stack) in stack.buckets:
        for job in stack.glue_jobs:
            clients.client("s3").put_object(
                Bucket=artifacts_bucket(stack), Key=glue_script_key(job), Body=GLUE_SCRIPT
            )
    for job in stack.glue_jobs:
        create_glue_job(clients, stack, job)
    for function in stack.lambdas:
        clients.client("lambda").create_function(
            FunctionName=function,
            Runtime="python3.12",
            Handler="handler.handler",
            Role=_role(clients, function, "lambda"),
            Code={"ZipFile": _zip(LAMBDA_SOURCE)},
            MemorySize=256,
            Timeout=30,
        )
    topic_arn = _topic(clients, stack.failure_topic) if stack.failure_topic else None
    for machine in stack.state_machines:
        clients.client("stepfunctions").create_state_machine(
            name=machine,
            definition=state_machine_definition(env.region, env.account_id, stack),
            roleArn=_role(clients, machine, "states"),
            type="STANDARD",
            loggingConfiguration=_logging(clients, machine),
        )
    for function in stack.lambdas:
        for machine in stack.state_machines:  # only the pipeline may invoke it
            clients.client("lambda").add_permission(
                FunctionName=function,
                StatementId=f"invoke-from-{machine}",
                Action="lambda:InvokeFunction",
                Principal="states.amazonaws.com",
                SourceArn=f"arn:aws:states:{env.region}:{env.account_id}:stateMachine:{machine}",
            )
    for alarm in stack.alarms:
        clients.client("cloudwatch").put_metric_alarm(
            AlarmName=alarm,
            Namespace="Ohpen/ETL",
            MetricName=alarm,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            ActionsEnabled=True,
            AlarmActions=[topic_arn] if topic_arn else [],
        )
    if stack.state_bucket:
        _state_versions(clients, stack)
    for layer in env.data.values():
        if layer.bucket in stack.buckets:
            _data_runs(clients.client("s3"), layer.bucket, layer.prefix)
    if stack.lock_table:
        clients.client("dynamodb").create_table(
            TableName=stack.lock_table,
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def create_glue_job(clients: AwsClients, stack: Stack, job: str) -> None:
    """The Glue job as the stack defines it (its role must exist or is created)."""
    iam = clients.client("iam")
    try:
        role_arn = str(iam.get_role(RoleName=role_name(job))["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role_arn = _role(clients, job, "glue")
    clients.client("glue").create_job(
        Name=job,
        Role=role_arn,
        Command={
            "Name": "glueetl",
            "PythonVersion": "3",
            "ScriptLocation": f"s3://{artifacts_bucket(stack)}/{glue_script_key(job)}",
        },
        GlueVersion="4.0",
        WorkerType="G.1X",
        NumberOfWorkers=2,
        Timeout=60,
    )


def block_public_access(s3: Any, bucket: str) -> None:
    """All four public-access-block settings on."""
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def _bucket(s3: Any, name: str, region: str, versioned: bool) -> None:
    options: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**options)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    block_public_access(s3, name)


def _role(clients: AwsClients, resource: str, service: str) -> str:
    """The resource's IAM role, trusted by its service, with a least-privilege inline policy."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": TRUST[service]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = clients.client("iam")
    role = iam.create_role(RoleName=role_name(resource), AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=role_name(resource),
        PolicyName=f"{resource}-least-privilege",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": PERMISSIONS[service]}),
    )
    return str(role["Role"]["Arn"])


def _logging(clients: AwsClients, machine: str) -> dict[str, Any]:
    """Step Functions logging to a CloudWatch log group of its own."""
    logs = clients.client("logs")
    group = f"/aws/vendedlogs/states/{machine}"
    logs.create_log_group(logGroupName=group)
    env = clients.env
    arn = f"arn:aws:logs:{env.region}:{env.account_id}:log-group:{group}:*"
    return {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
    }


def _topic(clients: AwsClients, name: str) -> str:
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic_arn = str(sns.create_topic(Name=name)["TopicArn"])
    queue_url = sqs.create_queue(QueueName=f"{name}-oncall")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn


def _state_versions(clients: AwsClients, stack: Stack) -> None:
    """The versioned state bucket holding one state version per apply, newest last."""
    s3, env = clients.client("s3"), clients.env
    assert stack.state_bucket
    _bucket(s3, stack.state_bucket, env.region, versioned=True)
    for serial in STATE_SERIALS:
        body = json.dumps(terraform_state(serial, env.region, env.account_id, stack), indent=2)
        s3.put_object(
            Bucket=stack.state_bucket,
            Key=stack.state_key,
            Body=body.encode(),
            ContentType="application/json",
        )


DATA_RUNS = ("run-20261124", "run-20261125", "run-20261126")
"""Three completed ETL runs of a layer, the newest promoted (``ohpen data`` has something
to show and roll back on the embedded account)."""


def _data_runs(s3: Any, bucket: str, prefix: str) -> None:
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    for day, run_id in enumerate(DATA_RUNS, start=24):
        rows = f"transaction_id,amount\n{run_id}-1,10.00\n{run_id}-2,20.00\n"
        s3.put_object(Bucket=bucket, Key=f"{prefix}{run_id}/part-00000.csv", Body=rows.encode())
        success = {
            "run_id": run_id,
            "completed_at": f"2026-11-{day}T06:00:00Z",
            "rows": 2,
            "quarantined": 0,
            "quarantine_rate": 0.0,
            "source": "embedded account",
        }
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}{run_id}/_SUCCESS", Body=json.dumps(success).encode()
        )
    promoted = DATA_RUNS[-1]
    s3.copy_object(
        Bucket=bucket,
        Key=f"{prefix}current/part-00000.csv",
        CopySource={"Bucket": bucket, "Key": f"{prefix}{promoted}/part-00000.csv"},
    )
    pointer = {
        "schema_version": 1,
        "layer": "silver",
        "run_id": promoted,
        "location": f"s3://{bucket}/{prefix}{promoted}/",
        "current_prefix": f"s3://{bucket}/{prefix}current/",
        "promoted_at": "2026-11-26T07:00:00Z",
        "promoted_by": "embedded account",
        "previous_run_id": DATA_RUNS[-2],
        "rows": 2,
        "reason": "daily promotion",
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}_LATEST.json",
        Body=json.dumps(pointer).encode(),
        ContentType="application/json",
    )


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", source)
    return buffer.getvalue()
