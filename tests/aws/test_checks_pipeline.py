"""The ETL pipeline check runs a real ETL state machine in moto and always cleans up.

moto executes the state machine for real (``execute_state_machine``), with Lambda in
stub mode; a forever-RUNNING execution comes from moto's default, non-executing mode.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import accounts
import pytest
from accounts import ONCALL_QUEUE
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.pipeline import (
    VERIFICATION_PREFIX,
    run_pipeline,
)
from pytest_ohpen.checks.stepfunctions import state_machine_arn

WHERE = Where("123456789012", "eu-west-1")
IN_ACCOUNT = "in account 123456789012 eu-west-1"
MACHINE = "ohpen-etl-orchestration"
BUCKET = "ohpen-bronze"
NAME = r"rollback-verification-\d{8}T\d{6}Z-[0-9a-f]{6}"

SetConfig = Callable[[bool], None]


def _moto_api(url: str, path: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture
def moto_config(fresh_moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SetConfig]:
    """Set whether moto executes state machines (Lambda always in stub mode), and point its
    task callbacks at this server; the server-wide config is restored after the test.

    moto picks its Step Functions backend per request from this flag: machines created
    under one setting are invisible under the other, so set it before creating them.
    GET /moto-api/config does not report the flag, so the saved value is read from moto's
    module (the server runs in this process).
    """
    from moto.core.config import default_user_config

    monkeypatch.setenv("MOTO_PORT", str(urllib.parse.urlsplit(fresh_moto).port))
    saved = {
        "stepfunctions": dict(default_user_config.get("stepfunctions", {})),
        "lambda": dict(default_user_config.get("lambda", {})),
    }

    def set_config(execute: bool) -> None:
        _moto_api(
            fresh_moto,
            "/moto-api/config",
            {"stepfunctions": {"execute_state_machine": execute}, "lambda": {"use_docker": False}},
        )

    set_config(True)
    yield set_config
    _moto_api(fresh_moto, "/moto-api/config", saved)


def _clients(url: str) -> AwsClients:
    return moto_clients(url)


def _deploy(url: str, glue_job: bool = True) -> AwsClients:
    """The ETL pipeline: versioned bronze bucket, Glue job (unless not), Lambda, failure topic
    with its on-call queue, and the state machine running them."""
    accounts.bucket(url, BUCKET)
    if glue_job:
        accounts.glue_job(url, "ohpen-transaction-etl-spark")
    accounts.lambda_function(url, "ohpen-read-run-summary")
    accounts.failure_topic(url)
    accounts.etl_pipeline(url, MACHINE)
    return _clients(url)


@pytest.fixture
def stack(fresh_moto: str, moto_config: SetConfig) -> AwsClients:
    """The deployed ETL pipeline, executed for real by moto."""
    return _deploy(fresh_moto)


def _run(clients: AwsClients, machine: str = MACHINE, bucket: str = BUCKET, **kw: Any) -> str:
    options: dict[str, Any] = {"timeout": 10.0, "poll": 0.05, **kw}
    return run_pipeline(
        clients.client("s3"), clients.client("stepfunctions"), machine, bucket, WHERE, **options
    )


def _leftovers(clients: AwsClients, bucket: str = BUCKET) -> list[str]:
    """Every version and delete marker under the verification prefix."""
    listed = clients.client("s3").list_object_versions(Bucket=bucket, Prefix=VERIFICATION_PREFIX)
    return [
        f"{v['Key']}@{v['VersionId']}"
        for v in (*listed.get("Versions", []), *listed.get("DeleteMarkers", []))
    ]


def _create_machine(clients: AwsClients, name: str, states: dict[str, Any], start: str) -> None:
    clients.client("stepfunctions").create_state_machine(
        name=name,
        definition=json.dumps({"StartAt": start, "States": states}),
        roleArn=f"arn:aws:iam::{WHERE.account_id}:role/{MACHINE}-role",
    )


FAILING = {
    "Prepare": {"Type": "Pass", "Next": "Boom"},
    "Boom": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "injected"},
}


class FakeTime:
    """A clock that only moves when the check sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ---------------------------------------------------------------- execution names


# ---------------------------------------------------------------- runs of the deployed pipeline


def test_healthy_pipeline_succeeds_and_leaves_nothing_behind(stack: AwsClients) -> None:
    arn = _run(stack)
    assert re.fullmatch(rf"arn:aws:states:eu-west-1:123456789012:execution:{MACHINE}:{NAME}", arn)
    described = stack.client("stepfunctions").describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    sent = json.loads(described["input"])
    assert sent["run_key"] == arn.rsplit(":", 1)[-1]
    assert sent["s3_bucket"] == BUCKET
    assert sent["s3_key"] == f"{VERIFICATION_PREFIX}{sent['run_key']}.csv"
    assert _leftovers(stack) == []


