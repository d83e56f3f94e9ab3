"""The readiness report (JSON data, Markdown, terminal lines) and how check outcomes are read
from pytest's reports.

The report tests build facts of a healthy deployment by hand and read the report as its JSON
says it; the outcome tests feed ``CheckOutcomes`` hand-made ``TestReport`` objects, as pytest
(or the xdist controller) logs them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen.checks.base import CheckFailed
from pytest_ohpen.plugin.outcomes import CheckOutcome, CheckOutcomes
from pytest_ohpen.readiness.decide import decide
from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts, StateFacts, VersionFacts
from pytest_ohpen.readiness.git_facts import GitFacts
from pytest_ohpen.readiness.render import summary_lines, to_json, to_markdown
from pytest_ohpen.readiness.report import Report, TriggerRecord, build_report
from pytest_ohpen.terraform.locks import LockInfo
from pytest_ohpen.terraform.state_versions import StateSummary, StateVersion

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LINEAGE = "4f0c2a9e-7d1b-4c55-9a3e-1b2c3d4e5f60"
TARGET_COMMIT = "b" * 40
VERSIONS = tuple(
    StateVersion(f"v{3 - age}", NOW - timedelta(hours=age, minutes=5), age == 0, 4000)
    for age in range(3)
)
LOCK = LockInfo(
    "dynamodb:ohpen-tf-locks", "lock-1", "deployer@ci-runner-7", "OperationTypeApply", "", {}
)
FAILED = FailedCheck(
    nodeid="suites/smoke/test_smoke.py::test_bucket_exists[ohpen-bronze]",
    message="CheckFailed: bucket ohpen-bronze does not exist",
    resource="ohpen-bronze",
    kind="buckets",
    affects=("ohpen-transaction-etl-spark",),
)
GENERATED = datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
"""12:00 UTC, given in another zone: the report says it in UTC."""
SECOND = FailedCheck(
    nodeid="suites/smoke/test_smoke.py::test_state_machine_exists[ohpen-etl-orchestration]",
    message="CheckFailed: state machine ohpen-etl-orchestration does not exist",
    resource="ohpen-etl-orchestration",
    kind="state_machines",
    affects=("ohpen-transaction-etl-spark", "ohpen-read-run-summary"),
)
PATHS = [Path("reports/readiness-prod.json"), Path("reports/readiness-prod.md")]


def facts(**changes: Any) -> ReadinessFacts:
    """A failed run on a healthy deployment: READY to go back to v2 and HEAD~1."""
    healthy = ReadinessFacts(
        environment="prod",
        account_id="123456789012",
        region="eu-west-1",
        checks_ran=True,
        failed_checks=[FAILED],
        passed=5,
        state=StateFacts(
            bucket="ohpen-tf-state",
            key="prod/terraform.tfstate",
            versioning="Enabled",
            versions=VERSIONS,
            current=VersionFacts(VERSIONS[0], StateSummary(4, "1.7.5", 12, LINEAGE, 12)),
            target=VersionFacts(VERSIONS[1], StateSummary(4, "1.7.5", 11, LINEAGE, 12)),
            target_source="known_good",
        ),
        git=GitFacts(Path("/srv/ohpen-infra"), "a" * 40, "HEAD~1", TARGET_COMMIT, False, None),
    )
    return replace(healthy, **changes)


OPERATOR = {"aws_caller": "arn:aws:iam::123456789012:user/ci"}


def report_of(given: ReadinessFacts) -> Report:
    return build_report(given, decide(given), GENERATED, OPERATOR)


def data(report: Report) -> dict[str, Any]:
    """The report as its JSON file says it."""
    loaded: dict[str, Any] = json.loads(to_json(report))
    return loaded


def ready() -> Report:
    """Two failed checks on a healthy deployment."""
    return report_of(facts(failed_checks=[FAILED, SECOND], passed_on_retry=["t::lambda"]))


def blocked() -> Report:
    """Two failed checks while a deployment holds the lock and a bucket is unversioned."""
    return report_of(
        facts(failed_checks=[FAILED, SECOND], lock=LOCK, unversioned_buckets=["ohpen-silver"])
    )


def test_a_ready_report_says_ready_and_where_to_roll_back_to() -> None:
    """Schema 1, the verdict, no blockers, and the target state version and commit."""
    report = data(ready())
    assert report["schema_version"] == 1
    assert report["kind"] == "readiness_report"
    assert report["verdict"] == "READY"
    assert report["rollback_possible"] is True
    assert report["blockers"] == []
    assert report["environment"] == {
        "name": "prod",
        "account_id": "123456789012",
        "region": "eu-west-1",
    }
    target = report["target"]
    assert {k: target[k] for k in ("state_version_id", "serial", "lineage", "source")} == {
        "state_version_id": "v2",
        "serial": 11,
        "lineage": LINEAGE,
        "source": "known_good",
    }
    assert (target["git_ref"], target["git_commit"]) == ("HEAD~1", TARGET_COMMIT)
    current = report["current"]
    assert (current["state_version_id"], current["serial"], current["lineage"]) == (
        "v3",
        12,
        LINEAGE,
    )
    assert report["checks"] == {
        "ran": True,
        "passed": 5,
        "failed": 2,
        "inconclusive": 0,
        "passed_on_retry": ["t::lambda"],
    }


def test_a_blocked_report_lists_every_blocker_as_code_and_message() -> None:
    """Tools read the codes, people the messages; both are there for every blocker."""
    report = data(blocked())
    assert report["verdict"] == "BLOCKED"
    assert report["rollback_possible"] is False
    assert [b["code"] for b in report["blockers"]] == ["lock_held", "data_bucket_unversioned"]
    assert all(set(b) == {"code", "message"} for b in report["blockers"])
    assert "deployer@ci-runner-7" in report["blockers"][0]["message"]
    assert report["lock"]["who"] == "deployer@ci-runner-7"


def test_affected_is_what_the_failed_resources_feed_each_named_once_in_order() -> None:
    """The Glue job fed by both failing resources is listed once, first, as first seen."""
    assert data(ready())["affected"] == ["ohpen-transaction-etl-spark", "ohpen-read-run-summary"]


@pytest.mark.parametrize("make", [ready, blocked], ids=["ready", "blocked"])
def test_the_report_is_plain_json_with_utc_times(make: Any) -> None:
    """Stable JSON (sorted keys, two-space indent); every time is ISO 8601 in UTC ending in Z;
    paths are strings."""
    text = to_json(make())
    report = json.loads(text)
    assert text == json.dumps(report, indent=2, sort_keys=True) + "\n"
    assert text == to_json(make()), "the same report renders the same bytes"
    assert report["generated_at"] == "2026-05-01T12:00:00Z"
    times = [report["target"]["last_modified"], report["current"]["last_modified"]]
    times += [v["last_modified"] for v in report["state"]["versions"]]
    for value in times:
        assert isinstance(value, str)
        assert value.endswith("Z")
        assert datetime.fromisoformat(value).tzinfo is not None
    assert report["state"]["versions"][0]["last_modified"] == "2026-05-01T11:55:00Z"
    assert report["git"]["repo"] == "/srv/ohpen-infra"


def test_a_report_without_state_or_git_has_no_target() -> None:
    """Nothing known to roll back to: target and current are null, not half-filled."""
    report = report_of(facts(state=None, git=None, terraform_configured=False))
    assert data(report)["target"] is None
    assert data(report)["current"] is None
    assert data(report)["state"] is None
    assert "unknown" in to_markdown(report)


@pytest.mark.parametrize(("make", "word"), [(ready, "READY"), (blocked, "BLOCKED")])
def test_markdown_starts_with_environment_and_verdict(make: Any, word: str) -> None:
    """The first line of the Markdown report is the answer."""
    markdown = to_markdown(make())
    assert markdown.splitlines()[0] == f"# Rollback readiness: prod — {word}"


def test_markdown_lists_every_blocker_and_failed_check() -> None:
    """Each blocker's sentence and each failed check with its message are in the Markdown."""
    report = blocked()
    markdown = to_markdown(report)
    for blocker in data(report)["blockers"]:
        assert f"- {blocker['message']}" in markdown
    for check in (FAILED, SECOND):
        assert f"`{check.nodeid}`: {check.message}" in markdown
    assert "ohpen-read-run-summary" in markdown
    assert "state version `v2`" in markdown


