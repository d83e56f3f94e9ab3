"""The rules behind inconclusive checks and the run-wide deadline, without AWS:

- an AWS error that says nothing about the resource (5xx, throttling, no answer) makes a
  check inconclusive; one that does (NoSuchBucket, AccessDenied) still fails it;
- while any check is inconclusive the verdict is neither READY nor NOT_NEEDED;
- the deadline bounds what is left, the settle wait never goes past it, and the
  environments file's ``deadline`` key defaults to the playbook's two minutes.
"""

from __future__ import annotations

from pathlib import Path

import botocore.exceptions as bex
import pytest

from pytest_ohpen.checks.base import CheckFailed, CheckInconclusive, Where, probing
from pytest_ohpen.config.environments import load_environment
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.plugin.retries import SettleWindow
from pytest_ohpen.readiness.decide import BLOCKED, NOT_NEEDED, READY, decide
from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts
from pytest_ohpen.util.deadline import Deadline

WHERE = Where("123456789012", "eu-west-1")
NOT_FOUND = frozenset({"NoSuchBucket", "ResourceNotFoundException"})


def _client_error(code: str, status: int) -> bex.ClientError:
    response = {
        "Error": {"Code": code, "Message": ""},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bex.ClientError(response, "HeadBucket")  # type: ignore[arg-type]


def _raised(error: Exception) -> AssertionError:
    with pytest.raises(AssertionError) as caught, probing("bucket", "b", WHERE, NOT_FOUND):
        raise error
    return caught.value


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("503", 503),
        ("InternalError", 500),
        ("Throttling", 400),
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("RequestLimitExceeded", 503),
        ("SlowDown", 503),
    ],
)
def test_an_error_that_says_nothing_about_the_resource_is_inconclusive(
    code: str, status: int
) -> None:
    raised = _raised(_client_error(code, status))
    assert isinstance(raised, CheckInconclusive)
    assert not isinstance(raised, CheckFailed)
    assert str(raised).startswith("bucket b: could not be checked: ")


@pytest.mark.parametrize(
    "error",
    [
        bex.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"),
        bex.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        bex.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
        bex.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_no_answer_at_all_is_inconclusive(error: Exception) -> None:
    raised = _raised(error)
    assert isinstance(raised, CheckInconclusive)
    assert f"could not be checked: {type(error).__name__}" in str(raised)


@pytest.mark.parametrize(
    ("code", "status", "wording"),
    [
        ("NoSuchBucket", 404, "not found (NoSuchBucket)"),
        ("ResourceNotFoundException", 404, "not found (ResourceNotFoundException)"),
        ("AccessDenied", 403, "access denied (AccessDenied)"),
    ],
)
def test_an_error_that_says_something_real_still_fails(
    code: str, status: int, wording: str
) -> None:
    raised = _raised(_client_error(code, status))
    assert type(raised) is CheckFailed
    assert str(raised).startswith(f"bucket b: {wording}")


UNCHECKED = FailedCheck("t.py::test_bucket_accessible[b]", "bucket b: could not be checked: x")
FAILED = FailedCheck("t.py::test_lambda_active[f]", "Lambda f: not found", "f", "lambdas")


def _facts(**changes: object) -> ReadinessFacts:
    facts = ReadinessFacts("prod", "123456789012", "eu-west-1", checks_ran=True)
    facts.terraform_configured = False  # its blocker is filtered out below
    for name, value in changes.items():
        setattr(facts, name, value)
    return facts


def _check_codes(facts: ReadinessFacts) -> tuple[str, list[str]]:
    verdict = decide(facts)
    return verdict.verdict, [b.code for b in verdict.blockers if b.code != "no_terraform_config"]


def test_an_inconclusive_check_blocks_a_rollback_a_failure_alone_would_allow() -> None:
    facts = _facts(failed_checks=[FAILED], inconclusive_checks=[UNCHECKED])
    facts.terraform_configured = True
    verdict = decide(facts)
    assert decide(_facts(failed_checks=[FAILED], terraform_configured=True)).verdict == READY
    assert verdict.verdict == BLOCKED
    assert [b.code for b in verdict.blockers] == ["inconclusive_checks"]
    assert "test_bucket_accessible[b]" in verdict.blockers[0].message


def test_a_run_with_only_inconclusive_checks_is_not_proven_healthy() -> None:
    assert _check_codes(_facts())[0] == NOT_NEEDED
    verdict, codes = _check_codes(_facts(inconclusive_checks=[UNCHECKED]))
    assert (verdict, codes) == (BLOCKED, ["inconclusive_checks"])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_deadline_bounds_what_is_left_once_started() -> None:
    clock = Clock()
    deadline = Deadline(15, clock=clock)
    assert (deadline.remaining(), deadline.expired) == (15, False)
    clock.now += 50  # not started: nothing runs out
    assert deadline.remaining() == 15
    deadline.start()
    clock.now += 10
    assert deadline.bound(40) == 5
    assert deadline.bound(2) == 2
    deadline.extend(20)  # a long-running check's own budget is given back
    assert deadline.remaining() == 25
    clock.now += 30
    assert (deadline.remaining(), deadline.expired) == (0, True)
    assert deadline.ran_out() == "the run's deadline of 15 s ran out"


def test_the_settle_wait_never_goes_past_the_deadline() -> None:
    clock = Clock()
    slept: list[float] = []
    deadline = Deadline(15, clock=clock).start()
    clock.now += 11
    window = SettleWindow(30, clock=clock, sleep=slept.append, remaining=deadline.remaining)
    assert window.wait_before_retry(0) == 4
    assert slept == [4]


def _env_file(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "environments.toml"
    path.write_text(f'[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n{line}\n')
    return path


def test_the_deadline_key_defaults_to_the_playbooks_two_minutes(tmp_path: Path) -> None:
    assert load_environment(_env_file(tmp_path, ""), "prod", "--env prod").deadline == 120
    assert (
        load_environment(_env_file(tmp_path, "deadline = 15"), "prod", "--env prod").deadline == 15
    )


@pytest.mark.parametrize("value", ["5", "1e9", "nan", '"soon"'])
def test_a_deadline_out_of_range_is_one_line_naming_the_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environment(_env_file(tmp_path, f"deadline = {value}"), "prod", "--env prod")
    message = str(caught.value)
    assert "\n" not in message
    assert "[prod] deadline" in message and "from 10 to 3600" in message
