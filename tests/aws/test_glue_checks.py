"""The Glue job's executability, its table's schema and its run durations, against moto's
server in this process; and the four Glue faults, each failing its own check only."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import accounts
import boto3
import pytest
from botocore.stub import Stubber
from conftest import moto_clients

from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.catalog import check_table_schema_compatible
from pytest_ohpen.checks.durations import (
    NotEnoughHistory,
    check_glue_job_duration,
    check_state_machine_duration,
)
from pytest_ohpen.checks.glue import check_glue_job_executable, trusts_service
from pytest_ohpen.checks.s3 import check_bucket_accessible
from pytest_ohpen.checks.stepfunctions import state_machine_arn
from pytest_ohpen.emulator import glue_runs
from pytest_ohpen.emulator.faults_glue import FAULTS
from pytest_ohpen.emulator.stack import Stack

WHERE = Where(accounts.ACCOUNT, accounts.REGION)
JOB = accounts.GLUE_JOB
ARTIFACTS = "ohpen-artifacts"
SCRIPT = f"s3://{ARTIFACTS}/glue/{JOB}.py"
TABLE = "silver.transactions"
MACHINE = accounts.STATE_MACHINE
COLUMNS = [
    {"Name": "transaction_id", "Type": "string"},
    {"Name": "amount", "Type": "decimal(18,2)"},
    {"Name": "booked_at", "Type": "timestamp"},
]


def _glue(url: str) -> Any:
    return accounts.client(url, "glue")


def _table_input(columns: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Name": "transactions",
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": "booking_date", "Type": "string"}],
        "StorageDescriptor": {"Location": "s3://ohpen-silver/transactions/", "Columns": columns},
    }


@pytest.fixture
def healthy(fresh_moto: str) -> str:
    """The job (role trusting Glue, script in the artifacts bucket), its table, and five
    steady completed runs."""
    accounts.bucket(fresh_moto, ARTIFACTS)
    accounts.client(fresh_moto, "s3").put_object(
        Bucket=ARTIFACTS, Key=f"glue/{JOB}.py", Body=b"print('etl')\n"
    )
    accounts.glue_job(fresh_moto, JOB)
    glue = _glue(fresh_moto)
    glue.create_database(DatabaseInput={"Name": "silver"})
    glue.create_table(DatabaseName="silver", TableInput=_table_input(COLUMNS))
    glue_runs.seed_history(accounts.ACCOUNT, accounts.REGION, [JOB, "not-in-this-account"])
    return fresh_moto


def _executable(url: str) -> None:
    iam, s3 = accounts.client(url, "iam"), accounts.client(url, "s3")
    check_glue_job_executable(_glue(url), iam, s3, JOB, WHERE)


def _schema(url: str) -> None:
    check_table_schema_compatible(_glue(url), TABLE, WHERE)


def _duration(url: str) -> None:
    check_glue_job_duration(_glue(url), JOB, 3.0, WHERE)


def _artifacts(url: str) -> None:
    check_bucket_accessible(accounts.client(url, "s3"), ARTIFACTS, WHERE)


CHECKS: dict[str, Callable[[str], None]] = {
    "executable": _executable,
    "schema": _schema,
    "duration": _duration,
    "artifacts bucket": _artifacts,
}


def _failures(url: str) -> dict[str, str]:
    failed = {}
    for name, check in CHECKS.items():
        try:
            check(url)
        except CheckFailed as failure:
            failed[name] = str(failure)
    return failed


def test_a_healthy_job_passes_every_check(healthy: str) -> None:
    assert _failures(healthy) == {}


# ---------------------------------------------------------------- executable


def test_a_job_that_does_not_exist(fresh_moto: str) -> None:
    with pytest.raises(CheckFailed, match=f"^Glue job {JOB}: not found"):
        _executable(fresh_moto)


def test_the_role_gone(healthy: str) -> None:
    accounts.client(healthy, "iam").delete_role(RoleName=f"{JOB}-role")
    with pytest.raises(CheckFailed) as failed:
        _executable(healthy)
    assert str(failed.value) == (
        f"Glue job {JOB}: role {JOB}-role not found (NoSuchEntity) {WHERE}"
    )


def test_a_role_that_trusts_lambda_only(healthy: str) -> None:
    FAULTS["glue-role-untrusted"].inject(moto_clients(healthy), Stack((), (JOB,), (), ()), JOB)
    with pytest.raises(CheckFailed) as failed:
        _executable(healthy)
    assert str(failed.value) == (
        f"Glue job {JOB}: role {JOB}-role does not let glue.amazonaws.com assume it "
        f"(it trusts lambda.amazonaws.com) {WHERE}"
    )


def test_the_script_deleted(healthy: str) -> None:
    accounts.client(healthy, "s3").delete_object(Bucket=ARTIFACTS, Key=f"glue/{JOB}.py")
    with pytest.raises(CheckFailed) as failed:
        _executable(healthy)
    assert str(failed.value) == f"Glue job {JOB}: script {SCRIPT} not found (NoSuchKey) {WHERE}"


@pytest.mark.parametrize(
    ("statement", "trusted"),
    [
        ({"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}}, True),
        ({"Effect": "Allow", "Principal": {"Service": ["x", "glue.amazonaws.com"]}}, True),
        ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}, False),
        ({"Effect": "Deny", "Principal": {"Service": "glue.amazonaws.com"}}, False),
        ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}}, False),
    ],
)
def test_trusts_service(statement: dict[str, Any], trusted: bool) -> None:
    document = {"Statement": [{**statement, "Action": "sts:AssumeRole"}]}
    assert trusts_service(document, "glue.amazonaws.com") is trusted


def test_trust_needs_assume_role_and_no_deny() -> None:
    glue = {"Principal": {"Service": "glue.amazonaws.com"}}
    allow_tag = {"Effect": "Allow", "Action": "sts:TagSession", **glue}
    assert not trusts_service({"Statement": [allow_tag]}, "glue.amazonaws.com")
    allow_any = {"Effect": "Allow", "Action": ["*"], **glue}
    assert trusts_service({"Statement": allow_any}, "glue.amazonaws.com")
    deny = {"Effect": "Deny", "Action": "sts:*", **glue}
    assert not trusts_service({"Statement": [allow_any, deny]}, "glue.amazonaws.com")


# ---------------------------------------------------------------- catalog schema


def test_a_table_with_one_version_passes(healthy: str) -> None:
    _schema(healthy)


def test_a_version_dropping_a_column_fails(healthy: str) -> None:
    _glue(healthy).update_table(
        DatabaseName="silver", TableInput=_table_input([COLUMNS[0], COLUMNS[2]])
    )
    with pytest.raises(CheckFailed) as failed:
        _schema(healthy)
    assert str(failed.value) == (
        f"table {TABLE}: version 2 drops column amount (was in version 1) {WHERE}"
    )


def test_a_version_changing_a_type_fails(healthy: str) -> None:
    glue = _glue(healthy)
    glue.update_table(DatabaseName="silver", TableInput=_table_input([*COLUMNS]))
    changed = [COLUMNS[0], {"Name": "amount", "Type": "string"}, COLUMNS[2]]
    glue.update_table(DatabaseName="silver", TableInput=_table_input(changed))
    with pytest.raises(CheckFailed) as failed:
        _schema(healthy)
    assert str(failed.value) == (
        f"table {TABLE}: version 3 changes column amount type decimal(18,2) -> string "
        f"(was in version 2) {WHERE}"
    )


def test_a_version_adding_a_column_passes(healthy: str) -> None:
    added = [*COLUMNS, {"Name": "currency", "Type": "string"}]
    _glue(healthy).update_table(DatabaseName="silver", TableInput=_table_input(added))
    _schema(healthy)


@pytest.mark.parametrize("table", ["silver.missing", "gold.transactions"])
def test_a_missing_table_or_database(healthy: str, table: str) -> None:
    with pytest.raises(CheckFailed, match=f"^table {table}: not found \\(EntityNotFound"):
        check_table_schema_compatible(_glue(healthy), table, WHERE)


# ---------------------------------------------------------------- durations


def test_a_run_ten_times_the_median_fails(healthy: str) -> None:
    (slow,) = glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, JOB, [712.0])
    with pytest.raises(CheckFailed) as failed:
        _duration(healthy)
    assert str(failed.value) == (
        f"Glue job {JOB}: newest run {slow} took 712 s, 11.1x the median 64 s of the 5 runs "
        f"before it (factor 3) {WHERE}"
    )


def test_a_slow_run_followed_by_a_normal_one_passes(healthy: str) -> None:
    half_a_day_ago = datetime.now(UTC) - timedelta(hours=12)
    glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, JOB, [712.0], end=half_a_day_ago)
    glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, JOB, [65.0])
    _duration(healthy)


def test_a_job_with_too_few_runs(fresh_moto: str) -> None:
    accounts.glue_job(fresh_moto, JOB)
    glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, JOB, [60.0, 61.0])
    with pytest.raises(NotEnoughHistory, match=f"^Glue job {JOB}: 2 completed run"):
        _duration(fresh_moto)


def test_seeded_runs_must_be_the_newest(healthy: str) -> None:
    """Runs ending before the seeded history's newest would not be judged: refused."""
    a_week_ago = datetime.now(UTC) - timedelta(days=7)
    with pytest.raises(ValueError, match="would start before its newest run"):
        glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, JOB, [1.0], end=a_week_ago)


