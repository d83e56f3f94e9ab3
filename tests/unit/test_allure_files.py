"""What Allure is told about a checking run, built from the report alone: no run, no AWS.

Labels and console links of a check, the categories our failure messages fall in,
environment.properties, and the run files (redacted whatever reaches the writer). End to
end runs are tests/e2e/test_allure_results.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from allure_reading import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    FAKE_TOKEN,
    assert_no_leak,
    attachment,
    parameters,
    results_of,
)

from pytest_ohpen.checks.base import describe_client_error
from pytest_ohpen.config.environments import Environment, Terraform
from pytest_ohpen.plugin.allure import AllureResults
from pytest_ohpen.plugin.allure_files import (
    CATEGORIES,
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
