"""boto3 sessions and clients for an Environment, and the account guard.

One session per environment and one client per service, shared by the whole run.
Clients use botocore's standard retry mode with connect/read timeouts derived
from the environment's per-attempt ``timeout``, so a check's AWS calls give up
before pytest-timeout has to kill the test. boto3 is imported here only, and only
when a suite needs it: the plugin costs nothing in runs that do not check AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ohpen.errors import PreflightError

if TYPE_CHECKING:
    import boto3

    from pytest_ohpen.config.environments import Environment

CALLS_PER_CHECK = 2
"""The most AWS calls one check makes (a bucket: head, then list one key)."""
ATTEMPTS_PER_CALL = 2
"""botocore standard mode: the first try plus one retry of a throttled or transient error."""
EMBEDDED_CREDENTIALS = {
    "aws_access_key_id": "ohpen-embedded",
    "aws_secret_access_key": "ohpen-embedded",
}
"""The embedded account accepts any keys; fixed ones keep real credentials out of it."""


@dataclass(frozen=True)
class ClientTimeouts:
    """Socket timeouts and attempts of every call; see :func:`client_timeouts`."""

    connect: float
    read: float
    max_attempts: int

    def worst_case(self, calls: int = CALLS_PER_CHECK) -> float:
        """Seconds ``calls`` calls can take when every attempt hangs to its timeouts."""
        return calls * self.max_attempts * (self.connect + self.read)


def client_timeouts(check_timeout: float) -> ClientTimeouts:
    """Split a check's time budget over its calls and their retries.

    A check makes at most CALLS_PER_CHECK calls, each with ATTEMPTS_PER_CALL attempts;
    80 % of the budget goes to them, the rest is left for retry back-off, so a hung
    endpoint ends as a clear client error before the per-attempt timeout fires.
    """
    per_attempt = check_timeout * 0.8 / (CALLS_PER_CHECK * ATTEMPTS_PER_CALL)
    connect = max(0.2, min(5.0, per_attempt / 3))
    read = max(0.5, min(30.0, per_attempt - connect))
    return ClientTimeouts(
        connect=round(connect, 3), read=round(read, 3), max_attempts=ATTEMPTS_PER_CALL
    )


class AwsClients:
    """The run's boto3 session and clients for one Environment, made on first use.

    ``endpoint_url`` overrides the environment's (the embedded account's address).
    Thread-safe: boto3 sessions are not, so client creation is serialised.
    """

    def __init__(self, env: Environment, endpoint_url: str | None = None) -> None:
        self.env = env
        self.endpoint_url = endpoint_url or env.endpoint_url
        self.timeouts = client_timeouts(env.timeout)
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.session.Session:
        """The environment's boto3 session (its profile, or the embedded account's keys)."""
        if self._session is None:
            import boto3
            import botocore.exceptions

            options: dict[str, Any] = {"region_name": self.env.region}
            if self.env.emulated:
                options.update(EMBEDDED_CREDENTIALS)
            elif self.env.profile:
                options["profile_name"] = self.env.profile
            try:
                self._session = boto3.session.Session(**options)
            except botocore.exceptions.ProfileNotFound:
                raise PreflightError(
                    f"{self.env.source}: [{self.env.name}] profile: AWS profile "
                    f"{self.env.profile!r} is not in your AWS config; run "
                    f"'aws configure --profile {self.env.profile}' or fix the profile key"
                ) from None
        return self._session

    def client(self, service: str) -> Any:
        """The shared client for ``service`` (created once per run)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service, self.timeouts)
            return self._clients[service]

    def invoker(self) -> Any:
        """A Lambda client for invocations: one attempt only (an invocation is not idempotent),
        and a read timeout that lets the function run for most of the check's budget."""
        with self._lock:
            if "lambda:invoke" not in self._clients:
                timeouts = ClientTimeouts(
                    connect=self.timeouts.connect, read=self.env.timeout * 0.8, max_attempts=1
                )
                self._clients["lambda:invoke"] = self._make("lambda", timeouts)
            return self._clients["lambda:invoke"]

    def _make(self, service: str, timeouts: ClientTimeouts) -> Any:
        from botocore.config import Config

        config = Config(
            # total_max_attempts counts the first try; botocore's max_attempts would not.
            retries={"mode": "standard", "total_max_attempts": timeouts.max_attempts},
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            user_agent_extra="pytest-ohpen",
        )
        make_client: Any = self.session.client  # one factory for every service name
        return make_client(service, endpoint_url=self.endpoint_url, config=config)


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
        code = error.response.get("Error", {}).get("Code", "Unknown")
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
    return f"account guard failed for environment {env.name!r}: {type(error).__name__}: {error}"
