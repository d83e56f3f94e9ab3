"""Allure results of a checking run (``--alluredir``), and ``--junitxml`` beside them.

End to end, every run is a ``runpytest_subprocess`` on the embedded account, as in
``test_readiness_run.py``: the smoke suite (or a check that settles on its retry), a
two-commit git checkout, and a rollback command that prints credentials, so the tests can
see that none reaches the results directory. The pure parts (labels, console links,
categories, environment.properties, redaction of the run files) are tested directly.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import environments_toml, local_env
from test_readiness_run import head_commits, make_git_repo

from pytest_ohpen import __version__
from pytest_ohpen.checks.base import describe_client_error
from pytest_ohpen.config.environments import Environment, Terraform
from pytest_ohpen.plugin.allure import PASSED_ON_RETRY, PLUGIN_NAME, AllureResults
from pytest_ohpen.plugin.allure_files import (
    APPROVAL_ATTACHMENT,
    CATEGORIES,
    CATEGORIES_FILE,
    ENVIRONMENT_FILE,
    JSON_ATTACHMENT,
    MARKDOWN_ATTACHMENT,
    OUTPUT_ATTACHMENT,
    environment_properties,
    write_run_files,
)
from pytest_ohpen.plugin.allure_labels import SERVICES, console_url, service_of, story_of, suite_of
from pytest_ohpen.plugin.fixtures import RESOURCE_FIXTURES
from pytest_ohpen.readiness.decide import Verdict
from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts, StateFacts, VersionFacts
from pytest_ohpen.readiness.git_facts import GitFacts
from pytest_ohpen.readiness.report import Report, TriggerRecord, build_report
from pytest_ohpen.records.redact import REDACTED
from pytest_ohpen.terraform.state_versions import StateSummary, StateVersion

FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"
"""The caller's fake AWS credentials (tests/conftest.py sets them in the environment)."""
FAKE_TOKEN = "ghp_fakeOhpenCiToken0123456789abcdefXYZ"
"""A CI token in the environment, which the rollback command inherits and prints."""
LEAKS = (FAKE_KEY_ID, FAKE_SECRET, FAKE_TOKEN)

RESULTS = "allure-results"
READINESS = "ohpen rollback readiness (local)"
ATTACHMENTS = [JSON_ATTACHMENT, MARKDOWN_ATTACHMENT, OUTPUT_ATTACHMENT, APPROVAL_ATTACHMENT]
SILVER = "test_bucket_accessible[ohpen-silver]"
CHECKS = {  # test name: (feature, story, kind, resource)
    "test_bucket_accessible[ohpen-bronze]": ("S3", "Bucket accessible", "buckets", "ohpen-bronze"),
    SILVER: ("S3", "Bucket accessible", "buckets", "ohpen-silver"),
    "test_bucket_accessible[ohpen-artifacts]": (
        "S3",
        "Bucket accessible",
        "buckets",
        "ohpen-artifacts",
    ),
    "test_glue_job_exists[ohpen-transaction-etl-spark]": (
        "Glue",
        "Glue job exists",
        "glue_jobs",
        "ohpen-transaction-etl-spark",
    ),
    "test_state_machine_active[ohpen-etl-orchestration]": (
        "Step Functions",
        "State machine active",
        "state_machines",
        "ohpen-etl-orchestration",
    ),
    "test_lambda_active[ohpen-read-run-summary]": (
        "Lambda",
        "Lambda active",
        "lambdas",
        "ohpen-read-run-summary",
    ),
    "test_lambda_invocable[ohpen-read-run-summary]": (
        "Lambda",
        "Lambda invocable",
        "lambdas",
        "ohpen-read-run-summary",
    ),
}
TERRAFORM = {
    "state_bucket": "ohpen-terraform-state",
    "state_key": "ohpen-data-lake/terraform.tfstate",
    "lock_table": "ohpen-terraform-locks",
    "version": "1.5.0",
}