def test_markdown_of_a_ready_report_has_no_blocker_section() -> None:
    """Nothing blocking: no empty "Blocking" heading."""
    assert "Blocking a rollback now" not in to_markdown(ready())


def test_summary_lines_are_few_verdict_first_and_name_the_report_files() -> None:
    """Pytest's terminal summary stays short and points to the full report."""
    lines = summary_lines(blocked(), PATHS)
    assert len(lines) <= 8
    assert lines[0].startswith("verdict: BLOCKED")
    assert "prod" in lines[0]
    for path in PATHS:
        assert any(str(path) in line for line in lines)
    assert any("v2" in line and TARGET_COMMIT in line for line in lines)


def test_summary_lines_of_a_not_needed_report_do_not_offer_a_target() -> None:
    """All checks passed: the summary says so and does not suggest rolling back."""
    lines = summary_lines(report_of(facts(failed_checks=[])), PATHS)
    assert lines[0] == "verdict: NOT_NEEDED (prod)"
    assert not any("roll back to" in line for line in lines)


def test_the_report_does_not_follow_the_facts_changed_after_it_was_built() -> None:
    """A hook keeping the facts and changing them later (their lists, ``extra``, the
    known-good mark) changes nothing in the report already built."""
    mark = {"git_commit": TARGET_COMMIT, "state_version_id": "v2"}
    state = facts().state
    assert state is not None
    given = facts(extra={"ticket": {"id": "CHG-1"}}, state=replace(state, known_good_mark=mark))
    report = report_of(given)
    before = to_json(report)

    given.extra["ticket"]["id"] = "CHG-2"
    given.failed_checks.append(SECOND)
    given.passed_on_retry.append("t::later")
    mark["git_commit"] = "c" * 40

    assert to_json(report) == before
    assert data(report)["extra"] == {"ticket": {"id": "CHG-1"}}
    assert data(report)["target"]["known_good_mark"]["git_commit"] == TARGET_COMMIT


