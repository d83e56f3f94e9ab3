"""DEBUG logging of a checking run leaks no credential into anything the run shows or writes.

botocore logs at DEBUG the credentials it resolves and every signed request's headers
(``Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../...``, ``X-Amz-Security-Token``).
CD jobs turn DEBUG on to diagnose a red deployment, and their logs, ``--log-file`` and
Allure results are kept and shared: a key in any of them must be rotated.
"""

from __future__ import annotations

import pytest
from conftest import environments_toml, moto_clients

FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"
"""The caller's fake AWS credentials (tests/conftest.py sets them in the environment)."""
FAKE_SESSION_TOKEN = "FwoGZXIvYXdzEOhpenFakeSessionTokenDoNotLeak0123456789"
LEAKS = (FAKE_KEY_ID, FAKE_SECRET, FAKE_SESSION_TOKEN)
URL_PASSWORD = "pw-in-a-url-do-not-leak"
BUCKETS = ["ohpen-bronze", "ohpen-silver", "ohpen-artifacts"]
MISSING = "ohpen-silver"


def _provision(url: str) -> None:
    """The buckets but the missing one, so one check fails and its logs are attached (no
    Lambda: moto cannot recreate a function of the same name after a reset)."""
    s3 = moto_clients(url).client("s3")
    for bucket in BUCKETS:
        if bucket != MISSING:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )


def _leaks_in(text: str) -> list[str]:
    return [secret for secret in LEAKS if secret in text]


def test_debug_logging_leaks_no_credential_anywhere(
    suite_dir: pytest.Pytester, fresh_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _provision(fresh_moto)
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_SESSION_TOKEN)
    env = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": fresh_moto,
        "retries": 0,
        "timeout": 10,
        "resources": {"buckets": BUCKETS},
    }
    suite_dir.path.joinpath("environments.toml").write_text(environments_toml({"ext": env}))

    result = suite_dir.runpytest_subprocess(
        "--env",
        "ext",
        "-p",
        "no:cacheprovider",
        "--log-level=DEBUG",
        "-o",
        "log_cli=true",
        "--log-file=debug.log",
        "--log-file-level=DEBUG",
        "--alluredir=allure-results",
        "--junitxml=junit.xml",
        "-rA",
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    shown = result.stdout.str() + result.stderr.str()
    assert "Authorization" in shown, "botocore's DEBUG request logging reached the terminal"
    assert _leaks_in(shown) == []
    written = sorted(p for p in suite_dir.path.rglob("*") if p.is_file())
    attachments = [p for p in written if p.name.endswith("-attachment.txt")]
    assert attachments, "the failing check's captured log is attached to its Allure result"
    assert suite_dir.path.joinpath("debug.log").stat().st_size > 0
    leaked = {
        str(path.relative_to(suite_dir.path)): found
        for path in written
        if (found := _leaks_in(path.read_bytes().decode("utf-8", errors="replace")))
    }
    assert leaked == {}


CHECK_THAT_LEAKS = """
import logging
import os


def test_prints_logs_and_raises_the_session_token(ohpen_bucket):
    token = os.environ["AWS_SESSION_TOKEN"]
    print("stdout", token)
    os.write(2, f"stderr {token}".encode())
    logging.getLogger("a.check").warning("logged %s", token)
    try:
        raise KeyError(token)
    except KeyError:
        logging.getLogger("a.check").exception("with traceback")
    url = f"http://user:{os.environ['URL_PART']}@127.0.0.1:1"
    raise AssertionError(f"failed with {token} and {url}")
"""


def test_captured_output_and_failure_text_leak_no_credential(
    pytester: pytest.Pytester, fresh_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a check prints, logs or fails with is shown and attached redacted."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_SESSION_TOKEN)
    monkeypatch.setenv("URL_PART", URL_PASSWORD)  # a name redaction does not know
    pytester.makepyfile(test_leaky=CHECK_THAT_LEAKS)
    env = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": fresh_moto,
        "retries": 0,
        "resources": {"buckets": ["ohpen-bronze"]},
    }
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"ext": env}))

    result = pytester.runpytest_subprocess(
        "--env",
        "ext",
        "-p",
        "no:cacheprovider",
        "--alluredir=allure-results",
        "--junitxml=junit.xml",
        "-rA",
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    shown = result.stdout.str() + result.stderr.str()
    assert "Captured stdout call" in shown and "failed with" in shown
    leaks = (*LEAKS, URL_PASSWORD)
    assert [secret for secret in leaks if secret in shown] == []
    for path in sorted(p for p in pytester.path.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert [secret for secret in leaks if secret in text] == [], path.name