RECORDER = """\
#!@PYTHON@
import os

print("AWS_ACCESS_KEY_ID=" + os.environ.get("AWS_ACCESS_KEY_ID", ""))
print("AWS_SECRET_ACCESS_KEY=" + os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
print("GITHUB_TOKEN=" + os.environ.get("GITHUB_TOKEN", ""))
print("caller credentials, as a careless script echoes them: @KEY_ID@ @SECRET@")
print("rolled back (dry run)")
"""

SETTLING_CHECK = """\
from pathlib import Path


def test_bucket_settles(ohpen_bucket):
    # ohpen-bronze is not there yet on the first attempt (eventual consistency)
    if ohpen_bucket != "ohpen-bronze":
        return
    counter = Path(__file__).with_name("attempts-" + ohpen_bucket)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    assert attempt > 1, f"bucket {ohpen_bucket}: not yet consistent (attempt {attempt})"
"""
SETTLED = "test_bucket_settles[ohpen-bronze]"

PROBE_CONFTEST = """\
import json
import sys


def pytest_sessionfinish(session):
    with open("allure-probe.json", "w") as out:
        json.dump(
            {
                "registered": session.config.pluginmanager.has_plugin("@PLUGIN@"),
                "imported": "pytest_ohpen.plugin.allure" in sys.modules,
            },
            out,
        )
"""

# ----------------------------------------------------------------- helpers


