"""The offline HTML report: a real red smoke run's Allure results through the Allure 3 CLI
(``scripts/allure_report.sh RESULTS_DIR OUT_DIR``), checked in the JSON the report ships.

The run is a ``runpytest_subprocess`` of the real smoke suite on the embedded account with
``--emulator-omit ohpen-silver --alluredir DIR``, set up as in test_readiness_run.py: no
settle delay, ``[local.terraform]``, a recorder script as the rollback command and a git
checkout with two commits. One run and one report serve every test here (per process).

What Allure 3.18's Awesome report writes, and these tests read: ``summary.json`` (counts,
``retryTests``), ``test-results.json`` (every result by id) and
``data/test-results/<id>.json`` per attempt (``isRetry`` on earlier attempts; the final one
lists them in ``retries``), with attachments as ``data/attachments/<id><ext>``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_readiness_run import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    make_git_repo,
    write_environment,
    write_recorder,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "allure_report.sh"
SILVER = "test_bucket_accessible[ohpen-silver]"
SILVER_MESSAGE = "bucket ohpen-silver: not found (NoSuchBucket) in account 123456789012"
READINESS = "ohpen rollback readiness (local)"
ATTACHMENTS = {
    "readiness report (JSON)",
    "readiness report (Markdown)",
    "rollback command output",
    "rollback approval",
}
HAS_RESULTS_PLUGIN = importlib.util.find_spec("pytest_ohpen.plugin.allure") is not None


@functools.cache
def allure_cli() -> str | None:
    """The Allure 3 CLI as scripts/allure_report.sh finds it: $ALLURE, .ci/node's, PATH."""
    candidates = [
        os.environ.get("ALLURE"),
        str(REPO / ".ci" / "node" / "node_modules" / ".bin" / "allure"),
        shutil.which("allure"),
    ]
    for candidate in candidates:
        if not candidate or not Path(candidate).is_file():
            continue
        try:
            done = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=60
            )
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip().startswith("3."):
            return candidate
    return None


@pytest.fixture
def allure() -> str:
    cli = allure_cli()
    if cli is None:
        pytest.skip(
            "the Allure 3 CLI is not installed: npm install --prefix .ci/node --no-audit "
            "--no-fund allure@3 (.ci/run installs it)"
        )
    return cli