def test_a_trigger_that_ran_its_command_says_how_it_ended_one_that_did_not_says_why() -> None:
    """The ``rollback`` object: ``timed_out`` only when the command ran; Markdown and the
    summary name the mode, the fallback reasons, the command and its exit code."""
    refused = TriggerRecord(
        "apply", "dry-run", ("no approval",), error="no [prod.rollback] command is configured"
    )
    ran = TriggerRecord(
        "dry-run",
        "dry-run",
        command=("scripts/rollback.sh", "--dry-run"),
        exit_code=0,
        duration_seconds=2.25,
        output=("plan: 0 to change",),
        timed_out=False,
    )

    not_run = data(replace(ready(), rollback=refused))["rollback"]
    assert not_run["mode"] == "dry-run"
    assert not_run["fallback_reasons"] == ["no approval"]
    assert not_run["command"] is None
    assert "timed_out" not in not_run
    done = data(replace(ready(), rollback=ran))["rollback"]
    assert done["command"] == ["scripts/rollback.sh", "--dry-run"]
    assert (done["exit_code"], done["duration_seconds"], done["timed_out"]) == (0, 2.25, False)
    assert done["output"] == ["plan: 0 to change"]
    markdown = to_markdown(replace(ready(), rollback=ran))
    assert "- command: `scripts/rollback.sh --dry-run`" in markdown
    assert "- exit code 0 after 2.2 s" in markdown
    assert "not applied: no approval" in to_markdown(replace(ready(), rollback=refused))
    assert "  rollback: dry-run, exit code 0" in summary_lines(replace(ready(), rollback=ran), [])


# --- CheckOutcomes -------------------------------------------------------------------------

NODEID = "suites/smoke/test_smoke.py::test_bucket_exists[b]"
PROPERTIES = [("ohpen_check", "prod"), ("ohpen_resource", "b"), ("ohpen_resource_kind", "buckets")]


def failure(message: str) -> Any:
    """The longrepr pytest logs for a check that raised CheckFailed(message)."""
    try:
        raise CheckFailed(message)
    except CheckFailed:
        return pytest.ExceptionInfo.from_current().getrepr()


def report(
    when: str,
    outcome: str,
    longrepr: Any = None,
    properties: list[tuple[str, object]] | None = None,
) -> pytest.TestReport:
    """One logged report of the check ``NODEID`` (an ohpen check unless told otherwise)."""
    return pytest.TestReport(
        NODEID,
        ("suites/smoke/test_smoke.py", 10, "test_bucket_exists[b]"),
        {},
        outcome,  # type: ignore[arg-type]
        longrepr,
        when,  # type: ignore[arg-type]
        user_properties=PROPERTIES if properties is None else properties,
    )


