"""``--notify``: a failed run publishes a short summary to the environment's failure topic.

Read back through the queue the embedded account subscribes to the topic, from a
conftest hook that runs after the notification (the account lives only during the run).
"""

from __future__ import annotations

import json

import pytest
from conftest import environments_toml, local_env

READ_QUEUE_CONFTEST = """
import json, os

import boto3


def pytest_ohpen_readiness_report(report, env):
    endpoint = "http://127.0.0.1:" + os.environ["MOTO_PORT"]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="eu-west-1",
                       aws_access_key_id="x", aws_secret_access_key="y")
    url = sqs.get_queue_url(QueueName="ohpen-etl-failures-oncall")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in got.get("Messages", [])]
    with open("notifications.json", "w") as out:
        json.dump(bodies, out)
"""


@pytest.fixture
def notified(suite_dir: pytest.Pytester) -> pytest.Pytester:
    """The smoke suite on the embedded account, its failure topic named, no rollback command."""
    env = local_env(retry_delay=0)
    env["resources"] = {**env["resources"], "failure_topic": "ohpen-etl-failures"}  # type: ignore[dict-item]
    suite_dir.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))
    suite_dir.makeconftest(READ_QUEUE_CONFTEST)
    return suite_dir


def _notifications(pytester: pytest.Pytester) -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads(
        pytester.path.joinpath("notifications.json").read_text()
    )
    return data


def test_a_failed_run_publishes_its_summary(notified: pytest.Pytester) -> None:
    result = notified.runpytest_subprocess(
        "--env", "local", "--emulator-omit", "ohpen-silver", "--notify", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    verdict = json.loads(notified.path.joinpath("reports", "readiness-local.json").read_text())[
        "verdict"
    ]  # BLOCKED here: the pytester folder is no git checkout
    [message] = _notifications(notified)
    assert message["Subject"] == f"pytest-ohpen local: checks failed, rollback {verdict}"
    assert message["Message"].splitlines()[0] == f"verdict: {verdict} (local)"
    assert "readiness-local.json" in message["Message"]
    result.stdout.fnmatch_lines(
        ["ohpen: summary published to arn:aws:sns:eu-west-1:123456789012:ohpen-etl-failures"]
    )


def test_a_green_run_publishes_nothing(notified: pytest.Pytester) -> None:
    result = notified.runpytest_subprocess("--env", "local", "--notify", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert _notifications(notified) == []


def test_without_notify_nothing_is_published(notified: pytest.Pytester) -> None:
    result = notified.runpytest_subprocess(
        "--env", "local", "--emulator-omit", "ohpen-silver", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _notifications(notified) == []
