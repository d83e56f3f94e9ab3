"""``operator_identity``: who acted, as written into incidents and readiness records."""

from __future__ import annotations

import json

import pytest

from pytest_ohpen.records.identity import CI_VARIABLES, operator_identity

CALLER = "arn:aws:sts::123456789012:assumed-role/deploy/ci"


@pytest.fixture(autouse=True)
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the CI this suite itself may run in."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_aws_caller_and_the_ci_variables_that_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "jane")
    monkeypatch.setenv("GITHUB_RUN_ID", "4711")
    monkeypatch.setenv("GITHUB_SHA", "")  # empty: not recorded

    assert operator_identity(CALLER) == {
        "aws_caller": CALLER,
        "GITHUB_ACTOR": "jane",
        "GITHUB_RUN_ID": "4711",
    }


def test_an_unknown_caller_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "ops")
    assert operator_identity(None) == {"aws_caller": "unknown", "USER": "ops"}


def test_credentials_in_the_environment_are_never_part_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """conftest sets fake AWS keys; a session token is added too."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "fake-session-token-ohpen")
    text = json.dumps(operator_identity(CALLER))

    for secret in ("AKIAFAKEOHPENTEST0001", "fake-secret-ohpen-test-do-not-leak", "fake-session"):
        assert secret not in text
