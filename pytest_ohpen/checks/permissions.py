"""Roles can do their job: what the Glue job and the state machine call, IAM allows.

A rollback can bring back a role policy that no longer covers what the pipeline does (a
new output prefix, a Deny added by hand). The job then fails at 3 a.m. with AccessDenied.
The needs are read from what AWS runs: GetJob's script and S3 arguments, the state
machine's Task states (pure functions below). IAM's own policy simulator
(SimulatePrincipalPolicy) then judges them against the role's policies as IAM would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

IAM_NOT_FOUND = frozenset({"NoSuchEntity"})
READ_KEYS = ("input", "source", "read")
WRITE_KEYS = ("output", "target", "dest", "write")
GLUE_RUN = "arn:aws:states:::glue:startJobRun"
GLUE_SYNC_ACTIONS = ("glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun")
"""What a ``.sync`` Glue task also calls to wait for (and stop) the run, as AWS documents."""
S3_SDK_ACTIONS = {
    "getObject": ("s3:GetObject", True),
    "putObject": ("s3:PutObject", True),
    "deleteObject": ("s3:DeleteObject", True),
    "listObjectsV2": ("s3:ListBucket", False),
}
"""Step Functions' S3 SDK integrations: the IAM action, and whether it acts on an object."""


@dataclass(frozen=True)
class Need:
    """One IAM action on one resource that a role needs, and why (for the failure message)."""

    action: str
    resource: str
    why: str


# ---------------------------------------------------------------- what a role needs


def glue_job_needs(job: dict[str, Any]) -> tuple[str, list[Need]]:
    """GetJob's ``Job``: its role, and the S3 reads and writes its script and arguments imply."""
    name = str(job.get("Name", "?"))
    needs: list[Need] = []
    script = str((job.get("Command") or {}).get("ScriptLocation") or "")
    if script.startswith("s3://"):
        bucket, key = _s3_parts(script)
        needs.append(
            Need("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", f"Glue job {name} script")
        )
    for argument, value in (job.get("DefaultArguments") or {}).items():
        if not str(value).startswith("s3://"):
            continue
        bucket, prefix = _s3_parts(str(value))
        why = f"Glue job {name} {argument} {value}"
        key = str(argument).lower()
        if any(word in key for word in READ_KEYS):
            needs.append(Need("s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}*", why))
            needs.append(Need("s3:ListBucket", f"arn:aws:s3:::{bucket}", why))
        elif any(word in key for word in WRITE_KEYS):
            needs.append(Need("s3:PutObject", f"arn:aws:s3:::{bucket}/{prefix}*", why))
    return str(job.get("Role", "")), needs


def state_machine_needs(described: dict[str, Any]) -> tuple[str, list[Need]]:
    """DescribeStateMachine: its role, and what each Task state calls (nested ones too).

    A parameter given as a JSONPath (``Name.$``) or a JSONata expression is known only at
    run time: it yields no need.
    """
    arn = str(described.get("stateMachineArn", ""))
    parts = arn.split(":")
    region, account = (parts[3], parts[4]) if len(parts) > 5 else ("*", "*")
    name = parts[-1] if arn else "?"
    definition = described.get("definition") or {}
    if isinstance(definition, str):
        definition = json.loads(definition)
    needs: list[Need] = []
    for state_name, state in _task_states(definition):
        why = f"state machine {name} state {state_name}"
        needs += _task_needs(state, region, account, why)
    return str(described.get("roleArn", "")), needs


def role_needs(
    glue_jobs: list[dict[str, Any]],
    state_machines: list[dict[str, Any]],
    role: str,
    extra: list[Need],
) -> list[Need]:
    """What ``role`` (name or ARN) needs: every job and state machine running as it, plus
    ``extra``."""
    needs: list[Need] = []
    derived = [glue_job_needs(j) for j in glue_jobs] + [
        state_machine_needs(m) for m in state_machines
    ]
    for owner, owned in derived:
        if owner and role_name_from(owner) == role_name_from(role):
            needs += owned
    return needs + list(extra)


# ---------------------------------------------------------------- the check