def test_seeding_a_job_that_does_not_exist(fresh_moto: str) -> None:
    with pytest.raises(LookupError, match="Glue job nope: not found"):
        glue_runs.seed_runs(accounts.ACCOUNT, accounts.REGION, "nope", [1.0])


@pytest.fixture
def timed_runs(fresh_moto: str) -> Iterator[str]:
    """moto's Glue runs advancing one state a second; immediate again after."""

    def post(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{fresh_moto}{path}", data=json.dumps(body).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).read()

    glue_runs.install()
    transition = {"progression": "time", "seconds": 1}
    post(
        "/moto-api/state-manager/set-transition",
        {"model_name": "glue::job_run", "transition": transition},
    )
    try:
        yield fresh_moto
    finally:
        post("/moto-api/state-manager/unset-transition", {"model_name": "glue::job_run"})


def test_a_real_run_reports_how_long_it_took(timed_runs: str) -> None:
    """Installed, a run's CompletedOn is when it finished and ExecutionTime the seconds
    it took (moto's own: CompletedOn == StartedOn, ExecutionTime 123)."""
    accounts.glue_job(timed_runs, JOB)
    glue = _glue(timed_runs)
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    running = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
    assert running["JobRunState"] in {"STARTING", "RUNNING"}
    assert "CompletedOn" not in running and running["ExecutionTime"] == 0
    deadline = time.monotonic() + 10
    while running["JobRunState"] != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.2)
        running = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
    assert running["JobRunState"] == "SUCCEEDED"
    took = (running["CompletedOn"] - running["StartedOn"]).total_seconds()
    assert 2 <= took < 5
    assert running["ExecutionTime"] == int(took)
    again = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
    assert again["CompletedOn"] == running["CompletedOn"]  # fixed once finished


