"""Who acted, for the audit records: the AWS caller the account guard saw and the CI's
variables (actor, workflow, run). Never credentials: only names and ids are read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

CI_VARIABLES = (
    "GITHUB_ACTOR",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKFLOW",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "BUILD_ID",
    "USER",
)


def operator_identity(caller_arn: str | None) -> dict[str, str]:
    """Who is acting: the AWS identity (from the account guard) and the CI's variables."""
    identity = {"aws_caller": caller_arn or "unknown"}
    identity.update({name: os.environ[name] for name in CI_VARIABLES if os.environ.get(name)})
    return identity


def arn_name(arn: str | None) -> str | None:
    """A person-readable name for a caller ARN, so records say who rather than repeat an ARN:
    ``.../assumed-role/ohpen-rollback/jane`` -> ``jane (role ohpen-rollback)``,
    ``...:user/moto`` -> ``moto``; None when there is no ARN, the ARN itself when unknown."""
    if not arn or arn == "unknown":
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return arn
    account, resource = parts[4], parts[5]
    if resource == "root":
        return f"root of account {account}"
    kind, _, path = resource.partition("/")
    names = [name for name in path.split("/") if name]
    if kind == "assumed-role" and len(names) >= 2:
        return f"{names[-1]} (role {names[-2]})"
    if kind in ("user", "federated-user") and names:
        return names[-1]
    if kind == "role" and names:
        return f"role {names[-1]}"
    return arn


def readable_operator(operator: Mapping[str, Any]) -> str:
    """Who acted, for a person: the CI actor, else the name in the AWS caller's ARN, else
    the login name; "unknown" when a record holds none of them."""
    for name in (
        _text(operator.get("GITHUB_ACTOR")),
        arn_name(_text(operator.get("aws_caller"))),
        _text(operator.get("USER")),
    ):
        if name:
            return name
    return "unknown"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