def generate(
    results: Path, out: Path, allure: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"ALLURE": allure} if allure else {})}
    return subprocess.run(
        ["bash", str(SCRIPT), str(results), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@dataclass
class Report:
    """A red run's Allure results and the HTML report generated from them."""

    root: Path
    results: Path
    html: Path
    previous_commit: str
    run_output: str
    seconds: dict[str, float] = field(default_factory=dict)

    def json(self, relative: str) -> Any:
        return json.loads(self.html.joinpath(relative).read_text())

    def test_results(self) -> list[dict[str, Any]]:
        folder = self.html / "data" / "test-results"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.test_results() if r["name"] == name]

    def attachment(self, link: dict[str, Any]) -> str:
        return self.html.joinpath("data", "attachments", link["id"] + link["ext"]).read_text()


@pytest.fixture(scope="module")
def _reports() -> dict[str, Report | BaseException]:
    return {}


@pytest.fixture
def report(
    suite_dir: pytest.Pytester, allure: str, _reports: dict[str, Report | BaseException]
) -> Iterator[Report]:
    """The red run and its HTML report, made by the first test of this process that asks."""
    if "report" not in _reports:
        try:
            _reports["report"] = build(suite_dir, allure)
        except BaseException as error:
            _reports["report"] = error
            raise
    built = _reports["report"]
    if isinstance(built, BaseException):
        pytest.fail(f"the red run or its report failed in an earlier test: {built!r}")
    yield built


def build(pytester: pytest.Pytester, allure: str) -> Report:
    write_environment(pytester)
    write_recorder(pytester)
    previous, _head = make_git_repo(pytester.path)
    results = pytester.path / "allure-results"
    html = pytester.path / "allure-report"

    started = time.monotonic()
    run = pytester.runpytest_subprocess(
        "--env",
        "local",
        "-p",
        "no:cacheprovider",
        "--emulator-omit",
        "ohpen-silver",
        "--alluredir",
        str(results),
    )
    ran = time.monotonic()
    output = run.stdout.str()
    assert run.ret == pytest.ExitCode.TESTS_FAILED, output
    generated = generate(results, html, allure)
    done = time.monotonic()
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return Report(
        root=pytester.path,
        results=results,
        html=html,
        previous_commit=previous,
        run_output=output,
        seconds={"run": ran - started, "report": done - ran},
    )


# ------------------------------------------------------------------ the report's data


def test_the_report_is_red_with_one_failure_and_one_retry(report: Report) -> None:
    summary = report.json("summary.json")
    assert summary["status"] == "failed"
    stats = summary["stats"]
    assert stats["failed"] == 1
    assert stats["retries"] == 1
    assert stats["passed"] >= 5
    assert stats["skipped"] == 1  # test_lambda_invocable: opt-in
    assert stats.get("broken", 0) == 0
    [final] = [r for r in report.named(SILVER) if not r["isRetry"]]
    assert summary["retryTests"] == [final["id"]]
    assert report.html.joinpath("index.html").is_file()


def test_the_failing_check_is_failed_with_its_retry(report: Report) -> None:
    attempts = report.named(SILVER)
    assert len(attempts) == 2, [r["id"] for r in attempts]
    [final] = [r for r in attempts if not r["isRetry"]]
    [first] = [r for r in attempts if r["isRetry"]]

    assert final["status"] == "failed"
    assert SILVER_MESSAGE in final["error"]["message"]
    assert final["retriesCount"] == 1
    [retry] = final["retries"]
    assert retry["id"] == first["id"]
    assert retry["isRetry"] is True
    assert retry["status"] == "failed"
    assert SILVER_MESSAGE in retry["error"]["message"]
    assert first["status"] == "failed"
    assert first["historyId"] == final["historyId"]  # the same check, two attempts

    index = report.json("test-results.json")["byId"]
    assert index[final["id"]]["status"] == "failed"
    assert index[final["id"]]["name"] == SILVER


def test_every_other_check_passed_first_time(report: Report) -> None:
    checks = [r for r in report.test_results() if r["name"].startswith("test_")]
    others = [r for r in checks if r["name"] != SILVER]
    assert len(others) == 6
    for result in others:
        assert not result["isRetry"], result["name"]
        assert result["retriesCount"] == 0, result["name"]
        expected = "skipped" if result["name"].startswith("test_lambda_invocable") else "passed"
        assert result["status"] == expected, result["name"]


@pytest.mark.xfail(not HAS_RESULTS_PLUGIN, strict=False, reason="needs pytest_ohpen.plugin.allure")
def test_the_readiness_report_is_attached(report: Report) -> None:
    [result] = report.named(READINESS)
    links = {a["link"]["name"]: a["link"] for a in result["attachments"]}
    assert set(links) == ATTACHMENTS
    for link in links.values():
        assert link["missed"] is False, link
        assert report.html.joinpath("data", "attachments", link["id"] + link["ext"]).is_file()

    readiness = json.loads(report.attachment(links["readiness report (JSON)"]))
    assert readiness["verdict"] == "READY"
    assert [c["nodeid"].split("::")[-1] for c in readiness["failed_checks"]] == [SILVER]
    assert readiness["target"]["git_commit"] == report.previous_commit
    on_disk = json.loads(report.root.joinpath("reports", "readiness-local.json").read_text())
    assert readiness["target"] == on_disk["target"]
    assert readiness["rollback"]["mode"] == "dry-run"

    markdown = report.attachment(links["readiness report (Markdown)"])
    assert markdown.startswith("# Rollback readiness: local — READY")
    assert SILVER in markdown

    output = report.attachment(links["rollback command output"])
    assert "--dry-run" in output
    assert "--apply" not in output

    approval = json.loads(report.attachment(links["rollback approval"]))
    assert approval["mode"] == "dry-run"
    assert approval["approved_by"] is None


def test_the_report_never_calls_out(report: Report) -> None:
    """Allure 3.18 puts a Google Analytics tag in the page whatever ALLURE_NO_ANALYTICS
    says; the script takes it out."""
    page = report.html.joinpath("index.html").read_text()
    assert "googletagmanager" not in page
    assert "gtag(" not in page
    assert '<script async src="http' not in page


def test_the_report_holds_no_credentials(report: Report) -> None:
    files = [p for p in report.html.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        assert FAKE_KEY_ID.encode() not in data, path
        assert FAKE_SECRET.encode() not in data, path


def test_generating_again_replaces_the_earlier_report(
    report: Report, allure: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    shutil.copytree(report.html, out)
    out.joinpath("stale.txt").write_text("from an earlier run")

    generated = generate(report.results, out, allure)

    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert not out.joinpath("stale.txt").exists()
    assert out.joinpath("summary.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left


# ------------------------------------------------------------------ the script's refusals


def test_the_script_needs_two_arguments(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "usage: scripts/allure_report.sh RESULTS_DIR OUT_DIR" in done.stderr


def test_the_script_refuses_a_missing_or_empty_results_dir(tmp_path: Path) -> None:
    missing = generate(tmp_path / "nope", tmp_path / "out")
    assert missing.returncode == 2
    assert "no results directory" in missing.stderr
    tmp_path.joinpath("empty").mkdir()
    empty = generate(tmp_path / "empty", tmp_path / "out")
    assert empty.returncode == 2
    assert "holds no Allure results" in empty.stderr
    assert not tmp_path.joinpath("out").exists()


def test_the_script_never_overwrites_a_folder_that_is_not_a_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    results.joinpath("0-result.json").write_text("{}")
    precious = tmp_path / "precious"
    precious.mkdir()
    precious.joinpath("notes.txt").write_text("keep me")

    done = generate(results, precious)

    assert done.returncode == 2
    assert "holds no earlier Allure report" in done.stderr
    assert precious.joinpath("notes.txt").read_text() == "keep me"


def test_the_script_refuses_allure_2(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    results.joinpath("0-result.json").write_text("{}")
    fake = tmp_path / "allure"
    fake.write_text("#!/bin/sh\necho 2.30.0\n")
    fake.chmod(0o755)

    done = generate(results, tmp_path / "out", str(fake))

    assert done.returncode == 2
    assert "is not Allure 3 (version: 2.30.0)" in done.stderr
    assert not tmp_path.joinpath("out").exists()
