"""``pytest suites/post_rollback`` end to end on the embedded account: green as provisioned,
and each injected fault fails exactly the check that exists for it, with its message.

Emulated runs go through ``runpytest_subprocess`` (each starts its own embedded account).
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import REPO, environments_toml, local_env

SUITE = REPO / "suites" / "post_rollback"
ROLES = [
    "ohpen-transaction-etl-spark-role",
    "ohpen-etl-orchestration-role",
    "ohpen-read-run-summary-role",
]
ALARMS = ["ohpen-etl-glue-job-failed", "ohpen-etl-pipeline-failed", "ohpen-read-run-summary-errors"]


@pytest.fixture
def post_rollback(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding the real post-rollback suite and an emulated environment."""
    for path in SUITE.glob("test_*.py"):
        shutil.copy(path, pytester.path / path.name)
    write_env(pytester)
    return pytester


def write_env(pytester: pytest.Pytester, **overrides: object) -> None:
    terraform = {
        "state_bucket": "ohpen-terraform-state",
        "state_key": "ohpen-data-lake/terraform.tfstate",
    }
    env = local_env(retry_delay=0, pipeline_timeout=60, terraform=terraform, **overrides)
    resources = dict(env["resources"])  # type: ignore[call-overload]
    resources.update(failure_topic="ohpen-etl-failures", alarms=ALARMS, roles=ROLES)
    env["resources"] = resources
    text = environments_toml({"local": env})
    text += "[local.security]\ntls_policy = false\n"
    pytester.path.joinpath("environments.toml").write_text(text)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--env", "local", "--rollback", "off", "-p", "no:cacheprovider", "-rfs", *args
    )


def failed_ids(result: pytest.RunResult) -> list[str]:
    return sorted(re.findall(r"^FAILED \S+::(\S+)", result.stdout.str(), re.MULTILINE))


def test_the_provisioned_stack_passes(post_rollback: pytest.Pytester) -> None:
    result = run(post_rollback, "--target-state-version", "previous", "-v")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    passed = {  # one of each kind of check, as reported in verbose mode
        "test_configuration.py::test_glue_job_matches_target[ohpen-transaction-etl-spark]",
        "test_monitoring.py::test_failure_topic_subscribed",
        "test_pipeline.py::test_pipeline_runs_end_to_end[ohpen-etl-orchestration]",
        "test_smoke_checks.py::test_role_least_privilege[ohpen-etl-orchestration-role]",
        "test_smoke_checks.py::test_bucket_accessible[ohpen-silver]",
    }
    lines = result.stdout.lines
    assert all(any(line.startswith(f"{test} PASSED") for line in lines) for test in passed)


FAULTS = {
    "failing-pipeline": (
        ["test_pipeline_runs_end_to_end[ohpen-etl-orchestration]"],
        "state machine ohpen-etl-orchestration: execution rollback-verification-* FAILED at "
        "state ValidateOutput: error PipelineFailed: cause injected by --emulator-fault "
        "failing-pipeline*",
    ),
    "alarm-actions-disabled": (
        ["test_alarm_operational[ohpen-etl-glue-job-failed]"],
        "alarm ohpen-etl-glue-job-failed: actions disabled in account 123456789012 eu-west-1",
    ),
    "public-bucket": (
        ["test_bucket_blocks_public_access[ohpen-bronze]"],
        "bucket ohpen-bronze: no public access block*",
    ),
    "wildcard-policy": (
        ["test_role_least_privilege[ohpen-transaction-etl-spark-role]"],
        "IAM role ohpen-transaction-etl-spark-role: policy injected-admin allows every action on "
        "every resource*",
    ),
    "drifted-glue-job": (
        ["test_glue_job_matches_target[ohpen-transaction-etl-spark]"],
        "Glue job ohpen-transaction-etl-spark: differs from target state version * (serial 1, "
        "previous version): number_of_workers: live 10, target 2*",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_fails_its_check(post_rollback: pytest.Pytester, fault: str) -> None:
    """Without a target the configuration tests skip, so the definition change of
    failing-pipeline shows only in the pipeline; drifted-glue-job needs the target."""
    expected, message = FAULTS[fault]
    target = ["--target-state-version", "previous"] if fault == "drifted-glue-job" else []
    result = run(post_rollback, "--emulator-fault", fault, *target)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == expected
    result.stdout.fnmatch_lines([message])


def test_without_a_target_the_configuration_tests_skip_with_the_reason(
    post_rollback: pytest.Pytester,
) -> None:
    result = run(post_rollback)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["SKIPPED * no known target state version: pass --target-state-version*"]
    )


def test_an_unknown_target_version_fails_the_configuration_tests(
    post_rollback: pytest.Pytester,
) -> None:
    missing = "aab69398-b3f9-4508-9a48-000000000000"  # well-formed: not a usage error
    result = run(post_rollback, "--target-state-version", missing, "-k", "matches_target")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"--target-state-version {missing}: *ohpen state versions*"])


def test_e2e_false_starts_nothing(post_rollback: pytest.Pytester) -> None:
    write_env(post_rollback, e2e=False)
    result = run(post_rollback, "-k", "pipeline")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["SKIPPED * e2e = false for environment 'local'*"])
