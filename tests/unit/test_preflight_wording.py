"""STS's refusal of the credentials is told as what happened, without AWS's own text.

A hand-made botocore error, no AWS; the account guard against moto is tests/aws/test_aws.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import prod_environment

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.aws.guard import describe_preflight_failure
from pytest_ohpen.config.environments import Environment

SECRETS = ("fake-secret-ohpen-test-do-not-leak", "AKIAFAKEOHPENTEST0001")


def environment(endpoint_url: str | None) -> Environment:
    """A real (non-emulated) environment "prod"."""
    return prod_environment(source=Path("/etc/ohpen/environments.toml"), endpoint_url=endpoint_url)


@pytest.mark.parametrize(
    ("code", "wording"),
    [
        ("ExpiredToken", "the AWS credentials for environment 'prod' have expired (ExpiredToken)"),
        (
            "InvalidClientTokenId",
            "AWS rejected the credentials for environment 'prod' (InvalidClientTokenId)",
        ),
    ],
)
def test_expired_and_rejected_credentials(code: str, wording: str) -> None:
    """STS's refusal is translated into what happened and what to do, without AWS's text."""
    error = ClientError(
        {"Error": {"Code": code, "Message": f"The security token {SECRETS[1]} is invalid"}},
        "GetCallerIdentity",
    )
    message = describe_preflight_failure(error, AwsClients(environment(None)))
    assert message.startswith(wording)
    assert "\n" not in message and not [secret for secret in SECRETS if secret in message]
