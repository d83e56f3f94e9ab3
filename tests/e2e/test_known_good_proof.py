"""A known-good mark only on evidence, naming the deployed commit; a run that checked
nothing is not green; an earlier report never outlives a run that stopped with exit 4.

Each run is a ``runpytest_subprocess`` of the real smoke suite (at ``suites/smoke/`` in the
pytester folder, as in a repository) on the embedded account, in a two-commit git checkout.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import PLAYBOOK_LIST_SUITE, environments_toml, local_env

TERRAFORM = {
    "state_bucket": "ohpen-terraform-state",
    "state_key": "ohpen-data-lake/terraform.tfstate",
}
DEPLOYED = "0123456789abcdef0123456789abcdef01234567"
CI_SHA = "fedcba9876543210fedcba9876543210fedcba98"
CI_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "OHPEN_DEPLOYED_COMMIT")


def git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def write_env(pytester: pytest.Pytester, **resources: list[str]) -> None:
    env = local_env(retry_delay=0, retries=0, terraform=dict(TERRAFORM))
    env["resources"] = {**env["resources"], **resources}  # type: ignore[dict-item]
    pytester.path.joinpath("environments.toml").write_text(environments_toml({"local": env}))


@pytest.fixture
def checkout(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The smoke suite under suites/smoke/, the environment, two commits; no CI variable."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    suite = pytester.path / "suites" / "smoke"
    suite.mkdir(parents=True)
    (suite / "test_smoke.py").write_text(PLAYBOOK_LIST_SUITE)
    write_env(pytester)
    git(pytester.path, "init", "-q")
    for key, value in (("user.name", "T"), ("user.email", "t@x"), ("commit.gpgsign", "false")):
        git(pytester.path, "config", key, value)
    pytester.path.joinpath(".gitignore").write_text("/*\n!/.gitignore\n!/infra/\n")
    (pytester.path / "infra").mkdir()
    for number in (1, 2):
        pytester.path.joinpath("infra", "main.tf").write_text(f"locals {{ n = {number} }}\n")
        git(pytester.path, "add", "-A")
        git(pytester.path, "commit", "-q", "-m", f"deployment {number}")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "suites/smoke", "--env", "local", "--rollback", "off", "-p", "no:cacheprovider", *args
    )


def marks(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    folder = pytester.path / "reports" / "audit" / "local" / "known_good"
    return [json.loads(p.read_text())["data"] for p in sorted(folder.glob("*.json"))]


REPORT = Path("reports", "readiness-local.json")


def test_a_run_that_checked_nothing_exits_5_with_one_line_and_marks_nothing(
    checkout: pytest.Pytester,
) -> None:
    write_env(checkout, buckets=[], glue_jobs=[], state_machines=[], lambdas=[])

    result = run(checkout)

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()
    lines = [line for line in result.stdout.lines if "nothing was checked" in line]
    assert lines == [
        "ERROR: ohpen: nothing was checked in environment 'local': every check was skipped "
        "(5 skipped: [local.resources] lists no buckets, glue_jobs, lambdas, state_machines); "
        "exit code 5, and no known-good mark"
    ]
    assert marks(checkout) == []
    assert not (checkout.path / REPORT).exists(), "no report for a run that checked nothing"


def test_a_check_skipped_for_a_missing_setting_keeps_a_green_run_from_marking(
    checkout: pytest.Pytester,
) -> None:
    write_env(checkout, glue_jobs=[])

    result = run(checkout)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=5, skipped=2)  # no Glue job; the opt-in invocation
    assert marks(checkout) == []
    result.stdout.fnmatch_lines(
        [
            "ohpen: not marked known-good: 1 check(s) skipped, not by choice: "
            "[local.resources] lists no glue_jobs"
        ]
    )


def test_a_green_run_marks_what_passed_and_the_ci_commit_not_head(
    checkout: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", CI_SHA)

    result = run(checkout)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    [mark] = marks(checkout)
    report = json.loads((checkout.path / REPORT).read_text())
    assert mark["state_version_id"] == report["current"]["state_version_id"]
    assert (mark["git_commit"], mark["git_commit_source"]) == (CI_SHA, "GITHUB_SHA")
    assert mark["checkout_head"] == git(checkout.path, "rev-parse", "HEAD")
    assert mark["suite"] == "smoke"
    assert mark["checks_passed"] == 6
    assert mark["checks_by_kind"] == {
        "buckets": 3,
        "glue_jobs": 1,
        "lambdas": 1,
        "state_machines": 1,
    }
    assert mark["checks_skipped_by_choice"] == 1  # the opt-in invocation


def test_the_deployed_commit_option_wins_and_without_any_source_the_commit_is_null(
    checkout: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", CI_SHA)
    assert run(checkout, "--deployed-commit", DEPLOYED.upper()).ret == pytest.ExitCode.OK
    monkeypatch.delenv("GITHUB_SHA")
    result = run(checkout)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    second, first = marks(checkout)[1], marks(checkout)[0]
    assert (first["git_commit"], first["git_commit_source"]) == (
        DEPLOYED,
        f"--deployed-commit {DEPLOYED.upper()!r} (command line)",
    )
    assert (second["git_commit"], second["git_commit_source"]) == (None, None)
    result.stdout.fnmatch_lines(["*records no deployed commit: pass --deployed-commit SHA*"])


def test_a_deployed_commit_that_is_no_sha_is_one_usage_error(checkout: pytest.Pytester) -> None:
    result = run(checkout, "--deployed-commit", "main")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: ohpen: --deployed-commit 'main' (command line): expected a commit SHA "
        "(7 to 64 hex digits), e.g. $(git rev-parse HEAD) of the checkout that was applied"
    )
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    "bad",
    [
        ["--target-state-version", "nonsense!"],  # an option: settings do not resolve
        ["--emulator-omit", "no-such-resource"],  # preflight
    ],
    ids=["option", "preflight"],
)
def test_an_exit_4_run_leaves_no_earlier_report_behind(
    checkout: pytest.Pytester, bad: list[str]
) -> None:
    assert run(checkout).ret == pytest.ExitCode.OK
    assert (checkout.path / REPORT).is_file()
    unrelated = checkout.path / "reports" / "notes.md"
    unrelated.write_text("# mine\n")

    result = run(checkout, *bad)

    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert not (checkout.path / REPORT).exists()
    assert not (checkout.path / REPORT).with_suffix(".md").exists()
    assert unrelated.is_file()
    [record] = list((checkout.path / "reports" / "audit" / "local" / "readiness_report").iterdir())
    assert record.is_file(), "the earlier report stays in the audit store"


def test_a_file_that_is_not_a_report_is_not_removed(checkout: pytest.Pytester) -> None:
    mine = checkout.path / "mine.json"
    mine.write_text('{"kind": "something else"}\n')

    result = run(checkout, "--readiness-report", str(mine), "--deployed-commit", "nope")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert mine.read_text() == '{"kind": "something else"}\n'
