"""The checks of what goes wrong right after a deploy, against a real moto server: a state
machine's references, Lambda errors since the deploy, bucket encryption as configured,
the bake window; and the four faults that break them, each breaking only its own check.

The small stack is made with tests/accounts.py (plain boto3). moto does not answer
DescribeAlarmHistory; the embedded account teaches it (pytest_ohpen.emulator.alarm_history),
and so does this module, as the bake window reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import accounts
import pytest
from accounts import FAILURE_TOPIC, GLUE_JOB, LAMBDA, STATE_MACHINE
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.awslambda import check_lambda_active
from pytest_ohpen.checks.bake import BakeWindow, watch_alarm
from pytest_ohpen.checks.encryption import check_bucket_encryption
from pytest_ohpen.checks.lambda_errors import check_lambda_no_errors
from pytest_ohpen.checks.monitoring import check_alarm_operational, topic_arn
from pytest_ohpen.checks.references import SERVICE, check_state_machine_references
from pytest_ohpen.checks.security import (
    check_public_access_blocked,
    check_state_machine_logging,
    check_versioning_enabled,
)
from pytest_ohpen.checks.stepfunctions import check_state_machine_active, state_machine_arn
from pytest_ohpen.emulator import alarm_history
from pytest_ohpen.emulator.faults_ops import FAULTS
from pytest_ohpen.emulator.stack import Stack

WHERE = Where("123456789012", "eu-west-1")
AT = "in account 123456789012 eu-west-1"
BUCKET = "ohpen-bronze"
ALARM = "ohpen-etl-pipeline-failed"
TOPIC = topic_arn(FAILURE_TOPIC, WHERE)
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/ohpen:*"
STACK = Stack(
    buckets=(BUCKET,),
    glue_jobs=(GLUE_JOB,),
    state_machines=(STATE_MACHINE,),
    lambdas=(LAMBDA,),
    alarms=(ALARM,),
)
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(autouse=True, scope="module")
def alarm_history_answered() -> None:
    """moto's CloudWatch answers DescribeAlarmHistory, as in the embedded account."""
    alarm_history.install()


def _services(aws: AwsClients) -> dict[str, Any]:
    return {service: aws.client(service) for service in SERVICE.values()}


def _failure(check: Callable[[], None]) -> str:
    with pytest.raises(CheckFailed) as failure:
        check()
    return str(failure.value)


def _logged_pipeline(url: str) -> None:
    """The ETL state machine, logging ERROR to its log group, as Terraform makes it."""
    sfn = accounts.client(url, "stepfunctions")
    arn = accounts.etl_pipeline(url)
    sfn.update_state_machine(
        stateMachineArn=arn,
        loggingConfiguration={
            "level": "ERROR",
            "includeExecutionData": False,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
        },
    )


@pytest.fixture
def stack(fresh_moto: str) -> Iterator[AwsClients]:
    """The small stack: a hardened bucket, the Glue job, the Lambda, the failure topic and
    its alarm, and the logged ETL state machine naming them."""
    accounts.bucket(fresh_moto, BUCKET)
    accounts.glue_job(fresh_moto)
    accounts.lambda_function(fresh_moto)
    accounts.alarm(fresh_moto, ALARM, accounts.failure_topic(fresh_moto))
    _logged_pipeline(fresh_moto)
    yield moto_clients(fresh_moto)


@pytest.fixture
def empty(fresh_moto: str) -> AwsClients:
    return moto_clients(fresh_moto)


# ---------------------------------------------------------------- references


def test_a_pipeline_whose_references_exist_passes(stack: AwsClients) -> None:
    check_state_machine_references(
        stack.client("stepfunctions"), _services(stack), STATE_MACHINE, WHERE
    )


