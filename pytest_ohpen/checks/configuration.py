"""Configuration: after a rollback, the stack's key attributes equal the target state's.

A rollback that leaves every resource in place but with the broken release's settings
(five workers, a new state machine definition) passes every existence check. These
checks compare what AWS reports with what the Terraform state version rolled back to
records, under the AWS provider's attribute names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.checks.awslambda import NOT_FOUND as LAMBDA_NOT_FOUND
from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.glue import NOT_FOUND as GLUE_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import NOT_FOUND as SFN_NOT_FOUND
from pytest_ohpen.checks.stepfunctions import state_machine_arn
from pytest_ohpen.terraform import state_versions as statefile
from pytest_ohpen.terraform import target
from pytest_ohpen.terraform.target import TargetError as TargetError
from pytest_ohpen.terraform.target import choose_target

EXPLICIT = "--target-state-version"
KNOWN_GOOD = "known-good mark"
PREVIOUS = "previous version"
LATEST = "latest version"
SOURCES = {
    target.EXPLICIT: EXPLICIT,
    target.KNOWN_GOOD: KNOWN_GOOD,
    target.PREVIOUS: PREVIOUS,
    target.LATEST: LATEST,
}
"""How a message names each reason of the target choice."""
HASH_SHOWN = 12
"""Hex digits of a definition hash shown in a message: enough to tell two apart."""


@dataclass(frozen=True)
class TargetState:
    """The Terraform state version a rollback went back to, and how it was chosen."""

    version_id: str
    serial: int
    resources: list[Any]
    """The state's ``resources`` array, as parsed."""
    source: str
    """"--target-state-version", "known-good mark", "previous version" or "latest version"."""

    def __str__(self) -> str:
        return f"target state version {self.version_id} (serial {self.serial}, {self.source})"


def recorded_attributes(
    state: TargetState, resource_type: str, name_attribute: str, name: str
) -> dict[str, Any] | None:
    """The attributes the state records for the managed ``resource_type`` named ``name``.

    Matched on an attribute, not the resource's address, because the address is the
    Terraform code's choice and the name is what the checks know.
    """
    for resource in state.resources:
        if not isinstance(resource, dict) or resource.get("mode") != "managed":
            continue
        if resource.get("type") != resource_type:
            continue
        for instance in resource.get("instances") or []:
            attributes = instance.get("attributes") if isinstance(instance, dict) else None
            if isinstance(attributes, dict) and attributes.get(name_attribute) == name:
                return attributes
    return None