def test_glue_run_gets_the_verification_input(stack: AwsClients) -> None:
    arn = _run(stack)
    runs = stack.client("glue").get_job_runs(JobName="ohpen-transaction-etl-spark")["JobRuns"]
    assert [r["Arguments"]["--run_key"] for r in runs] == [arn.rsplit(":", 1)[-1]]
    assert runs[0]["Arguments"]["--s3_key"].startswith(VERIFICATION_PREFIX)


def test_two_verifications_in_a_row_both_run(stack: AwsClients) -> None:
    assert _run(stack) != _run(stack)
    assert _leftovers(stack) == []


def test_failing_pipeline_names_execution_state_error_and_cause(stack: AwsClients) -> None:
    _create_machine(stack, "ohpen-etl-broken", FAILING, "Prepare")
    with pytest.raises(CheckFailed) as failure:
        _run(stack, machine="ohpen-etl-broken")
    message = str(failure.value)
    assert re.fullmatch(
        rf"state machine ohpen-etl-broken: execution {NAME} FAILED at state Boom: "
        rf"error PipelineFailed: cause injected {IN_ACCOUNT}",
        message,
    ), message
    assert _leftovers(stack) == []


def test_a_long_multiline_cause_is_cut_to_one_line(stack: AwsClients) -> None:
    states = {"Boom": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "line\n" * 100}}
    _create_machine(stack, "ohpen-etl-verbose", states, "Boom")
    with pytest.raises(CheckFailed) as failure:
        _run(stack, machine="ohpen-etl-verbose")
    message = str(failure.value)
    assert "\n" not in message
    assert re.fullmatch(
        rf".* FAILED at state Boom: error PipelineFailed: cause (line ){{39}}line… "
        rf"{IN_ACCOUNT}",
        message,
    ), message


def test_broken_deployment_fails_through_the_catch_and_notifies_the_topic(
    fresh_moto: str, moto_config: SetConfig
) -> None:
    # The Glue job is missing: the task fails, the Catch publishes to the failure topic, and
    # the message names the caught task's error, not just the Fail state's.
    clients = _deploy(fresh_moto, glue_job=False)
    with pytest.raises(CheckFailed) as failure:
        _run(clients)
    assert re.fullmatch(
        rf"state machine {MACHINE}: execution {NAME} FAILED at state Failed: "
        rf"error PipelineFailed: cause see the failure topic: after task RunTransactionEtl "
        rf"failed with Glue\.EntityNotFoundException: Job ohpen-transaction-etl-spark not "
        rf"found\. {IN_ACCOUNT}",
        str(failure.value),
    ), str(failure.value)
    sqs = clients.client("sqs")
    queue = sqs.get_queue_url(QueueName=ONCALL_QUEUE)["QueueUrl"]
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    assert len(received) == 1
    assert "Glue.EntityNotFoundException" in json.loads(received[0]["Body"])["Message"]
    assert _leftovers(clients) == []


def test_execution_still_running_at_the_timeout_is_stopped(
    fresh_moto: str, moto_config: SetConfig
) -> None:
    moto_config(False)  # executions stay RUNNING; the machine must be created after this
    clients = _deploy(fresh_moto)
    fake = FakeTime()
    with pytest.raises(CheckFailed) as failure:
        _run(clients, timeout=1.0, poll=0.4, clock=fake.clock, sleep=fake.sleep)
    assert re.fullmatch(
        rf"state machine {MACHINE}: execution {NAME} did not finish within 1 s \(stopped\) "
        rf"{IN_ACCOUNT}",
        str(failure.value),
    ), str(failure.value)
    assert fake.sleeps == pytest.approx([0.4, 0.4, 0.2])
    sfn = clients.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=state_machine_arn(MACHINE, WHERE))
    assert [e["status"] for e in executions["executions"]] == ["ABORTED"]
    assert _leftovers(clients) == []


def test_missing_state_machine_fails_in_one_line_and_removes_the_input(
    stack: AwsClients,
) -> None:
    with pytest.raises(CheckFailed) as failure:
        _run(stack, machine="ohpen-etl-missing")
    assert str(failure.value) == (
        f"state machine ohpen-etl-missing: not found (StateMachineDoesNotExist) {IN_ACCOUNT}"
    )
    assert _leftovers(stack) == []