def test_missing_references_are_each_named_with_their_state(fresh_moto: str) -> None:
    accounts.bucket(fresh_moto, BUCKET)  # nor the Glue job, the Lambda or the topic
    accounts.etl_pipeline(fresh_moto)
    aws = moto_clients(fresh_moto)
    message = _failure(
        lambda: check_state_machine_references(
            aws.client("stepfunctions"), _services(aws), STATE_MACHINE, WHERE
        )
    )
    assert message == (
        f"state machine {STATE_MACHINE}: references "
        f"missing Glue job {GLUE_JOB} (arn:aws:glue:eu-west-1:123456789012:job/{GLUE_JOB}) "
        "in state RunTransactionEtl; "
        f"missing Lambda function {LAMBDA} "
        f"(arn:aws:lambda:eu-west-1:123456789012:function:{LAMBDA}) in state ReadRunSummary; "
        f"missing SNS topic {FAILURE_TOPIC} ({TOPIC}) in state NotifyFailure {AT}"
    )


def test_queues_buckets_and_child_machines_are_asked_about(fresh_moto: str) -> None:
    sqs = accounts.client(fresh_moto, "sqs")
    sqs.create_queue(QueueName="ohpen-oncall")
    accounts.bucket(fresh_moto, BUCKET)
    child = accounts.state_machine(
        fresh_moto, "ohpen-child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )

    def task(resource: str, **parameters: str) -> dict[str, Any]:
        return {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}

    def definition(queue: str, bucket: str, machine: str) -> dict[str, Any]:
        url = f"https://sqs.eu-west-1.amazonaws.com/123456789012/{queue}"
        states = {
            "Queue": task("arn:aws:states:::sqs:sendMessage", QueueUrl=url, MessageBody="x"),
            "Read": task("arn:aws:states:::aws-sdk:s3:getObject", Bucket=bucket, Key="k"),
            "Child": task("arn:aws:states:::states:startExecution", StateMachineArn=machine),
        }
        return {"StartAt": "Queue", "States": states}

    accounts.state_machine(fresh_moto, "ohpen-fan", definition("ohpen-oncall", BUCKET, child))
    gone = child.replace("ohpen-child", "ohpen-gone")
    accounts.state_machine(fresh_moto, "ohpen-broken", definition("ohpen-nope", "ohpen-nope", gone))
    aws = moto_clients(fresh_moto)
    sfn = aws.client("stepfunctions")
    check_state_machine_references(sfn, _services(aws), "ohpen-fan", WHERE)
    message = _failure(
        lambda: check_state_machine_references(sfn, _services(aws), "ohpen-broken", WHERE)
    )
    assert message == (
        "state machine ohpen-broken: references "
        "missing SQS queue ohpen-nope (arn:aws:sqs:eu-west-1:123456789012:ohpen-nope) in state "
        "Queue; missing S3 bucket ohpen-nope (arn:aws:s3:::ohpen-nope) in state Read; "
        f"missing state machine ohpen-gone ({gone}) in state Child {AT}"
    )


def test_a_missing_state_machine_is_not_found(empty: AwsClients) -> None:
    message = _failure(
        lambda: check_state_machine_references(
            empty.client("stepfunctions"), _services(empty), STATE_MACHINE, WHERE
        )
    )
    assert message == f"state machine {STATE_MACHINE}: not found (StateMachineDoesNotExist) {AT}"


# ---------------------------------------------------------------- Lambda errors


def _metric(aws: AwsClients, name: str, value: float, at: datetime) -> None:
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "FunctionName", "Value": LAMBDA}],
                "Value": value,
                "Timestamp": at,
            }
        ],
    )


def test_a_function_without_datapoints_has_no_errors(stack: AwsClients) -> None:
    since = datetime.now(UTC) - timedelta(minutes=30)
    check_lambda_no_errors(stack.client("cloudwatch"), LAMBDA, since, WHERE)