def attempt(call: str, longrepr: Any = None) -> list[pytest.TestReport]:
    """Setup, call and teardown of one attempt whose call ended ``call``."""
    return [report("setup", "passed"), report("call", call, longrepr), report("teardown", "passed")]


def outcomes_of(reports: list[pytest.TestReport]) -> CheckOutcomes:
    outcomes = CheckOutcomes()
    for logged in reports:
        outcomes.record(logged)
    return outcomes


def ids(outcomes: tuple[CheckOutcome, ...]) -> list[str]:
    return [outcome.nodeid for outcome in outcomes]


def only(outcomes: CheckOutcomes) -> CheckOutcome:
    """The outcome of ``NODEID``, the one check these tests log."""
    [outcome] = outcomes.results
    assert outcome.nodeid == NODEID
    return outcome


def test_a_test_that_is_not_an_ohpen_check_is_ignored() -> None:
    """The user's own tests in the same run do not count as checks."""
    outcomes = outcomes_of([report("call", "failed", failure("boom"), properties=[("other", "x")])])
    assert outcomes.results == ()


def test_a_passing_check_is_passed_with_its_resource() -> None:
    """The resource each check verified is known, for the report."""
    outcomes = outcomes_of(attempt("passed"))
    assert ids(outcomes.passed) == [NODEID]
    assert outcomes.failed == ()
    assert outcomes.passed_on_retry == ()
    assert (only(outcomes).resource, only(outcomes).kind) == ("b", "buckets")


def test_a_rerun_then_a_pass_is_passed_on_retry() -> None:
    """A check that needed its retry passed, and the report says it needed one."""
    outcomes = outcomes_of([*attempt("rerun", failure("not yet")), *attempt("passed")])
    assert ids(outcomes.passed) == [NODEID]
    assert outcomes.failed == ()
    assert ids(outcomes.passed_on_retry) == [NODEID]
    assert only(outcomes).message is None
    assert only(outcomes).retried


def test_a_rerun_then_a_fail_is_failed_with_the_failure_line() -> None:
    """The final attempt decides; its CheckFailed message is the one-line reason."""
    outcomes = outcomes_of(
        [
            *attempt("rerun", failure("first attempt")),
            *attempt("failed", failure("bucket b does not exist\n  (after retry)")),
        ]
    )
    assert ids(outcomes.failed) == [NODEID]
    assert outcomes.passed == ()
    assert outcomes.passed_on_retry == ()
    message = only(outcomes).message or ""
    assert "bucket b does not exist (after retry)" in message
    assert "first attempt" not in message
    assert "\n" not in message


def test_a_setup_failure_is_failed() -> None:
    """A check whose fixture could not reach AWS failed; no call report ever comes."""
    outcomes = outcomes_of(
        [report("setup", "failed", failure("no credentials")), report("teardown", "passed")]
    )
    assert ids(outcomes.failed) == [NODEID]
    assert "no credentials" in (only(outcomes).message or "")


def test_a_teardown_failure_after_a_pass_is_failed() -> None:
    """An error after the check body still fails the check."""
    outcomes = outcomes_of(
        [
            report("setup", "passed"),
            report("call", "passed"),
            report("teardown", "failed", failure("cleanup failed")),
        ]
    )
    assert ids(outcomes.failed) == [NODEID]


def test_a_skipped_check_is_neither_passed_nor_failed() -> None:
    """A skipped call (e.g. Lambda invocation off) counts for nothing."""
    skip = ("suites/smoke/test_smoke.py", 10, "Skipped: invoke_lambda is off")
    outcomes = outcomes_of(attempt("skipped", skip))
    assert only(outcomes).status == "skipped"
    assert outcomes.passed == ()
    assert outcomes.failed == ()


def test_a_check_skipped_in_setup_is_skipped() -> None:
    """A skip from a fixture (no call report) is recorded as skipped too."""
    skip = ("suites/smoke/test_smoke.py", 10, "Skipped: not in this environment")
    outcomes = outcomes_of([report("setup", "skipped", skip), report("teardown", "passed")])
    assert only(outcomes).status == "skipped"
    assert outcomes.passed == ()
    assert outcomes.failed == ()