def test_missing_bucket_fails_in_one_line(stack: AwsClients) -> None:
    with pytest.raises(CheckFailed) as failure:
        _run(stack, bucket="ohpen-silver")
    assert str(failure.value) == f"bucket ohpen-silver: not found (NoSuchBucket) {IN_ACCOUNT}"
    executions = stack.client("stepfunctions").list_executions(
        stateMachineArn=state_machine_arn(MACHINE, WHERE)
    )
    assert executions["executions"] == []


def test_unversioned_bucket_is_cleaned_up_too(stack: AwsClients) -> None:
    s3 = stack.client("s3")
    s3.create_bucket(
        Bucket="ohpen-plain", CreateBucketConfiguration={"LocationConstraint": WHERE.region}
    )
    _run(stack, bucket="ohpen-plain")
    assert s3.list_objects_v2(Bucket="ohpen-plain").get("KeyCount") == 0
    assert _leftovers(stack, "ohpen-plain") == []


def test_other_objects_under_the_prefix_are_left_alone(stack: AwsClients) -> None:
    s3 = stack.client("s3")
    s3.put_object(Bucket=BUCKET, Key=f"{VERIFICATION_PREFIX}keep.csv", Body=b"a\n")
    _run(stack)
    assert [entry.split("@")[0] for entry in _leftovers(stack)] == [
        f"{VERIFICATION_PREFIX}keep.csv"
    ]


def test_input_that_cannot_be_removed_after_a_pass_fails_the_check(stack: AwsClients) -> None:
    s3 = stack.client("s3")

    def refuse(**_: Any) -> None:
        raise _client_error("AccessDenied", "DeleteObject")

    s3.meta.events.register("before-call.s3.DeleteObject", refuse)
    try:
        with pytest.raises(CheckFailed) as failure:
            _run(stack)
    finally:
        s3.meta.events.unregister("before-call.s3.DeleteObject", refuse)
    assert re.fullmatch(
        rf"bucket {BUCKET}: verification input {VERIFICATION_PREFIX}{NAME}\.csv could not be "
        rf"removed: access denied \(AccessDenied\) {IN_ACCOUNT}",
        str(failure.value),
    ), str(failure.value)


def test_a_failure_is_reported_even_when_the_input_cannot_be_removed(stack: AwsClients) -> None:
    _create_machine(stack, "ohpen-etl-broken", FAILING, "Prepare")
    s3 = stack.client("s3")

    def refuse(**_: Any) -> None:
        raise _client_error("AccessDenied", "DeleteObject")

    s3.meta.events.register("before-call.s3.DeleteObject", refuse)
    try:
        with pytest.raises(CheckFailed, match=r"FAILED at state Boom: error PipelineFailed"):
            _run(stack, machine="ohpen-etl-broken")
    finally:
        s3.meta.events.unregister("before-call.s3.DeleteObject", refuse)


def _client_error(code: str, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


# ---------------------------------------------------------------- history reading, without moto


class PagedHistory:
    """A Step Functions client whose execution has ended and whose history comes newest
    first, one event per page (as AWS pages it; moto ignores ``reverseOrder``)."""

    def __init__(self, events: list[dict[str, Any]], status: str) -> None:
        self.events = sorted(events, key=lambda e: -int(e["id"]))
        self.status = status
        self.pages_read = 0

    def start_execution(self, **options: Any) -> dict[str, Any]:
        return {
            "executionArn": f"arn:aws:states:eu-west-1:123456789012:execution:m:{options['name']}"
        }

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"status": self.status}

    def get_execution_history(self, **options: Any) -> dict[str, Any]:
        assert options["reverseOrder"] is True
        at = int(options.get("nextToken", 0))
        self.pages_read += 1
        page: dict[str, Any] = {"events": self.events[at : at + 1]}
        if at + 1 < len(self.events):
            page["nextToken"] = str(at + 1)
        return page


def test_history_is_read_newest_first_only_until_the_state_is_found(stack: AwsClients) -> None:
    history = PagedHistory(
        [
            {"id": 1, "type": "ExecutionStarted"},
            {"id": 2, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Run"}},
            {"id": 3, "type": "TaskStateExited"},
            {"id": 4, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Read"}},
            {
                "id": 5,
                "type": "ExecutionTimedOut",
                "executionTimedOutEventDetails": {"error": "States.Timeout", "cause": "3600 s"},
            },
        ],
        status="TIMED_OUT",
    )
    with pytest.raises(CheckFailed) as failure:
        run_pipeline(stack.client("s3"), history, "m", BUCKET, WHERE, timeout=1.0)
    assert re.fullmatch(
        rf"state machine m: execution {NAME} TIMED_OUT at state Read: error States.Timeout: "
        rf"cause 3600 s {IN_ACCOUNT}",
        str(failure.value),
    ), str(failure.value)
    assert history.pages_read == 2
    assert _leftovers(stack) == []