def test_invocations_without_errors_pass_and_errors_before_the_deploy_do_not_count(
    stack: AwsClients,
) -> None:
    now = datetime.now(UTC)
    _metric(stack, "Invocations", 12, now - timedelta(minutes=2))
    _metric(stack, "Errors", 0, now - timedelta(minutes=2))
    _metric(stack, "Errors", 4, now - timedelta(minutes=20))
    since = now - timedelta(minutes=10)
    check_lambda_no_errors(stack.client("cloudwatch"), LAMBDA, since, WHERE, now=now)


def test_errors_since_the_deploy_fail_with_how_many_invocations_failed(stack: AwsClients) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(minutes=7)
    _metric(stack, "Invocations", 4, first)
    _metric(stack, "Errors", 3, first)
    _metric(stack, "Invocations", 5, now - timedelta(minutes=3))
    _metric(stack, "Errors", 4, now - timedelta(minutes=3))
    since = now - timedelta(minutes=10)
    message = _failure(
        lambda: check_lambda_no_errors(
            stack.client("cloudwatch"), LAMBDA, since, WHERE, now=now + timedelta(seconds=1)
        )
    )
    assert message == (
        f"Lambda {LAMBDA}: 7 errors since the deploy at {since:%Y-%m-%dT%H:%M:%SZ} "
        f"(7 of 9 invocations failed, first at {first:%Y-%m-%dT%H:%M:00Z}) {AT}"
    )  # CloudWatch stamps a datapoint with the start of its minute


