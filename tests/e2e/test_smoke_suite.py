"""The smoke suite end to end, as CD runs it: exit codes, test ids, failure messages,
the retry, the per-attempt timeout, xdist and the account guard.

Emulated runs always go through ``runpytest_subprocess``: each starts its own
embedded account in its own process.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from conftest import SIX_RESOURCES, environments_toml, local_env

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import Environment, Resources
from pytest_ohpen.emulator.provision import provision
from pytest_ohpen.emulator.stack import Stack

ALL_IDS = [
    "test_bucket_accessible[ohpen-bronze]",
    "test_bucket_accessible[ohpen-silver]",
    "test_bucket_accessible[ohpen-artifacts]",
    "test_glue_job_exists[ohpen-transaction-etl-spark]",
    "test_state_machine_active[ohpen-etl-orchestration]",
    "test_lambda_active[ohpen-read-run-summary]",
]
OMIT_FAILS = {
    "ohpen-bronze": ["test_bucket_accessible[ohpen-bronze]"],
    "ohpen-silver": ["test_bucket_accessible[ohpen-silver]"],
    "ohpen-artifacts": ["test_bucket_accessible[ohpen-artifacts]"],
    "ohpen-transaction-etl-spark": ["test_glue_job_exists[ohpen-transaction-etl-spark]"],
    "ohpen-etl-orchestration": ["test_state_machine_active[ohpen-etl-orchestration]"],
    "ohpen-read-run-summary": ["test_lambda_active[ohpen-read-run-summary]"],
}


def _failed_ids(result: pytest.RunResult) -> list[str]:
    return sorted(re.findall(r"^FAILED \S+::(\S+)", result.stdout.str(), re.MULTILINE))


def _assert_counts(result: pytest.RunResult, **expected: int) -> None:
    """The summary line's counts, reruns included (assert_outcomes does not know reruns)."""
    assert result.parseoutcomes() == expected, result.stdout.str()


def _write_env(pytester: pytest.Pytester, **overrides: object) -> None:
    pytester.path.joinpath("environments.toml").write_text(
        environments_toml({"local": local_env(**overrides)})
    )


def test_green_run_on_the_embedded_account(suite_dir: pytest.Pytester) -> None:
    _write_env(suite_dir)
    result = suite_dir.runpytest_subprocess("--env", "local", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, skipped=1)
    assert result.ret == 0
    result.stdout.re_match_lines_random(
        [re.escape(f"test_smoke.py::{test_id} PASSED") for test_id in ALL_IDS]
    )
    result.stdout.fnmatch_lines(
        [
            "ohpen: environment local: account 123456789012 verified *, eu-west-1, "
            "embedded account at http://127.0.0.1:*",
        ]
    )


