"""The account guard, and the one line a user sees when the run cannot start checking.

Before any check, STS must name the environment's account. Every way preflight can fail
(the embedded account not starting or not provisioning, no or rejected credentials, an
unreachable endpoint, another account) ends as a PreflightError whose message is one line
naming what happened and what to do, with any credential redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ohpen.aws.errors import error_code
from pytest_ohpen.errors import PreflightError

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment


def verify_account(clients: AwsClients) -> str:
    """The account guard: STS must name the environment's account before any check runs.

    Returns the caller's ARN; raises PreflightError (one line) on a mismatch, on missing,
    expired or rejected credentials, and on an unreachable endpoint.
    """
    env = clients.env
    try:
        identity = clients.client("sts").get_caller_identity()
    except PreflightError:
        raise
    except Exception as error:
        raise PreflightError(describe_preflight_failure(error, clients)) from None
    actual = identity.get("Account")
    if actual != env.account_id:
        raise PreflightError(
            f"account guard: environment {env.name!r} is account {env.account_id} "
            f"({env.source}), but the credentials in use belong to account {actual}; "
            "no check was run. Use credentials for the environment's account, "
            "or correct its account_id"
        )
    return str(identity.get("Arn", ""))


def describe_preflight_failure(error: BaseException, clients: AwsClients) -> str:
    """One line saying why the run could not even ask AWS who it is, and what to do."""
    import botocore.exceptions as bex

    env = clients.env
    where = clients.endpoint_url or f"AWS STS in {env.region}"
    if isinstance(error, bex.NoCredentialsError):
        return (
            f"no AWS credentials found for environment {env.name!r}: set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, log in with 'aws sso login', "
            f"or name a profile in {env.source} [{env.name}] profile"
        )
    if isinstance(error, bex.PartialCredentialsError):
        return f"incomplete AWS credentials for environment {env.name!r}: {error}"
    if isinstance(
        error, bex.SSOTokenLoadError | bex.UnauthorizedSSOTokenError | bex.TokenRetrievalError
    ):
        return (
            f"the SSO session for environment {env.name!r} has expired or is missing: "
            f"run 'aws sso login{' --profile ' + env.profile if env.profile else ''}'"
        )
    if isinstance(error, bex.ProfileNotFound):
        return f"AWS profile not found for environment {env.name!r}: {error}"
    if isinstance(
        error, bex.EndpointConnectionError | bex.ConnectTimeoutError | bex.ReadTimeoutError
    ):
        return (
            f"cannot reach {where} for environment {env.name!r} "
            f"({type(error).__name__}); check the network, proxy or endpoint_url"
        )
    if isinstance(error, bex.ClientError):
        code = error_code(error)
        if code in {
            "ExpiredToken",
            "ExpiredTokenException",
            "RequestExpired",
            "TokenRefreshRequired",
        }:
            return (
                f"the AWS credentials for environment {env.name!r} have expired ({code}); "
                "refresh them (new session token, or 'aws sso login') and run again"
            )
        if code in {
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "UnrecognizedClientException",
            "AuthFailure",
            "AccessDenied",
            "InvalidAccessKeyId",
        }:
            return (
                f"AWS rejected the credentials for environment {env.name!r} ({code}); "
                "check which keys or profile are in use"
            )
        return f"STS GetCallerIdentity failed for environment {env.name!r}: {code}"
    if isinstance(error, bex.BotoCoreError):
        return f"cannot ask {where} who the caller is for environment {env.name!r}: {error}"
    return f"account guard failed for environment {env.name!r}: {error_line(error)}"


def describe_provisioning_failure(
    error: BaseException, env: Environment, where: str | None, read_timeout: float
) -> str:
    """One line saying the embedded account could not start (``where`` is None) or be
    provisioned at ``where``, and why."""
    import botocore.exceptions as bex

    what = f"be provisioned at {where}" if where else "start"
    hint = ""
    if isinstance(error, bex.ReadTimeoutError):
        hint = f" (a provisioning call may take {read_timeout:g} s; is the machine overloaded?)"
    return (
        f"the embedded account for environment {env.name!r} could not {what}: "
        f"{error_line(error)}{hint}"
    )


def error_line(error: BaseException) -> str:
    """``Type: message`` on one line, credentials redacted (botocore names URLs, not keys;
    this makes sure)."""
    from pytest_ohpen.records.redact import redact_text

    text = " ".join(str(error).split())
    return redact_text(f"{type(error).__name__}: {text}" if text else type(error).__name__)