def check_role_can_do_its_job(iam: Any, role: str, needs: list[Need], where: Where) -> None:
    """SimulatePrincipalPolicy: IAM allows the role every action it needs, on its resource."""
    name = role_name_from(role)
    if not needs:
        return
    with probing("IAM role", name, where, IAM_NOT_FOUND):
        arn = role if role.startswith("arn:") else str(iam.get_role(RoleName=role)["Role"]["Arn"])
    whys: dict[tuple[str, str], list[str]] = {}
    for need in needs:
        whys.setdefault((need.action, need.resource), [])
        if need.why not in whys[(need.action, need.resource)]:
            whys[(need.action, need.resource)].append(need.why)
    by_resource: dict[str, list[str]] = {}
    for action, resource in whys:
        by_resource.setdefault(resource, []).append(action)
    denied: list[str] = []
    for resource, actions in by_resource.items():
        with probing("IAM role", name, where, IAM_NOT_FOUND):
            results = _simulated(iam, arn, actions, resource)
        for result in results:
            decision = str(result.get("EvalDecision", "implicitDeny"))
            if decision == "allowed":
                continue
            action = str(result.get("EvalActionName", "?"))
            on = str(result.get("EvalResourceName") or resource)
            why = ", ".join(whys.get((action, on)) or whys.get((action, resource)) or ["?"])
            policies = [
                str(s.get("SourcePolicyId"))
                for s in result.get("MatchedStatements") or []
                if s.get("SourcePolicyId")
            ]
            by = f" by {', '.join(policies)}" if policies else ""
            denied.append(f"{action} on {on} ({why}, {decision}{by})")
    if denied:
        raise CheckFailed(f"IAM role {name}: denied {'; '.join(denied)} {where}")


def _simulated(iam: Any, arn: str, actions: list[str], resource: str) -> list[dict[str, Any]]:
    """Every EvaluationResult of one simulation, following IsTruncated and Marker."""
    results: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        extra = {"Marker": marker} if marker else {}
        answer = iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=actions, ResourceArns=[resource], **extra
        )
        results += answer.get("EvaluationResults", [])
        marker = answer.get("Marker")
        if not answer.get("IsTruncated") or not marker:
            return results


# ---------------------------------------------------------------- helpers


def role_name_from(role: str) -> str:
    """A role's name from its name or ARN (``arn:aws:iam::1:role/path/NAME``)."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _task_states(definition: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """Every Task state, also inside Parallel branches and Map iterators."""
    for state_name, state in (definition.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield str(state_name), state
        for branch in state.get("Branches") or []:
            yield from _task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from _task_states(state[key])


def _task_needs(state: dict[str, Any], region: str, account: str, why: str) -> list[Need]:
    resource = str(state.get("Resource", ""))
    params = state.get("Parameters") or state.get("Arguments") or {}
    params = params if isinstance(params, dict) else {}

    def known(key: str) -> str | None:
        value = params.get(key)
        if not isinstance(value, str) or value.startswith("{%"):
            return None  # absent, given as a JSONPath (``key.$``) or a JSONata expression
        return value

    if resource.startswith(GLUE_RUN):
        job = known("JobName")
        if job is None:
            return []
        arn = f"arn:aws:glue:{region}:{account}:job/{job}"
        waits = GLUE_SYNC_ACTIONS if resource.removeprefix(GLUE_RUN).startswith(".sync") else ()
        return [Need(a, arn, why) for a in ("glue:StartJobRun", *waits)]
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        function = known("FunctionName")
        if function is None:
            return []
        return [Need("lambda:InvokeFunction", _lambda_arn(function, region, account), why)]
    if resource.startswith("arn:aws:states:::sns:publish"):
        topic = known("TopicArn") or known("TargetArn")
        return [] if topic is None else [Need("sns:Publish", topic, why)]
    if resource.startswith("arn:aws:lambda:"):
        return [Need("lambda:InvokeFunction", resource, why)]
    if resource.startswith("arn:aws:states:::aws-sdk:s3:"):
        action, on_object = S3_SDK_ACTIONS.get(resource.rsplit(":", 1)[-1], ("", False))
        bucket, key = known("Bucket"), known("Key")
        if not action or bucket is None or (on_object and key is None):
            return []
        target = f"arn:aws:s3:::{bucket}/{key}" if on_object else f"arn:aws:s3:::{bucket}"
        return [Need(action, target, why)]
    return []


def _lambda_arn(function: str, region: str, account: str) -> str:
    """A FunctionName (name, ``name:alias``, partial or full ARN) as the function's ARN."""
    if function.startswith("arn:"):
        return function
    if function.startswith(f"{account}:function:"):
        return f"arn:aws:lambda:{region}:{function}"
    return f"arn:aws:lambda:{region}:{account}:function:{function}"