def test_errors_in_the_deploys_own_minute_count_and_a_deploy_just_now_is_no_error(
    stack: AwsClients,
) -> None:
    """A deploy at hh:mm:30 and an error at hh:mm:45 (stamped hh:mm:00) is an error since the
    deploy; a check right after the deploy (StartTime == EndTime) is a valid query."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    _metric(stack, "Errors", 2, minute + timedelta(seconds=45))
    deployed = minute + timedelta(seconds=30)
    message = _failure(
        lambda: check_lambda_no_errors(
            stack.client("cloudwatch"), LAMBDA, deployed, WHERE, now=deployed
        )
    )
    assert message.startswith(f"Lambda {LAMBDA}: 2 errors since the deploy at ")
    quiet = datetime.now(UTC)
    check_lambda_no_errors(stack.client("cloudwatch"), "other-function", quiet, WHERE, now=quiet)


def test_a_long_bake_reads_wider_periods(stack: AwsClients) -> None:
    now = datetime.now(UTC)
    _metric(stack, "Errors", 1, now - timedelta(hours=30))
    since = now - timedelta(days=3)
    message = _failure(
        lambda: check_lambda_no_errors(stack.client("cloudwatch"), LAMBDA, since, WHERE, now=now)
    )
    assert re.fullmatch(
        f"Lambda {LAMBDA}: 1 error since the deploy at {ISO} \\(first at {ISO}\\) {AT}", message
    )


# ---------------------------------------------------------------- encryption

AWS_DOCUMENTED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyIncorrectEncryptionHeader",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
        },
        {
            "Sid": "DenyUnencryptedObjectUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        },
    ],
}


def test_sse_s3_passes_where_kms_is_not_asked_for(stack: AwsClients) -> None:
    check_bucket_encryption(stack.client("s3"), BUCKET, False, None, False, WHERE)


def test_sse_s3_fails_where_kms_is_asked_for(stack: AwsClients) -> None:
    message = _failure(
        lambda: check_bucket_encryption(stack.client("s3"), BUCKET, True, None, False, WHERE)
    )
    assert message == f"bucket {BUCKET}: default encryption AES256, expected SSE-KMS {AT}"


def test_the_configured_kms_key_is_compared_in_any_of_its_names(stack: AwsClients) -> None:
    kms = stack.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/ohpen-data", TargetKeyId=key["KeyId"])
    s3 = stack.client("s3")
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key["Arn"],
                    }
                }
            ]
        },
    )
    check_bucket_encryption(s3, BUCKET, True, key["KeyId"], False, WHERE)
    check_bucket_encryption(s3, BUCKET, True, key["Arn"], False, WHERE)
    message = _failure(
        lambda: check_bucket_encryption(s3, BUCKET, True, "alias/ohpen-other", False, WHERE)
    )
    assert message == (
        f"bucket {BUCKET}: default encryption uses KMS key {key['Arn']}, "
        f"expected alias/ohpen-other {AT}"
    )


def test_uploads_without_encryption_must_be_denied_where_asked(stack: AwsClients) -> None:
    s3 = stack.client("s3")
    message = _failure(lambda: check_bucket_encryption(s3, BUCKET, False, None, True, WHERE))
    assert message == f"bucket {BUCKET}: no bucket policy denying unencrypted uploads {AT}"
    tls_only = {"Version": "2012-10-17", "Statement": [accounts.DENY_NON_TLS]}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(tls_only))
    message = _failure(lambda: check_bucket_encryption(s3, BUCKET, False, None, True, WHERE))
    assert message == (
        f"bucket {BUCKET}: bucket policy does not deny unencrypted uploads "
        f"(s3:PutObject without s3:x-amz-server-side-encryption) {AT}"
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(AWS_DOCUMENTED))
    check_bucket_encryption(s3, BUCKET, False, None, True, WHERE)


def test_every_encryption_problem_is_named_at_once(fresh_moto: str) -> None:
    s3 = accounts.client(fresh_moto, "s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    message = _failure(lambda: check_bucket_encryption(s3, BUCKET, True, None, True, WHERE))
    assert message == (
        f"bucket {BUCKET}: no default encryption; no bucket policy denying unencrypted uploads {AT}"
    )


def test_a_missing_bucket_is_not_found(empty: AwsClients) -> None:
    message = _failure(
        lambda: check_bucket_encryption(empty.client("s3"), "ohpen-silver", True, None, True, WHERE)
    )
    assert message == f"bucket ohpen-silver: not found (NoSuchBucket) {AT}"


# ---------------------------------------------------------------- the bake window


def _ended_window(minutes: int = 30) -> BakeWindow:
    now = datetime.now(UTC)
    return BakeWindow(now - timedelta(minutes=minutes), now)


def test_a_quiet_alarm_passes_the_window(stack: AwsClients) -> None:
    watch_alarm(stack.client("cloudwatch"), ALARM, _ended_window(), WHERE, poll_seconds=0.2)


def test_an_alarm_that_fired_and_recovered_fails_from_its_history(stack: AwsClients) -> None:
    cloudwatch = stack.client("cloudwatch")
    before = datetime.now(UTC)
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="spike")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="recovered")
    window = BakeWindow(before - timedelta(minutes=3), datetime.now(UTC))
    message = _failure(lambda: watch_alarm(cloudwatch, ALARM, window, WHERE, poll_seconds=0.2))
    assert re.fullmatch(
        f"alarm {ALARM}: went into ALARM at {ISO}, 3 min after the deploy "
        f"\\(bake window {ISO} to {ISO}\\): spike {AT}",
        message,
    )


def test_a_missing_alarm_is_not_found(empty: AwsClients) -> None:
    message = _failure(
        lambda: watch_alarm(empty.client("cloudwatch"), ALARM, _ended_window(), WHERE)
    )
    assert message == f"alarm {ALARM}: not found {AT}"


# ---------------------------------------------------------------- the faults


def _checks(aws: AwsClients, since: datetime) -> dict[str, Callable[[], None]]:
    """Every check these faults could touch, by name."""
    sfn, s3, cloudwatch = aws.client("stepfunctions"), aws.client("s3"), aws.client("cloudwatch")
    window = BakeWindow(since, datetime.now(UTC))
    return {
        "references": lambda: check_state_machine_references(
            sfn, _services(aws), STATE_MACHINE, WHERE
        ),
        "state machine active": lambda: check_state_machine_active(sfn, STATE_MACHINE, WHERE),
        "state machine logging": lambda: check_state_machine_logging(sfn, STATE_MACHINE, WHERE),
        "lambda errors": lambda: check_lambda_no_errors(cloudwatch, LAMBDA, since, WHERE),
        "lambda active": lambda: check_lambda_active(aws.client("lambda"), LAMBDA, WHERE),
        "encryption": lambda: check_bucket_encryption(s3, BUCKET, False, None, False, WHERE),
        "public access": lambda: check_public_access_blocked(s3, BUCKET, WHERE),
        "versioning": lambda: check_versioning_enabled(s3, BUCKET, WHERE),
        "bake": lambda: watch_alarm(cloudwatch, ALARM, window, WHERE, poll_seconds=0.2),
        "alarm operational": lambda: check_alarm_operational(cloudwatch, ALARM, TOPIC, WHERE),
    }


def _failing(aws: AwsClients, since: datetime) -> dict[str, str]:
    failing = {}
    for name, check in _checks(aws, since).items():
        try:
            check()
        except CheckFailed as failure:
            failing[name] = str(failure)
    return failing


def test_the_healthy_stack_passes_every_check(stack: AwsClients) -> None:
    assert _failing(stack, datetime.now(UTC) - timedelta(minutes=5)) == {}


T = "<time>"
"""Where a failure message holds a time the test cannot know to the second."""


def _matches(template: str, message: str) -> bool:
    return re.fullmatch(re.escape(template).replace(re.escape(T), ISO), message) is not None


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            "state-machine-bad-reference",
            {
                "references": f"state machine {STATE_MACHINE}: references missing Lambda "
                f"function {LAMBDA}-missing (arn:aws:lambda:eu-west-1:123456789012:function:"
                f"{LAMBDA}-missing) in state ReadRunSummary {AT}"
            },
        ),
        (
            "lambda-errors",
            {
                "lambda errors": f"Lambda {LAMBDA}: 5 errors since the deploy at {T} "
                f"(5 of 6 invocations failed, first at {T}) {AT}"
            },
        ),
        (
            "alarm-firing",
            {
                "bake": f"alarm {ALARM}: went into ALARM at {T}, 5 min after the deploy "
                f"(bake window {T} to {T}): Threshold Crossed: injected by --emulator-fault "
                f"alarm-firing {AT}",
                "alarm operational": f"alarm {ALARM}: in ALARM since {T}: Threshold Crossed: "
                f"injected by --emulator-fault alarm-firing {AT}",
            },
        ),
        ("encryption-changed", {"encryption": f"bucket {BUCKET}: no default encryption {AT}"}),
    ],
)
def test_each_fault_fails_only_its_own_check(
    stack: AwsClients, fault: str, expected: dict[str, str]
) -> None:
    deployed = datetime.now(UTC) - timedelta(minutes=5)
    FAULTS[fault].inject(stack, STACK, getattr(STACK, FAULTS[fault].kind)[0])
    failing = _failing(stack, deployed)
    assert sorted(failing) == sorted(expected)
    for name, template in expected.items():
        assert _matches(template, failing[name]), failing[name]


def test_the_bad_reference_keeps_the_machine_as_it_was_but_for_the_name(stack: AwsClients) -> None:
    sfn = stack.client("stepfunctions")
    arn = state_machine_arn(STATE_MACHINE, WHERE)
    before = sfn.describe_state_machine(stateMachineArn=arn)
    FAULTS["state-machine-bad-reference"].inject(stack, STACK, STATE_MACHINE)
    after = sfn.describe_state_machine(stateMachineArn=arn)
    for key in ("status", "roleArn", "loggingConfiguration", "type"):
        assert after[key] == before[key]
    renamed = json.loads(after["definition"])
    assert renamed["States"]["ReadRunSummary"]["Parameters"]["FunctionName"] == f"{LAMBDA}-missing"
    renamed["States"]["ReadRunSummary"]["Parameters"]["FunctionName"] = LAMBDA
    assert renamed == json.loads(before["definition"])