@pytest.mark.parametrize("omitted", list(OMIT_FAILS))
def test_each_missing_resource_fails_exactly_its_check(
    suite_dir: pytest.Pytester, omitted: str
) -> None:
    _write_env(suite_dir, retry_delay=0)
    result = suite_dir.runpytest_subprocess(
        "--env", "local", "--emulator-omit", omitted, "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _failed_ids(result) == OMIT_FAILS[omitted]
    _assert_counts(result, passed=5, failed=1, skipped=1, rerun=1)
    result.stdout.fnmatch_lines([f"*{omitted}: not found (*) in account 123456789012 eu-west-1"])


def test_invoke_lambda_adds_the_invocation_check(
    suite_dir: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_env(suite_dir)
    monkeypatch.setenv("SMOKE_INVOKE_LAMBDA", "1")
    result = suite_dir.runpytest_subprocess("--env", "local", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)
    result.stdout.re_match_lines(
        [re.escape("test_smoke.py::test_lambda_invocable[ohpen-read-run-summary] PASSED")]
    )


ATTEMPT_LOG = """
import json, time

def pytest_runtest_logreport(report):
    if report.when == "call":
        with open("attempts.jsonl", "a") as log:
            log.write(json.dumps({"id": report.nodeid.split("::")[-1], "outcome": report.outcome,
                                  "start": report.start, "stop": report.stop}) + "\\n")
"""


def _attempts(pytester: pytest.Pytester) -> list[dict[str, object]]:
    lines = pytester.path.joinpath("attempts.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("dist", [(), ("--dist", "load")], ids=["plain", "--dist load without -n"])
def test_a_failing_check_is_retried_once_after_the_delay(
    suite_dir: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    """`--dist load` alone starts no xdist workers: the run is one process, settle included."""
    _write_env(suite_dir, retry_delay=1.5)
    suite_dir.makeconftest(ATTEMPT_LOG)
    result = suite_dir.runpytest_subprocess(
        "--env", "local", "--emulator-omit", "ohpen-silver", "-p", "no:cacheprovider", *dist
    )
    _assert_counts(result, passed=5, failed=1, skipped=1, rerun=1)
    silver = [a for a in _attempts(suite_dir) if a["id"] == "test_bucket_accessible[ohpen-silver]"]
    assert [a["outcome"] for a in silver] == ["rerun", "failed"]
    gap = float(silver[1]["start"]) - float(silver[0]["stop"])  # type: ignore[arg-type]
    assert 1.5 <= gap < 1.5 + 1.0, gap
    passed = [a for a in _attempts(suite_dir) if a["outcome"] == "passed"]
    assert len(passed) == 5, "a passing check is never retried"


def test_the_settle_window_is_shared_by_all_failing_checks(suite_dir: pytest.Pytester) -> None:
    """Six failures cost one delay, not six (the playbook's two-minute budget)."""
    _write_env(suite_dir, retry_delay=3)
    suite_dir.makeconftest(ATTEMPT_LOG)
    omit = [arg for name in OMIT_FAILS for arg in ("--emulator-omit", name)]
    result = suite_dir.runpytest_subprocess("--env", "local", *omit, "-p", "no:cacheprovider")
    _assert_counts(result, failed=6, skipped=1, rerun=6)
    assert _failed_ids(result) == sorted(ALL_IDS)
    attempts = _attempts(suite_dir)
    first_failure = min(float(a["stop"]) for a in attempts)  # type: ignore[arg-type]
    retries = [float(a["start"]) for a in attempts if a["outcome"] == "failed"]  # type: ignore[arg-type]
    assert len(retries) == 6
    assert all(start >= first_failure + 3 for start in retries), "every retry waits the window"
    # Once per check would be six windows (18 s); allow slack for a loaded machine.
    assert max(retries) - first_failure < 3 * 3, "the window is waited once, not once per check"


def test_command_line_reruns_win_over_the_environment(suite_dir: pytest.Pytester) -> None:
    _write_env(suite_dir, retries=1, retry_delay=30)
    result = suite_dir.runpytest_subprocess(
        "--env",
        "local",
        "--emulator-omit",
        "ohpen-silver",
        "--reruns",
        "2",
        "--reruns-delay",
        "0",
        "-p",
        "no:cacheprovider",
    )
    _assert_counts(result, passed=5, failed=1, skipped=1, rerun=2)


def test_retries_zero_means_no_retry(suite_dir: pytest.Pytester) -> None:
    _write_env(suite_dir, retries=0)
    result = suite_dir.runpytest_subprocess(
        "--env", "local", "--emulator-omit", "ohpen-silver", "-p", "no:cacheprovider"
    )
    _assert_counts(result, passed=5, failed=1, skipped=1)


def test_each_attempt_is_bounded_by_the_timeout(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_slow="""
        import time

        def test_hangs(ohpen_bucket, ohpen_aws):
            time.sleep(30)
    """
    )
    env = local_env(timeout=1, retry_delay=0, resources={"buckets": ["ohpen-bronze"]})
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))
    started = time.monotonic()
    result = pytester.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider")
    elapsed = time.monotonic() - started
    _assert_counts(result, failed=1, rerun=1)
    result.stdout.fnmatch_lines(["*Timeout (>1.0s) from pytest-timeout*"])
    assert elapsed < 25, "the retry must be timed out too, not only the first attempt"


def test_xdist_workers_share_one_embedded_account(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_where="""
        import json, os

        def test_record(ohpen_bucket, ohpen_aws):
            s3 = ohpen_aws.client("s3")
            s3.put_object(Bucket=ohpen_bucket, Key=f"seen-by-{os.environ['PYTEST_XDIST_WORKER']}",
                          Body=b"x")
            with open(f"{ohpen_bucket}.json", "w") as out:
                json.dump({"endpoint": ohpen_aws.endpoint_url, "pid": os.getpid()}, out)

        def test_all_workers_wrote_to_the_same_account(ohpen_aws):
            pass
    """
    )
    buckets = [f"ohpen-bucket-{i}" for i in range(6)]
    env = local_env(resources={"buckets": buckets})
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))
    result = pytester.runpytest_subprocess("--env", "local", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)
    seen = [json.loads(pytester.path.joinpath(f"{b}.json").read_text()) for b in buckets]
    assert len({s["pid"] for s in seen}) == 2, "both workers ran checks"
    assert len({s["endpoint"] for s in seen}) == 1, "one embedded account for all workers"


