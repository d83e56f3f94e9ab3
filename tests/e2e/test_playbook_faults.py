"""The playbook's "When Rollback Is Needed", failure by failure, on the embedded account:
``pytest suites/smoke`` + ``suites/bake`` are green as provisioned, and each of issue 13's
``--emulator-fault``s fails exactly the one check that exists for it, with its message.

Emulated runs go through ``runpytest_subprocess`` (each starts its own embedded account).
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import REPO, environments_toml, local_env

SUITES = (REPO / "suites" / "smoke" / "test_smoke.py", REPO / "suites" / "bake" / "test_bake.py")
ROLES = [
    "ohpen-transaction-etl-spark-role",
    "ohpen-etl-orchestration-role",
    "ohpen-read-run-summary-role",
]
ALARMS = ["ohpen-etl-glue-job-failed", "ohpen-etl-pipeline-failed", "ohpen-read-run-summary-errors"]
WHERE = "in account 123456789012 eu-west-1"


@pytest.fixture
def suites(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding the real smoke and bake suites and an emulated environment
    with every kind of resource the checks read."""
    for path in SUITES:
        shutil.copy(path, pytester.path / path.name)
    terraform = {
        "state_bucket": "ohpen-terraform-state",
        "state_key": "ohpen-data-lake/terraform.tfstate",
    }
    env = local_env(retry_delay=0, terraform=terraform)
    resources = dict(env["resources"])  # type: ignore[call-overload]
    resources.update(
        failure_topic="ohpen-etl-failures",
        alarms=ALARMS,
        roles=ROLES,
        tables=["silver.transactions"],
    )
    env["resources"] = resources
    text = environments_toml({"local": env})
    text += "[local.security]\ntls_policy = false\n"
    pytester.path.joinpath("environments.toml").write_text(text)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--env", "local", "--rollback", "off", "-p", "no:cacheprovider", "-rfs", *args
    )


def failed_ids(result: pytest.RunResult) -> list[str]:
    return sorted(re.findall(r"^FAILED \S+::(\S+)", result.stdout.str(), re.MULTILINE))


POOL_CLIENTS = """
import threading
from pathlib import Path

from pytest_ohpen.aws.clients import AwsClients

_make = AwsClients._make


def _recorded(self, service, timeouts):
    name = threading.current_thread().name
    if name.startswith("ohpen-prefetch"):
        with Path("made-on-pool-threads.txt").open("a") as out:
            out.write(service + "\\n")
    return _make(self, service, timeouts)


AwsClients._make = _recorded
"""
"""A conftest that notes every client made on a prefetch thread: a check whose ``@uses``
(``plugin.services``) misses a service it calls."""


def test_the_provisioned_stack_passes_smoke_and_bake(suites: pytest.Pytester) -> None:
    suites.makeconftest(POOL_CLIENTS)
    result = run(suites, "-v", "--invoke-lambda")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    made = suites.path / "made-on-pool-threads.txt"
    assert not made.exists(), f"clients made on pool threads: {made.read_text().split()}"
    passed = {  # each new check, as reported in verbose mode
        "test_smoke.py::test_glue_job_executable[ohpen-transaction-etl-spark]",
        "test_smoke.py::test_role_can_do_its_job[ohpen-transaction-etl-spark-role]",
        "test_smoke.py::test_role_can_do_its_job[ohpen-etl-orchestration-role]",
        "test_smoke.py::test_state_machine_references_exist[ohpen-etl-orchestration]",
        "test_smoke.py::test_table_schema_compatible[silver.transactions]",
        "test_smoke.py::test_lambda_no_errors_since_deploy[ohpen-read-run-summary]",
        "test_smoke.py::test_role_least_privilege[ohpen-etl-orchestration-role]",
        "test_smoke.py::test_bucket_encryption[ohpen-silver]",
        "test_bake.py::test_alarm_quiet_during_bake[ohpen-etl-pipeline-failed]",
        "test_bake.py::test_glue_job_duration[ohpen-transaction-etl-spark]",
    }
    lines = result.stdout.lines
    missing = [
        test for test in passed if not any(line.startswith(f"{test} PASSED") for line in lines)
    ]
    assert not missing, result.stdout.str()


FAULTS = {
    "glue-script-missing": (
        ["test_glue_job_executable[ohpen-transaction-etl-spark]"],
        "*Glue job ohpen-transaction-etl-spark: script "
        "s3://ohpen-artifacts/glue/ohpen-transaction-etl-spark/main.py not found*",
    ),
    "glue-role-untrusted": (
        ["test_glue_job_executable[ohpen-transaction-etl-spark]"],
        "*Glue job ohpen-transaction-etl-spark: role ohpen-transaction-etl-spark-role does not "
        "let glue.amazonaws.com assume it (it trusts lambda.amazonaws.com)*",
    ),
    "etl-permission-denied": (
        ["test_role_can_do_its_job[ohpen-transaction-etl-spark-role]"],
        "*IAM role ohpen-transaction-etl-spark-role: denied s3:PutObject on "
        "arn:aws:s3:::ohpen-silver/transactions/*explicitDeny*",
    ),
    "state-machine-bad-reference": (
        ["test_state_machine_references_exist[ohpen-etl-orchestration]"],
        "*state machine ohpen-etl-orchestration: references missing Lambda function *",
    ),
    "schema-breaking-change": (
        ["test_table_schema_compatible[silver.transactions]"],
        "*table silver.transactions: version 2 drops column *",
    ),
    "lambda-errors": (
        ["test_lambda_no_errors_since_deploy[ohpen-read-run-summary]"],
        "*Lambda ohpen-read-run-summary: 5 *errors since the deploy at *",
    ),
    "glue-duration-regression": (
        ["test_glue_job_duration[ohpen-transaction-etl-spark]"],
        "*Glue job ohpen-transaction-etl-spark: newest run * took *x the median *",
    ),
    "alarm-firing": (
        ["test_alarm_quiet_during_bake[ohpen-etl-glue-job-failed]"],
        "*alarm ohpen-etl-glue-job-failed: went into ALARM at *after the deploy (bake window *",
    ),
    "service-wildcard-policy": (
        ["test_role_least_privilege[ohpen-transaction-etl-spark-role]"],
        "*IAM role ohpen-transaction-etl-spark-role: policy injected-service-wildcards allows "
        "whole services s3:[*], iam:[*] on [*]*",
    ),
    "encryption-changed": (
        ["test_bucket_encryption[ohpen-bronze]"],
        "*bucket ohpen-bronze: *encryption*",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_fails_exactly_its_check(suites: pytest.Pytester, fault: str) -> None:
    expected, message = FAULTS[fault]
    result = run(suites, "--emulator-fault", fault)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert failed_ids(result) == expected, result.stdout.str()
    result.stdout.fnmatch_lines([message])
    assert WHERE in result.stdout.str()