def _executions(seconds: list[float]) -> list[dict[str, Any]]:
    """ListExecutions entries, one a day, newest first (as Step Functions lists them)."""
    day = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    machine = state_machine_arn(MACHINE, WHERE)
    made = []
    for n, took in enumerate(seconds):
        start = day + timedelta(days=n)
        made.append(
            {
                "executionArn": f"{machine.replace(':stateMachine:', ':execution:')}:run-{n}",
                "stateMachineArn": machine,
                "name": f"run-{n}",
                "status": "SUCCEEDED",
                "startDate": start,
                "stopDate": start + timedelta(seconds=took),
            }
        )
    return list(reversed(made))


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        ([60.0, 62.0, 58.0, 61.0], None),
        (
            [60.0, 62.0, 58.0, 610.0],
            f"state machine {MACHINE}: newest execution run-3 took 610 s, 10.2x the median "
            f"60 s of the 3 runs before it (factor 3) {WHERE}",
        ),
    ],
)
def test_a_state_machine_execution_regression(seconds: list[float], message: str | None) -> None:
    """The newest SUCCEEDED execution (by startDate, whatever the listing order) against
    the median of those before it."""
    sfn = boto3.client("stepfunctions", region_name=accounts.REGION)
    with Stubber(sfn) as stub:
        stub.add_response(
            "list_executions",
            {"executions": _executions(seconds)},
            {"stateMachineArn": state_machine_arn(MACHINE, WHERE), "statusFilter": "SUCCEEDED"},
        )
        if message is None:
            check_state_machine_duration(sfn, MACHINE, 3.0, WHERE)
        else:
            with pytest.raises(CheckFailed) as failed:
                check_state_machine_duration(sfn, MACHINE, 3.0, WHERE)
            assert str(failed.value) == message


def test_a_state_machine_that_never_ran(fresh_moto: str) -> None:
    """moto's own executions never finish by default: no history, which is no verdict."""
    accounts.state_machine(
        fresh_moto, MACHINE, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    )
    sfn = accounts.client(fresh_moto, "stepfunctions")
    with pytest.raises(NotEnoughHistory, match=f"^state machine {MACHINE}: 0 completed"):
        check_state_machine_duration(sfn, MACHINE, 3.0, WHERE)


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fault", "resource", "check", "message"),
    [
        ("glue-script-missing", JOB, "executable", f"script {SCRIPT} not found"),
        ("glue-role-untrusted", JOB, "executable", "does not let glue.amazonaws.com assume"),
        ("schema-breaking-change", TABLE, "schema", "version 2 drops column amount"),
        ("glue-duration-regression", JOB, "duration", "10.0x the median 64 s of the 5 runs"),
    ],
)
def test_each_fault_fails_its_own_check_only(
    healthy: str, fault: str, resource: str, check: str, message: str
) -> None:
    stack = Stack((ARTIFACTS,), (JOB,), (), (), tables=(TABLE,))
    FAULTS[fault].inject(moto_clients(healthy), stack, resource)
    failed = _failures(healthy)
    assert list(failed) == [check], failed
    assert message in failed[check]


def test_the_fault_kinds_are_stack_attributes() -> None:
    stack = Stack((), (), (), ())
    for fault in FAULTS.values():
        assert isinstance(getattr(stack, fault.kind), tuple)