def prepare(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local environment (no settle delay, pinned Terraform), the printing rollback
    command, a CI token in the environment and the git checkout."""
    monkeypatch.setenv("GITHUB_TOKEN", FAKE_TOKEN)
    env = local_env(retry_delay=0, terraform=dict(TERRAFORM))
    command = [str(pytester.path / "rollback.py"), "--env", "{env}"]
    command += ["--target-version", "{target_ref}", "--state-version", "{state_version}"]
    env["rollback"] = {"command": command}
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))
    script = pytester.path / "rollback.py"
    script.write_text(
        RECORDER.replace("@PYTHON@", sys.executable)
        .replace("@KEY_ID@", FAKE_KEY_ID)
        .replace("@SECRET@", FAKE_SECRET)
    )
    script.chmod(0o755)
    make_git_repo(pytester.path)


@pytest.fixture
def lake(suite_dir: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The smoke suite on the embedded account, ready to run."""
    prepare(suite_dir, monkeypatch)
    return suite_dir


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider", *args)


def red(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return run(pytester, "--emulator-omit", "ohpen-silver", *args)


def results_of(directory: Path) -> list[dict[str, Any]]:
    """Every result of the directory, in the order the attempts started."""
    found = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return sorted(found, key=lambda r: (r.get("start", 0), r["name"]))


def split(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(check results, readiness results)."""
    return (
        [r for r in results if r["name"] != READINESS],
        [r for r in results if r["name"] == READINESS],
    )


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def parameters(result: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in result.get("parameters", [])}


def read_properties(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="latin-1").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def report_of(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        pytester.path.joinpath("reports", "readiness-local.json").read_text()
    )
    return data


def attachment(directory: Path, result: dict[str, Any], name: str) -> str:
    [source] = [a["source"] for a in result["attachments"] if a["name"] == name]
    return directory.joinpath(source).read_text()


def assert_no_leak(directory: Path) -> None:
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in LEAKS:
            assert secret.encode() not in data, (secret, path)


def assert_junit(path: Path) -> None:
    """Case names carry the resource; user properties are the case's <properties>."""
    cases = ET.parse(path).getroot().iter("testcase")
    by_name: dict[str, list[ET.Element]] = {}
    for case in cases:
        by_name.setdefault(case.get("name", ""), []).append(case)
    assert set(by_name) == set(CHECKS)
    for name, (_, _, kind, resource) in CHECKS.items():
        for case in by_name[name]:
            assert case.get("classname") == "test_smoke"
            properties = {p.get("name"): p.get("value") for p in case.iter("property")}
            assert properties == {
                "ohpen_check": "local",
                "ohpen_resource": resource,
                "ohpen_resource_kind": kind,
            }
    failures = [case.find("failure") for case in by_name[SILVER]]
    failed = [f for f in failures if f is not None]
    assert len(failed) == 1, "the final attempt fails; the retried one is reported apart"
    assert "bucket ohpen-silver: not found (NoSuchBucket)" in failed[0].get("message", "")


# ------------------------------------------------------------------ end to end


def test_red_run_labels_every_check_and_records_the_readiness_report(
    lake: pytest.Pytester,
) -> None:
    result = red(lake, "--alluredir", RESULTS)

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    directory = lake.path / RESULTS
    checks, [readiness] = split(results_of(directory))

    assert Counter(r["name"] for r in checks) == Counter({**dict.fromkeys(CHECKS, 1), SILVER: 2})
    for check in checks:
        feature, story, kind, resource = CHECKS[check["name"]]
        assert labels(check, "epic") == ["local"]
        assert labels(check, "feature") == [feature]
        assert labels(check, "story") == [story]
        assert labels(check, "tag") == ["smoke"]
        assert labels(check, "severity") == ["blocker"]
        assert parameters(check)["resource"] == repr(resource)
        [link] = check["links"]
        assert link["url"] == console_url(kind, resource, "eu-west-1", "123456789012")
        assert link["url"].startswith("https://")
        assert resource in link["name"]
    silver = [r for r in checks if r["name"] == SILVER]
    assert [r["status"] for r in silver] == ["failed", "failed"]
    assert silver[0]["historyId"] == silver[1]["historyId"], "one test, two attempts"
    assert not any(r.get("statusDetails", {}).get("flaky") for r in checks)
    assert not any(PASSED_ON_RETRY in labels(r, "tag") for r in checks)
    message = silver[-1]["statusDetails"]["message"]
    assert [c["name"] for c in CATEGORIES if re.fullmatch(c["messageRegex"], message)][:1] == [
        "Resource missing"
    ]

    categories = json.loads(directory.joinpath(CATEGORIES_FILE).read_text())
    assert categories == CATEGORIES
    assert [c["name"] for c in categories] == [
        "Resource missing",
        "Access denied",
        "Throttled or timed out",
        "Configuration drift",
        "Security posture",
    ]
    for category in categories:
        assert "failed" in category["matchedStatuses"]

    report = report_of(lake)
    target = report["target"]
    assert read_properties(directory / ENVIRONMENT_FILE) == {
        "environment": "local",
        "account": "123456789012",
        "region": "eu-west-1",
        "git.commit": head_commits(lake)[1],
        "pytest-ohpen.version": __version__,
        "terraform.version": "1.5.0",
        "readiness.verdict": "READY",
        "rollback.target.state_version": target["state_version_id"],
        "rollback.target.git_ref": "HEAD~1",
        "rollback.target.git_commit": head_commits(lake)[0],
    }

    assert readiness["status"] == "passed"
    assert parameters(readiness) == {"verdict": "READY", "rollback mode": "dry-run"}
    assert labels(readiness, "epic") == ["local"]
    assert "verdict READY" in labels(readiness, "tag")
    assert [a["name"] for a in readiness["attachments"]] == ATTACHMENTS
    for item in readiness["attachments"]:
        assert directory.joinpath(item["source"]).is_file()
    assert json.loads(attachment(directory, readiness, JSON_ATTACHMENT)) == report
    markdown = lake.path.joinpath("reports", "readiness-local.md").read_text()
    assert attachment(directory, readiness, MARKDOWN_ATTACHMENT) == markdown
    output = attachment(directory, readiness, OUTPUT_ATTACHMENT)
    assert output.splitlines()[0] == "$ " + " ".join(report["rollback"]["command"])
    assert "rolled back (dry run)" in output
    assert f"GITHUB_TOKEN={REDACTED}" in output
    assert f"echoes them: {REDACTED} {REDACTED}" in output
    assert output.rstrip().endswith("]") and "exit code 0" in output
    approval = json.loads(attachment(directory, readiness, APPROVAL_ATTACHMENT))
    assert approval["triggered"] is True
    assert approval["requested"] == approval["mode"] == "dry-run"
    assert approval["approved_by"] is None
    assert approval["fallback_reasons"] == []
    assert approval["verdict"] == "READY"

    assert_no_leak(directory)


def test_a_check_that_passes_on_its_retry_is_flaky_not_clean(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(pytester, monkeypatch)
    pytester.makepyfile(test_settling=SETTLING_CHECK)

    result = run(pytester, "--alluredir", RESULTS)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    nodeid = f"test_settling.py::{SETTLED}"
    result.stdout.fnmatch_lines([f"  passed on retry: 1 ({nodeid})"])
    assert report_of(pytester)["checks"]["passed_on_retry"] == [nodeid]

    directory = pytester.path / RESULTS
    checks, [readiness] = split(results_of(directory))
    first, second = (r for r in checks if r["name"] == SETTLED)
    assert first["historyId"] == second["historyId"]
    assert (first["status"], second["status"]) == ("failed", "passed")
    assert second["statusDetails"]["flaky"] is True
    assert PASSED_ON_RETRY in labels(second, "tag")
    assert "flaky" not in first["statusDetails"]
    assert PASSED_ON_RETRY not in labels(first, "tag")
    clean = [r for r in checks if r["name"] != SETTLED]
    assert len(clean) == 2
    for check in clean:
        assert check["status"] == "passed"
        assert "statusDetails" not in check or not check["statusDetails"].get("flaky")
        assert PASSED_ON_RETRY not in labels(check, "tag")
    for check in checks:  # no suite folder, no test_<suite> module: no suite tag
        assert labels(check, "feature") == ["S3"]
        assert labels(check, "story") == ["Bucket settles"]
        assert labels(check, "severity") == ["critical"]
        assert not set(labels(check, "tag")) & {"smoke", "post_rollback", "drill"}

    assert parameters(readiness) == {"verdict": "NOT_NEEDED"}
    output = attachment(directory, readiness, OUTPUT_ATTACHMENT)
    assert output == "no rollback was triggered: no check failed\n"
    assert json.loads(attachment(directory, readiness, APPROVAL_ATTACHMENT))["triggered"] is False
    assert "rollback.target.git_ref" in read_properties(directory / ENVIRONMENT_FILE)


def test_without_alluredir_nothing_is_written_and_junit_works_as_usual(
    lake: pytest.Pytester,
) -> None:
    lake.makeconftest(PROBE_CONFTEST.replace("@PLUGIN@", PLUGIN_NAME))

    result = red(lake, "--junitxml", "reports/junit.xml")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert json.loads(lake.path.joinpath("allure-probe.json").read_text()) == {
        "registered": False,
        "imported": False,
    }
    written = [p.name for p in lake.path.rglob("*") if p.is_file()]
    assert not [n for n in written if n.endswith(("-result.json", "-container.json"))]
    assert ENVIRONMENT_FILE not in written
    assert CATEGORIES_FILE not in written
    assert_junit(lake.path / "reports" / "junit.xml")


def test_xdist_labels_on_workers_and_writes_the_run_files_once(lake: pytest.Pytester) -> None:
    lake.makeconftest(PROBE_CONFTEST.replace("@PLUGIN@", PLUGIN_NAME))

    result = red(lake, "-n", "2", "--alluredir", RESULTS, "--junitxml", "junit.xml")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert json.loads(lake.path.joinpath("allure-probe.json").read_text())["registered"]
    directory = lake.path / RESULTS
    checks, readiness = split(results_of(directory))
    assert len(readiness) == 1
    assert [p.name for p in lake.path.rglob(ENVIRONMENT_FILE)] == [ENVIRONMENT_FILE]
    assert [p.name for p in lake.path.rglob(CATEGORIES_FILE)] == [CATEGORIES_FILE]
    assert read_properties(directory / ENVIRONMENT_FILE)["readiness.verdict"] == "READY"
    assert Counter(r["name"] for r in checks) == Counter({**dict.fromkeys(CHECKS, 1), SILVER: 2})
    for check in checks:  # labelled on the workers, which ran them
        assert labels(check, "epic") == ["local"]
        assert labels(check, "severity") == ["blocker"]
        assert parameters(check)["resource"] == repr(CHECKS[check["name"]][3])
    threads = {labels(check, "thread")[0].split("-")[0] for check in checks}
    assert len(threads) == 2, "both workers ran checks"
    assert_junit(lake.path / "junit.xml")
    assert_no_leak(directory)


# --------------------------------------------------------------- registration

REGISTRATION_CHECK = """\
def test_registration(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("@PLUGIN@") is @EXPECTED@
"""


@pytest.mark.parametrize("alluredir", [True, False], ids=["alluredir", "none"])
def test_the_plugin_is_registered_only_with_alluredir_and_only_until_unconfigure(
    pytester: pytest.Pytester, alluredir: bool
) -> None:
    pytester.makepyfile(
        REGISTRATION_CHECK.replace("@PLUGIN@", PLUGIN_NAME).replace("@EXPECTED@", str(alluredir))
    )
    args = ["--alluredir", str(pytester.path / RESULTS)] if alluredir else []

    recorder = pytester.inline_run("-p", "no:cacheprovider", *args)

    recorder.assertoutcome(passed=1)
    config = recorder.getcall("pytest_sessionstart").session.config
    assert not config.pluginmanager.has_plugin(PLUGIN_NAME), "unregistered at unconfigure"
    assert not pytester.path.joinpath(RESULTS, ENVIRONMENT_FILE).exists(), "no check ran"


# ------------------------------------------------------------------ pure parts


def test_every_resource_kind_has_a_service_and_a_console_page() -> None:
    assert set(SERVICES) == set(RESOURCE_FIXTURES.values())
    for kind in SERVICES:
        url = console_url(kind, "name", "eu-west-1", "123456789012")
        assert url is not None and "region=eu-west-1" in url


@pytest.mark.parametrize(
    ("kind", "name", "url"),
    [
        ("buckets", "b", "https://s3.console.aws.amazon.com/s3/buckets/b?region=eu-west-1"),
        (
            "glue_jobs",
            "j",
            "https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1"
            "#/editor/job/j/details",
        ),
        (
            "state_machines",
            "m",
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
            "#/statemachines/view/arn%3Aaws%3Astates%3Aeu-west-1%3A123456789012%3AstateMachine%3Am",
        ),
        (
            "lambdas",
            "f",
            "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/f",
        ),
        (
            "alarms",
            "a b",
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
            "#alarmsV2:alarm/a%20b",
        ),
        (
            "roles",
            "r",
            "https://console.aws.amazon.com/iam/home?region=eu-west-1#/roles/details/r",
        ),
    ],
)
def test_console_urls(kind: str, name: str, url: str) -> None:
    assert console_url(kind, name, "eu-west-1", "123456789012") == url


def test_console_urls_follow_the_partition() -> None:
    url = console_url("state_machines", "m", "cn-north-1", "1")
    assert url is not None
    assert url.startswith("https://cn-north-1.console.amazonaws.cn/")
    assert "arn%3Aaws-cn%3Astates" in url
    assert console_url("buckets", "b", "us-gov-west-1", "1") == (
        "https://s3.console.amazonaws-us-gov.com/s3/buckets/b?region=us-gov-west-1"
    )
    assert console_url("unknown", "x", "eu-west-1", "1") is None


@pytest.mark.parametrize(
    ("kind", "function", "module", "service"),
    [
        ("roles", "test_role_least_privilege", "test_security", "IAM"),
        (None, "test_failure_topic_subscribed", "test_monitoring", "SNS"),
        (None, "test_something_else", "test_monitoring", "CloudWatch"),
        (None, "test_4_roll_back", "test_drill", None),
    ],
)
def test_the_service_comes_from_the_kind_else_the_names(
    kind: str | None, function: str, module: str, service: str | None
) -> None:
    assert service_of(kind, function, module) == service


def test_story_and_suite() -> None:
    root = Path("/repo")
    assert story_of("test_state_machine_active") == "State machine active"
    assert story_of("test_1_baseline_is_green") == "1 baseline is green"
    assert suite_of(root / "suites/smoke/test_smoke.py", root) == "smoke"
    assert suite_of(root / "suites/post_rollback/test_smoke_checks.py", root) == "post_rollback"
    assert suite_of(root / "suites/drill/test_drill.py", root) == "drill"
    assert suite_of(root / "test_smoke.py", root) == "smoke"
    assert suite_of(root / "tests/test_checks.py", root) is None
    assert suite_of(Path("/smoke/elsewhere/test_x.py"), root) == "smoke"


class _AwsError:
    def __init__(self, code: str) -> None:
        self.response = {"Error": {"Code": code}}


def _error(code: str) -> str:
    return describe_client_error(_AwsError(code), frozenset({"NoSuchBucket"}))


CHECK_FAILED = "pytest_ohpen.checks.base.CheckFailed: "
WHERE = "in account 123456789012 eu-west-1"


@pytest.mark.parametrize(
    ("message", "category"),
    [
        (f"bucket b: {_error('NoSuchBucket')} {WHERE}", "Resource missing"),
        (f"alarm a: not found {WHERE}", "Resource missing"),
        (f"bucket b: {_error('AccessDenied')} {WHERE}", "Access denied"),
        (f"Lambda f: {_error('ThrottlingException')} {WHERE}", "Throttled or timed out"),
        (
            f"bucket b: could not be checked (ReadTimeoutError: Read timeout) {WHERE}",
            "Throttled or timed out",
        ),
        ("Failed: Timeout (>20.0s) from pytest-timeout.", "Throttled or timed out"),
        (
            "Glue job j: differs from target state version v (serial 2, known_good): "
            f"timeout: live 60, target 30 {WHERE}",
            "Configuration drift",
        ),
        (
            "Lambda f: not recorded in target state version v (serial 2, previous) "
            f"(aws_lambda_function) {WHERE}",
            "Configuration drift",
        ),
        (f"bucket b: public access not fully blocked (BlockPublicAcls=false) {WHERE}", "Security"),
        (f"bucket b: no bucket policy denying non-TLS access {WHERE}", "Security"),
        (f"bucket b: versioning Suspended, expected Enabled {WHERE}", "Security"),
        (f"bucket b: default encryption AES256, expected SSE-KMS {WHERE}", "Security"),
        (f"IAM role r: policy p allows every action on every resource {WHERE}", "Security"),
        (f"IAM role r: policy p allows with NotAction [iam:*] {WHERE}", "Security"),
        (f"Lambda f: resource policy lets anyone invoke it (Principal *) {WHERE}", "Security"),
        (f"state machine m: logging OFF {WHERE}", "Security"),
        (f"topic t: no confirmed subscription (1 pending) {WHERE}", None),
    ],
)
def test_categories_sort_our_failure_messages(message: str, category: str | None) -> None:
    """First match wins, as in Allure; matched as a whole (Java) and as a search (JS)."""
    for text in (CHECK_FAILED + message, CHECK_FAILED + message + "\n\ntraceback line"):
        matched = [c["name"] for c in CATEGORIES if re.fullmatch(c["messageRegex"], text)]
        searched = [c["name"] for c in CATEGORIES if re.search(c["messageRegex"], text)]
        assert matched == searched
        first = matched[0] if matched else None
        if category == "Security":
            category = "Security posture"
        assert first == category, text


def _environment() -> Environment:
    return Environment(
        name="prod",
        source=Path("environments.toml"),
        account_id="123456789012",
        region="eu-central-1",
        terraform=Terraform("state", "key", version="1.5.0"),
    )


TRIGGER = TriggerRecord(
    requested="apply",
    mode="apply",
    approved_by="Zoë: ops=lead",
    command=("rollback.sh", "--apply"),
    output=("done",),
    exit_code=0,
    duration_seconds=1.5,
    timed_out=False,
)


def _report(**changes: Any) -> Report:
    """A READY report of one failed check, rolled back to state v2 and git HEAD~1 = abc."""
    version = StateVersion("v2", datetime(2025, 1, 1, tzinfo=UTC), False, 100)
    facts = ReadinessFacts(
        environment="prod",
        account_id="123456789012",
        region="eu-central-1",
        checks_ran=True,
        failed_checks=[FailedCheck("t::x", "CheckFailed: x")],
        passed=1,
        state=StateFacts(
            "state",
            "key",
            "Enabled",
            (version,),
            target=VersionFacts(version, StateSummary(4, "1.5.0", 2, "l", 1)),
            target_source="known_good",
        ),
        git=GitFacts(Path("/repo"), "def", "HEAD~1", "abc", False, None),
    )
    verdict = Verdict("READY", (), ())
    operator = {"aws_caller": "arn:aws:iam::123456789012:user/ci"}
    report = build_report(facts, verdict, datetime(2025, 1, 1, tzinfo=UTC), operator)
    return replace(report, **{"rollback": TRIGGER, **changes})


def test_environment_properties_are_escaped_and_skip_unknowns() -> None:
    text = environment_properties(_report(git=None), _environment())
    lines = text.splitlines()
    assert "environment=prod" in lines
    assert "terraform.version=1.5.0" in lines
    assert "rollback.approved_by=Zo\\u00eb\\: ops\\=lead" not in lines, "values keep : and ="
    assert "rollback.approved_by=Zo\\u00eb: ops=lead" in lines
    assert not [line for line in lines if line.startswith("git.commit")]
    text.encode("ascii")  # Java reads properties as ISO 8859-1: everything else escaped


def test_the_run_files_are_redacted_even_when_the_report_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever reaches the writer, no credential reaches the directory."""
    monkeypatch.setenv("GITHUB_TOKEN", FAKE_TOKEN)
    leaking = _report(
        rollback=replace(
            TRIGGER,
            output=(
                f"AWS_ACCESS_KEY_ID={FAKE_KEY_ID}",
                f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET}",
                f"token {FAKE_TOKEN}",
            ),
            approved_by=f"alice {FAKE_KEY_ID}",
        ),
        extra={"note": f"secret={FAKE_SECRET}"},
    )

    written = write_run_files(tmp_path, leaking, _environment())

    assert {p.parent for p in written} == {tmp_path}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert len(written) == 2 + 4 + 1  # properties, categories, 4 attachments, the result
    assert_no_leak(tmp_path)
    [result] = results_of(tmp_path)
    assert result["name"] == "ohpen rollback readiness (prod)"
    assert parameters(result) == {
        "verdict": "READY",
        "rollback mode": "apply",
        "approved by": f"alice {REDACTED}",
    }
    output = attachment(tmp_path, result, OUTPUT_ATTACHMENT)
    assert output.count(REDACTED) == 3


def test_a_results_folder_that_cannot_be_written_is_reported_not_raised(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """The readiness report stands (and its summary is printed) when Allure's folder fails."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    plugin = AllureResults(pytestconfig, blocked)

    plugin.pytest_ohpen_readiness_concluded(report=_report(), env=_environment())

    assert plugin.failure is not None
    assert plugin.failure.startswith(("NotADirectoryError", "FileExistsError"))
