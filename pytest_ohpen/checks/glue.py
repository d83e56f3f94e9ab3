"""Glue: a job exists, and it could run: its role exists and lets Glue assume it, and its
script is where the job says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"EntityNotFoundException"})
ROLE_NOT_FOUND = frozenset({"NoSuchEntity"})
OBJECT_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
GLUE_SERVICE = "glue.amazonaws.com"
ASSUME_ACTIONS = frozenset({"sts:assumerole", "sts:*", "*"})


def check_glue_job_exists(glue: Any, job: str, where: Where) -> None:
    """GetJob: the job is defined in this account and region."""
    with probing("Glue job", job, where, NOT_FOUND):
        glue.get_job(JobName=job)


def check_glue_job_executable(glue: Any, iam: Any, s3: Any, job: str, where: Where) -> None:
    """GetJob, GetRole, HeadObject: the job's role exists and trusts Glue, and its script
    exists. A job that exists but cannot start fails its first run hours later; this says
    so right after the deploy."""
    with probing("Glue job", job, where, NOT_FOUND):
        found = glue.get_job(JobName=job)["Job"]
    role = role_name(str(found.get("Role", "")))
    with _about(job, f"role {role}", where, ROLE_NOT_FOUND):
        described = iam.get_role(RoleName=role)["Role"]
    document = policy_document(described.get("AssumeRolePolicyDocument"))
    if not trusts_service(document, GLUE_SERVICE):
        trusted = ", ".join(trusted_services(document)) or "no service"
        raise CheckFailed(
            f"Glue job {job}: role {role} does not let {GLUE_SERVICE} assume it "
            f"(it trusts {trusted}) {where}"
        )
    location = str(found.get("Command", {}).get("ScriptLocation", ""))
    bucket, key = split_s3_url(location)
    if not bucket or not key:
        raise CheckFailed(
            f"Glue job {job}: script location {location!r} is not s3://bucket/key {where}"
        )
    with _about(job, f"script {location}", where, OBJECT_NOT_FOUND):
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=where.account_id)


@contextmanager
def _about(job: str, what: str, where: Where, not_found: frozenset[str]) -> Iterator[None]:
    """``probing`` the job, the failure naming ``what`` of it was wrong: "Glue job J: role R
    not found (NoSuchEntity)"; HeadObject's bare "404" said as what it means."""
    try:
        with probing("Glue job", job, where, not_found):
            yield
    except CheckFailed as failure:
        text = str(failure).replace("not found (404)", "not found (NoSuchKey)")
        raise CheckFailed(
            text.replace(f"Glue job {job}: ", f"Glue job {job}: {what} ", 1)
        ) from None


def role_name(role: str) -> str:
    """A job's Role as GetRole wants it: the name, also from an ARN with a path."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); ("", "") for anything else."""
    if not url.startswith("s3://"):
        return "", ""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def policy_document(value: Any) -> dict[str, Any]:
    """IAM answers a policy document as a dict (boto3 decodes it) or URL-encoded JSON."""
    if isinstance(value, str):
        parsed = json.loads(unquote(value))
        return parsed if isinstance(parsed, dict) else {}
    return value if isinstance(value, dict) else {}


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [s for s in ([found] if isinstance(found, dict) else found) if isinstance(s, dict)]


def _services(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    return _listed(principal.get("Service")) if isinstance(principal, dict) else []


def _assumes(statement: dict[str, Any]) -> bool:
    return any(action.lower() in ASSUME_ACTIONS for action in _listed(statement.get("Action")))


def _any_statement(document: dict[str, Any], effect: str, service: str) -> bool:
    return any(
        s.get("Effect") == effect and _assumes(s) and service in _services(s)
        for s in _statements(document)
    )


def trusts_service(document: dict[str, Any], service: str) -> bool:
    """Whether a trust policy lets ``service`` assume the role: a statement allows
    sts:AssumeRole (or a wildcard) to a Principal Service naming it, and none denies it."""
    return _any_statement(document, "Allow", service) and not _any_statement(
        document, "Deny", service
    )


def trusted_services(document: dict[str, Any]) -> list[str]:
    """The services a trust policy allows to assume the role, in order, once each."""
    allowed = [
        service
        for s in _statements(document)
        if s.get("Effect") == "Allow" and _assumes(s)
        for service in _services(s)
    ]
    return list(dict.fromkeys(allowed))
