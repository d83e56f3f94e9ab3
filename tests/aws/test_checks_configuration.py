"""After a rollback, the stack's key attributes must equal the target state version's.

The differences helpers and state lookup are pure; choosing the target and comparing
the live stack run against a real moto server provisioned as the embedded account.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from accounts import stack_state

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.configuration import (
    TargetError,
    TargetState,
    check_glue_job_matches,
    check_lambda_matches,
    check_state_machine_matches,
    definition_hash,
    glue_differences,
    lambda_differences,
    recorded_attributes,
    resolve_target,
    state_machine_differences,
)
from pytest_ohpen.checks.stepfunctions import state_machine_arn
from pytest_ohpen.config.environments import Environment, Resources
from pytest_ohpen.emulator.provision import provision
from pytest_ohpen.emulator.stack import Stack
from pytest_ohpen.terraform.state_versions import list_versions

WHERE = Where("123456789012", "eu-west-1")
JOB = "ohpen-transaction-etl-spark"
FUNCTION = "ohpen-read-run-summary"
MACHINE = "ohpen-etl-orchestration"
RESOURCES = Resources(
    buckets=("ohpen-bronze", "ohpen-artifacts"),
    glue_jobs=(JOB,),
    state_machines=(MACHINE,),
    lambdas=(FUNCTION,),
)
STACK = Stack(RESOURCES.buckets, RESOURCES.glue_jobs, RESOURCES.state_machines, RESOURCES.lambdas)
TARGET = TargetState(
    version_id="v2",
    serial=2,
    resources=stack_state(2, WHERE.region, WHERE.account_id, STACK)["resources"],
    source="previous version",
)


def _glue_recorded() -> dict[str, Any]:
    recorded = recorded_attributes(TARGET, "aws_glue_job", "name", JOB)
    assert recorded is not None
    return recorded


def _lambda_recorded() -> dict[str, Any]:
    recorded = recorded_attributes(TARGET, "aws_lambda_function", "function_name", FUNCTION)
    assert recorded is not None
    return recorded


def _machine_recorded() -> dict[str, Any]:
    recorded = recorded_attributes(TARGET, "aws_sfn_state_machine", "name", MACHINE)
    assert recorded is not None
    return recorded


LIVE_JOB = {
    "Name": JOB,
    "WorkerType": "G.1X",
    "NumberOfWorkers": 2,
    "Timeout": 60,
    "Command": {"Name": "glueetl", "ScriptLocation": f"s3://ohpen-artifacts/glue/{JOB}/main.py"},
}
LIVE_FUNCTION = {
    "FunctionName": FUNCTION,
    "Runtime": "python3.12",
    "Handler": "handler.handler",
    "MemorySize": 256,
    "Timeout": 30,
}


# --- recorded_attributes ------------------------------------------------------------


def test_recorded_attributes_finds_each_kind_by_its_name_attribute() -> None:
    assert _glue_recorded()["number_of_workers"] == 2
    assert _lambda_recorded()["memory_size"] == 256
    assert _machine_recorded()["role_arn"].endswith(f":role/{MACHINE}-role")


def test_recorded_attributes_none_for_another_name_type_or_a_data_source() -> None:
    assert recorded_attributes(TARGET, "aws_glue_job", "name", "ohpen-other-job") is None
    assert recorded_attributes(TARGET, "aws_lambda_function", "name", FUNCTION) is None
    data = [{**TARGET.resources[2], "mode": "data"}]
    assert TARGET.resources[2]["type"] == "aws_glue_job"
    state = TargetState("v", 1, data, "latest version")
    assert recorded_attributes(state, "aws_glue_job", "name", JOB) is None


def test_recorded_attributes_searches_every_instance_and_skips_junk() -> None:
    job = TARGET.resources[2]
    other = {"attributes": {**job["instances"][0]["attributes"], "name": "ohpen-second"}}
    resources: list[Any] = ["junk", {"mode": "managed", "type": "aws_glue_job"}]
    resources.append({**job, "instances": [None, job["instances"][0], other]})
    state = TargetState("v", 1, resources, "latest version")
    found = recorded_attributes(state, "aws_glue_job", "name", "ohpen-second")
    assert found is not None
    assert found["name"] == "ohpen-second"


# --- the differences helpers --------------------------------------------------------


def test_glue_differences_none_when_equal_and_int_equals_float() -> None:
    assert glue_differences(LIVE_JOB, _glue_recorded()) == []
    assert glue_differences({**LIVE_JOB, "Timeout": 60.0}, _glue_recorded()) == []


def test_glue_differences_names_each_attribute_live_then_target() -> None:
    live = {
        **LIVE_JOB,
        "WorkerType": "G.2X",
        "NumberOfWorkers": 5,
        "Command": {"ScriptLocation": "s3://ohpen-artifacts/glue/new.py"},
    }
    assert glue_differences(live, _glue_recorded()) == [
        "worker_type: live G.2X, target G.1X",
        "number_of_workers: live 5, target 2",
        f"command.script_location: live s3://ohpen-artifacts/glue/new.py, "
        f"target s3://ohpen-artifacts/glue/{JOB}/main.py",
    ]


def test_glue_differences_unset_live_value_and_unrecorded_target_value() -> None:
    live = {k: v for k, v in LIVE_JOB.items() if k != "Timeout"}
    assert glue_differences(live, _glue_recorded()) == ["timeout: live (not set), target 60"]
    recorded = {**_glue_recorded(), "worker_type": None, "command": []}
    assert glue_differences({**LIVE_JOB, "WorkerType": "G.2X"}, recorded) == []


def test_lambda_differences() -> None:
    assert lambda_differences(LIVE_FUNCTION, _lambda_recorded()) == []
    live = {**LIVE_FUNCTION, "Runtime": "python3.11", "Handler": "app.main", "Timeout": 900}
    assert lambda_differences({**live, "MemorySize": 512}, _lambda_recorded()) == [
        "runtime: live python3.11, target python3.12",
        "handler: live app.main, target handler.handler",
        "memory_size: live 512, target 256",
        "timeout: live 900, target 30",
    ]


def test_definition_hash_ignores_formatting_and_key_order() -> None:
    compact = json.dumps(json.loads(_machine_recorded()["definition"]), separators=(",", ":"))
    assert definition_hash(compact) == definition_hash(_machine_recorded()["definition"])
    assert definition_hash('{"b": 1, "a": 2}') == definition_hash('{"a":2,"b":1}')
    assert definition_hash('{"a": 1}') != definition_hash('{"a": 2}')
    assert re.fullmatch(r"[0-9a-f]{64}", definition_hash("not json"))


def test_state_machine_differences() -> None:
    recorded = _machine_recorded()
    live = {"definition": recorded["definition"], "roleArn": recorded["role_arn"]}
    assert state_machine_differences(live, recorded) == []
    changed = {"definition": '{"StartAt": "X"}', "roleArn": "arn:aws:iam::1:role/other"}
    live_hash = definition_hash(changed["definition"])[:12]
    target_hash = definition_hash(recorded["definition"])[:12]
    assert state_machine_differences(changed, recorded) == [
        f"definition: live sha256 {live_hash}, target sha256 {target_hash}",
        f"role_arn: live arn:aws:iam::1:role/other, target {recorded['role_arn']}",
    ]


def test_a_multi_line_value_is_shown_on_one_line() -> None:
    differences = lambda_differences({**LIVE_FUNCTION, "Handler": "a\nb"}, _lambda_recorded())
    assert differences == ["handler: live a b, target handler.handler"]


# --- against the embedded account ---------------------------------------------------


@pytest.fixture
def stack(fresh_moto: str) -> AwsClients:
    """The embedded stack, with the three state versions its real applies wrote (serials 0, 1,
    2: Terraform's first state is serial 0)."""
    env = Environment(
        name="t",
        source=Path("x"),
        account_id=WHERE.account_id,
        region=WHERE.region,
        endpoint_url=fresh_moto,
        resources=RESOURCES,
        timeout=10,
    )
    clients = AwsClients(env)
    provision(clients, Stack.for_environment(env))
    return clients


def _state_location(clients: AwsClients) -> tuple[Any, str, str]:
    stack = Stack.for_environment(clients.env)
    assert stack.state_bucket
    return clients.client("s3"), stack.state_bucket, stack.state_key


def _version_ids(clients: AwsClients) -> list[str]:
    """The state's version ids, newest first."""
    return [v.version_id for v in list_versions(*_state_location(clients))]


def _resolve(clients: AwsClients, choice: str | None, known: list[str]) -> TargetState | None:
    return resolve_target(*_state_location(clients), choice, known)


def _target(clients: AwsClients, choice: str = "previous") -> TargetState:
    target = _resolve(clients, choice, [])
    assert target is not None
    return target


def test_resolve_previous_and_latest(stack: AwsClients) -> None:
    newest, previous, _oldest = _version_ids(stack)
    target = _target(stack, "previous")
    assert (target.version_id, target.serial, target.source) == (previous, 1, "previous version")
    types = {r["type"] for r in target.resources}  # the whole stack, as the apply wrote it
    assert {"aws_s3_bucket", "aws_glue_job", "aws_lambda_function"} <= types
    assert "aws_sfn_state_machine" in types
    latest = _target(stack, "latest")
    assert (latest.version_id, latest.serial, latest.source) == (newest, 2, "latest version")


def test_resolve_an_explicit_id(stack: AwsClients) -> None:
    oldest = _version_ids(stack)[-1]
    target = _target(stack, oldest)
    assert (target.version_id, target.serial, target.source) == (
        oldest,
        0,
        "--target-state-version",
    )


def test_resolve_the_newest_known_good_id_still_stored(stack: AwsClients) -> None:
    _, previous, oldest = _version_ids(stack)
    target = _resolve(stack, None, ["gone-version-id", previous, oldest])
    assert target is not None
    assert (target.version_id, target.serial, target.source) == (previous, 1, "known-good mark")


def test_resolve_without_a_known_good_id_is_none(stack: AwsClients) -> None:
    assert _resolve(stack, None, []) is None
    assert _resolve(stack, None, ["gone-version-id"]) is None


def test_resolve_an_unknown_id_is_a_one_line_target_error(stack: AwsClients) -> None:
    with pytest.raises(TargetError) as raised:
        _resolve(stack, "no-such-version", [])
    message = str(raised.value)
    assert message == (
        "--target-state-version no-such-version: no such version of "
        "s3://ohpen-terraform-state/ohpen-data-lake/terraform.tfstate; "
        "list them with `ohpen state versions --env NAME`"
    )
    assert isinstance(raised.value, ValueError)


def test_resolve_previous_with_one_version_and_latest_under_a_delete_marker(
    stack: AwsClients,
) -> None:
    s3, bucket, key = _state_location(stack)
    for version_id in _version_ids(stack)[1:]:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    with pytest.raises(TargetError, match=r"^--target-state-version previous: .* no earlier"):
        _resolve(stack, "previous", [])
    s3.delete_object(Bucket=bucket, Key=key)  # a delete marker on top
    with pytest.raises(TargetError, match=r"^--target-state-version latest: .* no current"):
        _resolve(stack, "latest", [])
    assert _target(stack, "previous").serial == 2


def test_a_version_that_is_not_a_state_is_a_target_error(stack: AwsClients) -> None:
    s3, bucket, key = _state_location(stack)
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    with pytest.raises(TargetError, match=r"\(latest version\) is not a usable Terraform state"):
        _resolve(stack, "latest", [])


def test_every_check_passes_on_the_fresh_stack(stack: AwsClients) -> None:
    for choice in ("previous", "latest"):
        target = _target(stack, choice)
        check_glue_job_matches(stack.client("glue"), JOB, target, WHERE)
        check_lambda_matches(stack.client("lambda"), FUNCTION, target, WHERE)
        check_state_machine_matches(stack.client("stepfunctions"), MACHINE, target, WHERE)


def test_a_drifted_glue_job_fails_naming_the_target(stack: AwsClients) -> None:
    glue = stack.client("glue")
    job = glue.get_job(JobName=JOB)["Job"]
    # moto has no UpdateJob: recreate the job as a hand-edit would leave it
    glue.delete_job(JobName=JOB)
    keep = ("Role", "Command", "GlueVersion", "WorkerType", "Timeout")
    glue.create_job(Name=JOB, NumberOfWorkers=5, **{k: job[k] for k in keep})
    target = _target(stack)
    with pytest.raises(CheckFailed) as raised:
        check_glue_job_matches(glue, JOB, target, WHERE)
    assert str(raised.value) == (
        f"Glue job {JOB}: differs from target state version {target.version_id} "
        "(serial 1, previous version): number_of_workers: live 5, target 2 "
        "in account 123456789012 eu-west-1"
    )


def test_a_changed_lambda_fails(stack: AwsClients) -> None:
    client = stack.client("lambda")
    client.update_function_configuration(FunctionName=FUNCTION, MemorySize=512)
    target = _target(stack, "latest")
    with pytest.raises(CheckFailed) as raised:
        check_lambda_matches(client, FUNCTION, target, WHERE)
    assert str(raised.value) == (
        f"Lambda {FUNCTION}: differs from target state version {target.version_id} "
        "(serial 2, latest version): memory_size: live 512, target 256 "
        "in account 123456789012 eu-west-1"
    )


def test_a_changed_state_machine_definition_fails(stack: AwsClients) -> None:
    sfn = stack.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    sfn.update_state_machine(
        stateMachineArn=state_machine_arn(MACHINE, WHERE), definition=json.dumps(definition)
    )
    target = _target(stack)
    live_hash = definition_hash(json.dumps(definition))[:12]
    target_hash = definition_hash(_machine_recorded()["definition"])[:12]
    with pytest.raises(CheckFailed) as raised:
        check_state_machine_matches(sfn, MACHINE, target, WHERE)
    assert str(raised.value) == (
        f"state machine {MACHINE}: differs from target state version {target.version_id} "
        f"(serial 1, previous version): definition: live sha256 {live_hash}, "
        f"target sha256 {target_hash} in account 123456789012 eu-west-1"
    )


def test_a_changed_state_machine_role_fails(stack: AwsClients) -> None:
    sfn = stack.client("stepfunctions")
    other = "arn:aws:iam::123456789012:role/ohpen-other-role"
    sfn.update_state_machine(stateMachineArn=state_machine_arn(MACHINE, WHERE), roleArn=other)
    target = _target(stack)
    with pytest.raises(CheckFailed) as raised:
        check_state_machine_matches(sfn, MACHINE, target, WHERE)
    assert str(raised.value) == (
        f"state machine {MACHINE}: differs from target state version {target.version_id} "
        f"(serial 1, previous version): role_arn: live {other}, "
        f"target arn:aws:iam::123456789012:role/{MACHINE}-role in account 123456789012 eu-west-1"
    )


def test_a_resource_the_target_does_not_record_fails(stack: AwsClients) -> None:
    target = TargetState("v-empty", 7, [], "known-good mark")
    with pytest.raises(CheckFailed) as raised:
        check_lambda_matches(stack.client("lambda"), FUNCTION, target, WHERE)
    assert str(raised.value) == (
        f"Lambda {FUNCTION}: not recorded in target state version v-empty "
        "(serial 7, known-good mark) (aws_lambda_function) in account 123456789012 eu-west-1"
    )


def test_a_missing_resource_fails_as_not_found(stack: AwsClients) -> None:
    stack.client("glue").delete_job(JobName=JOB)
    with pytest.raises(CheckFailed) as raised:
        check_glue_job_matches(stack.client("glue"), JOB, _target(stack), WHERE)
    assert str(raised.value) == (
        f"Glue job {JOB}: not found (EntityNotFoundException) in account 123456789012 eu-west-1"
    )
