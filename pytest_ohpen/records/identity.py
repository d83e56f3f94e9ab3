"""Who acted, for the audit records: the AWS caller the account guard saw and the CI's
variables (actor, workflow, run). Never credentials: only names and ids are read."""

from __future__ import annotations

import os

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
