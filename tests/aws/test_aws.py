"""AWS clients and the account guard: time budgets, shared clients, and the one-line
preflight errors a user sees, checked against the in-process moto server. The budget
arithmetic and the wording of refused credentials are tests/unit/test_timeouts.py and
tests/unit/test_preflight_wording.py.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from conftest import prod_environment

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.aws.guard import verify_account
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.errors import PreflightError

SECRETS = ("fake-secret-ohpen-test-do-not-leak", "AKIAFAKEOHPENTEST0001")
SOURCE = Path("/etc/ohpen/environments.toml")


def environment(endpoint_url: str | None, **overrides: Any) -> Environment:
    """A real (non-emulated) environment, reached through ``endpoint_url``."""
    return prod_environment(source=SOURCE, endpoint_url=endpoint_url, **overrides)


def preflight_error(clients: AwsClients) -> str:
    """The account guard's one-line message, checked to leak no credential."""
    with pytest.raises(PreflightError) as caught:
        verify_account(clients)
    message = str(caught.value)
    assert "\n" not in message
    assert not [secret for secret in SECRETS if secret in message]
    return message


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- time budget


def test_clients_use_standard_retries(fresh_moto: str) -> None:
    """Throttling and transient errors are retried the standard way, with derived timeouts."""
    clients = AwsClients(environment(fresh_moto, timeout=40.0))
    config = clients.client("s3").meta.config
    assert config.retries["mode"] == "standard"
    assert (config.connect_timeout, config.read_timeout) == (
        clients.timeouts.connect,
        clients.timeouts.read,
    )


def attempts_made(client: Any, call: str, **kwargs: Any) -> int:
    """How many HTTP attempts ``call`` makes when every one gets a 503."""
    sent: list[str] = []

    def unavailable(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        raw = type("Raw", (), {"stream": lambda self, **_: iter([b""])})()
        return AWSResponse(request.url, 503, HTTPHeaders(), raw)

    client.meta.events.register("before-send", unavailable)
    try:
        with pytest.raises(ClientError):
            getattr(client, call)(**kwargs)
    finally:
        client.meta.events.unregister("before-send", unavailable)
    return len(sent)


def test_a_call_makes_at_most_two_attempts(fresh_moto: str) -> None:
    """ATTEMPTS_PER_CALL is what botocore really does, so worst_case() is a real bound."""
    clients = AwsClients(environment(fresh_moto))
    attempts = attempts_made(clients.client("sts"), "get_caller_identity")
    assert attempts == clients.timeouts.max_attempts


def test_provisioning_calls_are_patient_and_sent_once(fresh_moto: str) -> None:
    """The embedded account's setup waits a minute for moto, whatever the check budget, and
    never resends a create (a second try could only fail as "already exists")."""
    clients = AwsClients(environment(fresh_moto, timeout=5.0), profile="provisioning")
    assert clients.client("stepfunctions").meta.config.read_timeout >= 60
    assert attempts_made(clients.client("sts"), "get_caller_identity") == 1


def test_admin_calls_do_not_inherit_a_tight_check_budget(fresh_moto: str) -> None:
    """Readiness, state and CLI operations keep their timeouts when checks get 5 s."""
    tight = AwsClients(environment(fresh_moto, timeout=5.0), profile="admin")
    loose = AwsClients(environment(fresh_moto, timeout=300.0), profile="admin")
    assert tight.timeouts == loose.timeouts
    assert tight.client("s3").meta.config.read_timeout >= 30
    checks = AwsClients(environment(fresh_moto, timeout=5.0))
    sent = attempts_made(tight.client("sts"), "get_caller_identity")
    assert sent > attempts_made(checks.client("sts"), "get_caller_identity")


def test_a_lambda_invocation_is_sent_once(fresh_moto: str) -> None:
    """An invocation is not idempotent: a 5xx must not make the function run again."""
    invoker = AwsClients(environment(fresh_moto)).invoker()
    assert attempts_made(invoker, "invoke", FunctionName="ohpen-read-run-summary") == 1


def test_invoker_is_a_separate_single_attempt_lambda_client(fresh_moto: str) -> None:
    """Invocations get their own client, configured for one attempt and a long read."""
    clients = AwsClients(environment(fresh_moto, timeout=40.0))
    invoker = clients.invoker()
    assert invoker is clients.invoker()
    assert invoker is not clients.client("lambda")
    assert invoker.meta.service_model.service_name == "lambda"
    assert invoker.meta.config.read_timeout == pytest.approx(32.0)
    assert (
        invoker.meta.config.retries["total_max_attempts"]
        < clients.client("lambda").meta.config.retries["total_max_attempts"]
    )


def test_one_client_per_service_is_shared(fresh_moto: str) -> None:
    """Every check of a run reuses the same client (and its connection pool)."""
    clients = AwsClients(environment(fresh_moto))
    assert clients.client("s3") is clients.client("s3")
    assert clients.client("s3") is not clients.client("glue")
    assert clients.client("s3").meta.endpoint_url == fresh_moto


# ---------------------------------------------------------------- the account guard


def test_guard_passes_for_the_environments_account_and_returns_the_caller(fresh_moto: str) -> None:
    """Credentials for the right account: the run goes on, and reports who it runs as."""
    arn = verify_account(AwsClients(environment(fresh_moto)))
    assert arn.startswith("arn:aws:") and ":123456789012:" in arn


def test_guard_refuses_credentials_of_another_account(fresh_moto: str) -> None:
    """Prod's account id with staging's keys: nothing is checked, both ids are named."""
    message = preflight_error(AwsClients(environment(fresh_moto, account_id="111111111111")))
    assert "environment 'prod' is account 111111111111" in message
    assert "belong to account 123456789012" in message
    assert str(SOURCE) in message and "no check was run" in message


def test_no_credentials_at_all(fresh_moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys anywhere: say so and list the ways to provide them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    message = preflight_error(AwsClients(environment(fresh_moto)))
    assert message.startswith("no AWS credentials found for environment 'prod'")
    assert "AWS_PROFILE" in message and "aws sso login" in message


def test_incomplete_credentials(fresh_moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key id without its secret is named as incomplete, without echoing the key id."""
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert preflight_error(AwsClients(environment(fresh_moto))).startswith(
        "incomplete AWS credentials for environment 'prod'"
    )


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", "closed port"])
def test_unreachable_endpoint_fails_fast(endpoint: str) -> None:
    """A wrong endpoint_url or a dead network is reported in seconds, naming the address."""
    url = f"http://127.0.0.1:{closed_port()}" if endpoint == "closed port" else endpoint
    started = time.monotonic()
    message = preflight_error(AwsClients(environment(url)))
    assert time.monotonic() - started < 5
    assert message.startswith(f"cannot reach {url} for environment 'prod'")


def test_unknown_profile_names_the_profile_key(fresh_moto: str) -> None:
    """A profile missing from the AWS config points at the file's profile key."""
    message = preflight_error(AwsClients(environment(fresh_moto, profile="ohpen-nope")))
    assert f"{SOURCE}: [prod] profile:" in message
    assert "'ohpen-nope'" in message and "aws configure --profile ohpen-nope" in message


def test_unknown_profile_message_is_not_wrapped(fresh_moto: str) -> None:
    """The user sees the profile message itself, not an internal exception class name."""
    message = preflight_error(AwsClients(environment(fresh_moto, profile="ohpen-nope")))
    assert message.startswith(f"{SOURCE}: [prod] profile:")