def _external_env(url: str, account_id: str = "123456789012") -> dict[str, object]:
    return {
        "account_id": account_id,
        "region": "eu-west-1",
        "endpoint_url": url,
        "retry_delay": 0,
        "timeout": 10,
        "resources": dict(SIX_RESOURCES),
    }


def _provision_external(url: str, omit: tuple[str, ...] = ()) -> None:
    resources = Resources(**{k: tuple(v) for k, v in SIX_RESOURCES.items()})
    env = Environment(
        name="ext",
        source=Path("x"),
        account_id="123456789012",
        region="eu-west-1",
        endpoint_url=url,
        resources=resources,
    )
    provision(AwsClients(env), Stack.for_environment(env).without(omit))


def test_independently_provisioned_emulator(suite_dir: pytest.Pytester, fresh_moto: str) -> None:
    _provision_external(fresh_moto, omit=("ohpen-transaction-etl-spark",))
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"ext": _external_env(fresh_moto)})
    )
    result = suite_dir.runpytest_subprocess("--env", "ext", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _failed_ids(result) == ["test_glue_job_exists[ohpen-transaction-etl-spark]"]


def test_account_guard_stops_the_run_before_any_check(
    suite_dir: pytest.Pytester, fresh_moto: str
) -> None:
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"prod": _external_env(fresh_moto, account_id="111111111111")})
    )
    result = suite_dir.runpytest_subprocess("--env", "prod", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ohpen: account guard: environment 'prod' is account 111111111111 (*), but the "
            "credentials in use belong to account 123456789012; no check was run*"
        ]
    )
    assert "PASSED" not in result.stdout.str() and "Traceback" not in result.stderr.str()
    result.assert_outcomes()


def test_account_guard_runs_once_on_the_xdist_controller(
    suite_dir: pytest.Pytester, fresh_moto: str
) -> None:
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"prod": _external_env(fresh_moto, account_id="111111111111")})
    )
    result = suite_dir.runpytest_subprocess("--env", "prod", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ohpen: account guard: *"])


def test_missing_credentials_is_one_clear_error(
    suite_dir: pytest.Pytester, fresh_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"prod": _external_env(fresh_moto)})
    )
    result = suite_dir.runpytest_subprocess("--env", "prod", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ohpen: no AWS credentials found for environment 'prod'*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unreachable_endpoint_is_one_clear_error(suite_dir: pytest.Pytester) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"prod": _external_env(f"http://127.0.0.1:{port}")})
    )
    result = suite_dir.runpytest_subprocess("--env", "prod", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: ohpen: cannot reach http://127.0.0.1:{port} for "
            "environment 'prod' (EndpointConnectionError)*"
        ]
    )


def test_emulator_omit_needs_an_emulated_environment(
    suite_dir: pytest.Pytester, fresh_moto: str
) -> None:
    suite_dir.path.joinpath("environments.toml").write_text(
        environments_toml({"prod": _external_env(fresh_moto)})
    )
    result = suite_dir.runpytest_subprocess(
        "--env", "prod", "--emulator-omit", "ohpen-silver", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ohpen: --emulator-omit: environment 'prod' is not emulated*"]
    )


def test_unknown_emulator_omit_lists_valid_names(suite_dir: pytest.Pytester) -> None:
    _write_env(suite_dir)
    result = suite_dir.runpytest_subprocess("--env", "local", "--emulator-omit", "ohpen-gold")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ohpen: --emulator-omit 'ohpen-gold': no such resource "
            "in the embedded account; valid: ohpen-bronze, ohpen-silver*"
        ]
    )


def test_a_cache_folder_that_is_a_file_is_one_clear_error(
    suite_dir: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded account keeps its provider and recorded applies in the cache folder."""
    _write_env(suite_dir)
    not_a_folder = suite_dir.path / "environments.toml"
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(not_a_folder))
    result = suite_dir.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: ohpen: OHPEN_CACHE_DIR='{not_a_folder}': it is not a folder; "
            "set OHPEN_CACHE_DIR to a folder you can write"
        ]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