def glue_differences(live_job: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Worker type and count, timeout and script location: GetJob's ``Job`` vs the state."""
    commands = recorded.get("command") or [{}]
    command = commands[0] if isinstance(commands, list) and isinstance(commands[0], dict) else {}
    return _differences(
        [
            ("worker_type", live_job.get("WorkerType"), recorded.get("worker_type")),
            (
                "number_of_workers",
                live_job.get("NumberOfWorkers"),
                recorded.get("number_of_workers"),
            ),
            ("timeout", live_job.get("Timeout"), recorded.get("timeout")),
            (
                "command.script_location",
                (live_job.get("Command") or {}).get("ScriptLocation"),
                command.get("script_location"),
            ),
        ]
    )


def lambda_differences(live_config: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Runtime, handler, memory and timeout: GetFunctionConfiguration vs the state."""
    return _differences(
        [
            ("runtime", live_config.get("Runtime"), recorded.get("runtime")),
            ("handler", live_config.get("Handler"), recorded.get("handler")),
            ("memory_size", live_config.get("MemorySize"), recorded.get("memory_size")),
            ("timeout", live_config.get("Timeout"), recorded.get("timeout")),
        ]
    )


def state_machine_differences(live: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Definition (by normalised hash, so formatting does not count) and role."""
    found = []
    if recorded.get("definition") is not None:
        live_hash = definition_hash(str(live.get("definition", "")))
        target_hash = definition_hash(str(recorded["definition"]))
        if live_hash != target_hash:
            found.append(
                f"definition: live sha256 {live_hash[:HASH_SHOWN]}, "
                f"target sha256 {target_hash[:HASH_SHOWN]}"
            )
    return found + _differences([("role_arn", live.get("roleArn"), recorded.get("role_arn"))])


def definition_hash(definition: str) -> str:
    """The sha256 of a definition's JSON with sorted keys and no whitespace.

    Terraform records the definition as written (indented, any key order) while Step
    Functions may return it reformatted; a text that is not JSON is hashed as it is.
    """
    try:
        text = json.dumps(json.loads(definition), sort_keys=True, separators=(",", ":"))
    except ValueError:
        text = definition
    return hashlib.sha256(text.encode()).hexdigest()


def check_glue_job_matches(glue: Any, job: str, target: TargetState, where: Where) -> None:
    """GetJob: the job's workers, timeout and script are the target state's."""
    recorded = _recorded("Glue job", job, target, "aws_glue_job", "name", where)
    with probing("Glue job", job, where, GLUE_NOT_FOUND):
        live = glue.get_job(JobName=job)["Job"]
    _raise_if_different("Glue job", job, target, glue_differences(live, recorded), where)


def check_lambda_matches(
    lambda_client: Any, function: str, target: TargetState, where: Where
) -> None:
    """GetFunctionConfiguration: runtime, handler, memory and timeout are the target's."""
    recorded = _recorded("Lambda", function, target, "aws_lambda_function", "function_name", where)
    with probing("Lambda", function, where, LAMBDA_NOT_FOUND):
        live = lambda_client.get_function_configuration(FunctionName=function)
    _raise_if_different("Lambda", function, target, lambda_differences(live, recorded), where)


def check_state_machine_matches(sfn: Any, name: str, target: TargetState, where: Where) -> None:
    """DescribeStateMachine: the definition and role are the target state's."""
    recorded = _recorded("state machine", name, target, "aws_sfn_state_machine", "name", where)
    with probing("state machine", name, where, SFN_NOT_FOUND):
        live = sfn.describe_state_machine(stateMachineArn=state_machine_arn(name, where))
    differences = state_machine_differences(live, recorded)
    _raise_if_different("state machine", name, target, differences, where)


def resolve_target(
    s3: Any, bucket: str, key: str, choice: str | None, known_good_ids: list[str]
) -> TargetState | None:
    """The state version to compare with, read from the backend; None: no known target.

    Chosen as the readiness report chooses it (``terraform.target.choose_target``):
    ``choice`` is a version id, "latest" or "previous"; None means the newest of
    ``known_good_ids`` (newest first) still stored and not current. Without a mark there
    is no target: merely "the previous version" is, after a rollback, the broken release.
    A choice that cannot be met is a TargetError; AWS errors propagate.
    """
    versions = statefile.list_versions(s3, bucket, key)
    chosen = choose_target(versions, known_good_ids, choice, where=f"s3://{bucket}/{key}")
    if chosen is None or chosen.is_fallback:
        return None
    return _read(s3, bucket, key, chosen.version.version_id, SOURCES[chosen.reason])


def _read(s3: Any, bucket: str, key: str, version_id: str, source: str) -> TargetState:
    body = statefile.read_version(s3, bucket, key, version_id)
    try:
        summary = statefile.parse_state(body)
    except statefile.StateParseError as error:
        raise TargetError(
            f"state version {version_id} of s3://{bucket}/{key} ({source}) is not a usable "
            f"Terraform state: {error}"
        ) from None
    resources = json.loads(body).get("resources", [])
    return TargetState(version_id, summary.serial, resources, source)


def _recorded(
    kind: str,
    name: str,
    target: TargetState,
    resource_type: str,
    name_attribute: str,
    where: Where,
) -> dict[str, Any]:
    recorded = recorded_attributes(target, resource_type, name_attribute, name)
    if recorded is None:
        raise CheckFailed(f"{kind} {name}: not recorded in {target} ({resource_type}) {where}")
    return recorded


def _raise_if_different(
    kind: str, name: str, target: TargetState, differences: list[str], where: Where
) -> None:
    if differences:
        raise CheckFailed(f"{kind} {name}: differs from {target}: {'; '.join(differences)} {where}")


def _differences(pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """'attribute: live X, target Y' for each pair that differs; an unrecorded one is skipped.

    Values compare as text, integral floats as integers: the state's JSON may hold 60.0
    where the API returns 60.
    """
    return [
        f"{attribute}: live {_shown(live)}, target {_shown(target)}"
        for attribute, live, target in pairs
        if target is not None and _normal(live) != _normal(target)
    ]


def _normal(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _shown(value: Any) -> str:
    """The value on one line, so the failure stays one line."""
    normal = _normal(value)
    return "(not set)" if normal is None else " ".join(normal.split()) or repr(normal)
