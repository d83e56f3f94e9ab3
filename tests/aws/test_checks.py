"""Each check passes on a healthy resource and fails with one precise line otherwise.

Existence and state come from a real moto server; states moto cannot reach
(DELETING, Pending, access denied, throttling) come from botocore's Stubber.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import accounts
import pytest
from botocore.stub import Stubber
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, CheckInconclusive, Where
from pytest_ohpen.checks.awslambda import (
    check_lambda_active,
    check_lambda_invocable,
)
from pytest_ohpen.checks.glue import check_glue_job_exists
from pytest_ohpen.checks.s3 import check_bucket_accessible
from pytest_ohpen.checks.stepfunctions import check_state_machine_active, state_machine_arn
from pytest_ohpen.config.environments import Resources

WHERE = Where("123456789012", "eu-west-1")
RESOURCES = Resources(
    buckets=("ohpen-bronze",),
    glue_jobs=("ohpen-transaction-etl-spark",),
    state_machines=("ohpen-etl-orchestration",),
    lambdas=("ohpen-read-run-summary",),
)


def _moto_config(url: str, lambda_stub: bool) -> None:
    body = json.dumps({"lambda": {"use_docker": not lambda_stub}}).encode()
    request = urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")
    urllib.request.urlopen(request, timeout=10).read()


def _clients(url: str) -> AwsClients:
    return moto_clients(url, resources=RESOURCES)


@pytest.fixture
def deployed(fresh_moto: str) -> AwsClients:
    """An account holding one resource of each kind, Lambda in stub mode (invocations succeed)."""
    _moto_config(fresh_moto, lambda_stub=True)
    accounts.bucket(fresh_moto, "ohpen-bronze")
    accounts.glue_job(fresh_moto, "ohpen-transaction-etl-spark")
    accounts.state_machine(
        fresh_moto,
        "ohpen-etl-orchestration",
        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}},
    )
    accounts.lambda_function(fresh_moto, "ohpen-read-run-summary")
    return _clients(fresh_moto)


@pytest.fixture
def empty(fresh_moto: str) -> AwsClients:
    """An account holding nothing."""
    return _clients(fresh_moto)


CHECKS: dict[str, Callable[[AwsClients, str], None]] = {
    "bucket": lambda c, n: check_bucket_accessible(c.client("s3"), n, WHERE),
    "glue job": lambda c, n: check_glue_job_exists(c.client("glue"), n, WHERE),
    "state machine": lambda c, n: check_state_machine_active(c.client("stepfunctions"), n, WHERE),
    "lambda": lambda c, n: check_lambda_active(c.client("lambda"), n, WHERE),
}
HEALTHY = {
    "bucket": "ohpen-bronze",
    "glue job": "ohpen-transaction-etl-spark",
    "state machine": "ohpen-etl-orchestration",
    "lambda": "ohpen-read-run-summary",
}
MISSING = {
    "bucket": "bucket ohpen-silver: not found (NoSuchBucket) in account 123456789012 eu-west-1",
    "glue job": "Glue job ohpen-silver: not found (EntityNotFoundException) in account "
    "123456789012 eu-west-1",
    "state machine": "state machine ohpen-silver: not found (StateMachineDoesNotExist) in account "
    "123456789012 eu-west-1",
    "lambda": "Lambda ohpen-silver: not found (ResourceNotFoundException) in account "
    "123456789012 eu-west-1",
}


@pytest.mark.parametrize("kind", list(CHECKS))
def test_check_passes_on_a_healthy_resource(kind: str, deployed: AwsClients) -> None:
    CHECKS[kind](deployed, HEALTHY[kind])


@pytest.mark.parametrize("kind", list(CHECKS))
def test_check_names_the_missing_resource(kind: str, empty: AwsClients) -> None:
    with pytest.raises(CheckFailed) as failure:
        CHECKS[kind](empty, "ohpen-silver")
    assert str(failure.value) == MISSING[kind]


def test_lambda_invocation_passes_when_the_function_runs(deployed: AwsClients) -> None:
    check_lambda_invocable(deployed.invoker(), "ohpen-read-run-summary", WHERE)


def test_lambda_invocation_fails_with_the_function_error(fresh_moto: str) -> None:
    # Without docker and outside stub mode, moto answers every invoke with a function error.
    # A name of its own: after a docker-mode invoke, moto (in-process, shared by every test of
    # this worker) cannot create a function of that name again even after a reset.
    name = "ohpen-invoked-without-docker"
    _moto_config(fresh_moto, lambda_stub=False)
    clients = _clients(fresh_moto)
    accounts.lambda_function(fresh_moto, name)
    with pytest.raises(
        CheckFailed,
        match=rf"^Lambda {name}: invocation failed \(Handled\): .*docker.* in account 123456789012",
    ):
        check_lambda_invocable(clients.invoker(), name, WHERE)


def _stubbed(client: Any, method: str, **answer: Any) -> Stubber:
    stubber = Stubber(client)
    if "error" in answer:
        stubber.add_client_error(
            method, service_error_code=answer["error"], http_status_code=answer.get("status", 400)
        )
    else:
        stubber.add_response(method, answer["response"])
    stubber.activate()
    return stubber


def test_state_machine_that_is_not_active_fails(empty: AwsClients) -> None:
    sfn = empty.client("stepfunctions")
    arn = state_machine_arn("ohpen-etl-orchestration", WHERE)
    _stubbed(
        sfn,
        "describe_state_machine",
        response={
            "stateMachineArn": arn,
            "name": "ohpen-etl-orchestration",
            "status": "DELETING",
            "definition": "{}",
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "type": "STANDARD",
            "creationDate": "2026-01-01T00:00:00Z",
        },
    )
    with pytest.raises(
        CheckFailed,
        match=r"^state machine ohpen-etl-orchestration: status "
        r"DELETING, expected ACTIVE in account 123456789012",
    ):
        check_state_machine_active(sfn, "ohpen-etl-orchestration", WHERE)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"State": "Failed", "StateReason": "The role cannot be assumed"},
            "state Failed, expected Active (The role cannot be assumed)",
        ),
        (
            {"State": "Pending", "StateReasonCode": "Creating"},
            "state Pending, expected Active (Creating)",
        ),
        (
            {"State": "Active", "LastUpdateStatus": "Failed", "LastUpdateStatusReason": "bad zip"},
            "last update failed (bad zip)",
        ),
    ],
)
def test_lambda_that_is_not_active_fails(
    empty: AwsClients, config: dict[str, str], message: str
) -> None:
    client = empty.client("lambda")
    _stubbed(client, "get_function_configuration", response={"FunctionName": "f", **config})
    with pytest.raises(CheckFailed, match=rf"^Lambda f: {re.escape(message)}"):
        check_lambda_active(client, "f", WHERE)


def test_bucket_errors_say_what_was_found(empty: AwsClients) -> None:
    s3 = empty.client("s3")
    _stubbed(s3, "head_bucket", error="403", status=403)
    with pytest.raises(CheckFailed) as failure:
        check_bucket_accessible(s3, "ohpen-bronze", WHERE)
    assert str(failure.value).startswith("bucket ohpen-bronze: access denied (403)")


@pytest.mark.parametrize(
    ("code", "status", "wording"),
    [
        ("SlowDown", 503, "throttled (SlowDown), still after retries"),
        ("InternalError", 500, "HTTP 500 (InternalError), still after retries"),
    ],
)
def test_bucket_errors_that_say_nothing_about_it_are_inconclusive(
    empty: AwsClients, code: str, status: int, wording: str
) -> None:
    s3 = empty.client("s3")
    _stubbed(s3, "head_bucket", error=code, status=status)
    with pytest.raises(CheckInconclusive) as unchecked:
        check_bucket_accessible(s3, "ohpen-bronze", WHERE)
    assert str(unchecked.value).startswith(f"bucket ohpen-bronze: could not be checked: {wording}")


def test_bucket_that_exists_but_cannot_be_listed_fails(empty: AwsClients) -> None:
    s3 = empty.client("s3")
    stubber = Stubber(s3)
    stubber.add_response("head_bucket", {})
    stubber.add_client_error(
        "list_objects_v2",
        service_error_code="AccessDenied",
        service_message="Access Denied",
        http_status_code=403,
    )
    stubber.activate()
    with pytest.raises(CheckFailed, match=r"^bucket ohpen-bronze: access denied \(AccessDenied\)"):
        check_bucket_accessible(s3, "ohpen-bronze", WHERE)


def test_unreachable_endpoint_is_inconclusive_not_the_run(unused_port: int) -> None:
    clients = _clients(f"http://127.0.0.1:{unused_port}")
    with pytest.raises(
        CheckInconclusive, match=r"^Glue job j: could not be checked: EndpointConnectionError"
    ):
        check_glue_job_exists(clients.client("glue"), "j", WHERE)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_endpoint_ends_as_a_client_error_within_the_timeout(hung_endpoint: str) -> None:
    """The derived socket timeouts end every call and its retry before the attempt's bound."""
    started = time.monotonic()
    with pytest.raises(CheckInconclusive, match=r"^bucket b-1: could not be checked: ReadTimeout"):
        check_bucket_accessible(moto_clients(hung_endpoint, timeout=4).client("s3"), "b-1", WHERE)
    assert time.monotonic() - started < 4
