"""IAM faults for the embedded account: a role that cannot do its job, and one that can do
far too much. Each breaks exactly one check: a Deny is never a least-privilege problem,
and an extra Allow denies nothing the pipeline needs.
"""

from __future__ import annotations

import json

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks.permissions import glue_job_needs, role_name_from
from pytest_ohpen.emulator.fault import Fault
from pytest_ohpen.emulator.stack import Stack
from pytest_ohpen.errors import ConfigError

DENY_OUTPUT_POLICY = "injected-deny-output"
SERVICE_WILDCARD_POLICY = "injected-service-wildcards"


def output_buckets(job: dict[str, object], stack: Stack) -> list[str]:
    """The buckets a Glue job writes to: its output arguments' buckets, else the stack's
    silver bucket (where infra/terraform writes)."""
    _, needs = glue_job_needs(job)
    written = [
        n.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        for n in needs
        if n.action == "s3:PutObject"
    ]
    return list(dict.fromkeys(written)) or [b for b in stack.buckets if "silver" in b][:1]


def _etl_permission_denied(clients: AwsClients, stack: Stack, job: str) -> None:
    """The job's role gets an inline Deny of s3:* on its output bucket's objects."""
    described = clients.client("glue").get_job(JobName=job)["Job"]
    buckets = output_buckets(described, stack)
    if not buckets:
        raise ConfigError(f"--emulator-fault etl-permission-denied: Glue job {job} writes nowhere")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}/*" for bucket in buckets],
            }
        ],
    }
    clients.client("iam").put_role_policy(
        RoleName=role_name_from(str(described["Role"])),
        PolicyName=DENY_OUTPUT_POLICY,
        PolicyDocument=json.dumps(document),
    )


def _service_wildcard_policy(clients: AwsClients, stack: Stack, role: str) -> None:
    """The role gets an inline Allow of s3:* and iam:* on every resource."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}],
    }
    clients.client("iam").put_role_policy(
        RoleName=role, PolicyName=SERVICE_WILDCARD_POLICY, PolicyDocument=json.dumps(document)
    )


FAULTS: dict[str, Fault] = {
    "etl-permission-denied": Fault(
        "the Glue job's role is denied s3:* on its output bucket",
        "glue_jobs",
        _etl_permission_denied,
    ),
    "service-wildcard-policy": Fault(
        "a pipeline role gets an Allow of s3:* and iam:* on *", "roles", _service_wildcard_policy
    ),
}
