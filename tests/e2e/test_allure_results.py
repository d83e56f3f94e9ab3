"""Allure results of a checking run (``--alluredir``), and ``--junitxml`` beside them.

End to end, every run is a ``runpytest_subprocess`` on the embedded account, as in
``test_readiness_run.py``: the smoke suite (or a check that settles on its retry), a
two-commit git checkout, and a rollback command that prints credentials, so the tests can
see that none reaches the results directory. The pure parts (labels, console links,
categories, environment.properties, redaction of the run files) are
tests/unit/test_allure_files.py.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
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
from conftest import environments_toml, local_env
from test_readiness_run import head_commits, make_git_repo

from pytest_ohpen import __version__
from pytest_ohpen.plugin.allure import PASSED_ON_RETRY, PLUGIN_NAME
from pytest_ohpen.plugin.allure_files import (
    APPROVAL_ATTACHMENT,
    CATEGORIES,
    CATEGORIES_FILE,
    ENVIRONMENT_FILE,
    JSON_ATTACHMENT,
    MARKDOWN_ATTACHMENT,
    OUTPUT_ATTACHMENT,
)
from pytest_ohpen.plugin.allure_labels import console_url
from pytest_ohpen.records.redact import REDACTED

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


def split(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(check results, readiness results)."""
    return (
        [r for r in results if r["name"] != READINESS],
        [r for r in results if r["name"] == READINESS],
    )


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def read_properties(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="latin-1").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def report_of(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        pytester.path.joinpath("reports", "readiness-local.json").read_text()
    )
    return data


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
