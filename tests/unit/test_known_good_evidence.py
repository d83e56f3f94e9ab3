"""What a known-good mark needs (every check passed or skipped by choice, nothing left out)
and what it records (suite, counts, the deployed commit: never the checkout's HEAD)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pytest_ohpen.plugin.evidence import evidence_of, nothing_checked, suite_of
from pytest_ohpen.plugin.outcomes import BY_CHOICE, CheckOutcome
from pytest_ohpen.records.known_good import DeployedCommit, deployed_commit, mark_data
from pytest_ohpen.records.store import AuditRecord
from pytest_ohpen.terraform.state_versions import StateVersion
from pytest_ohpen.terraform.target import KNOWN_GOOD, PREVIOUS, choose_target, known_good_order

SMOKE = "suites/smoke/test_smoke.py::"
POST = "suites/post_rollback/test_security.py::"
OPT_IN = f"invocation is opt-in: --invoke-lambda or SMOKE_INVOKE_LAMBDA=1 {BY_CHOICE}"
EMPTY = "got empty parameter set for (ohpen_glue_job)"
SHA_A = "a" * 40
SHA_B = "b" * 40
START = datetime(2024, 5, 1, tzinfo=UTC)


def passed(name: str, kind: str | None = "buckets", where: str = SMOKE) -> CheckOutcome:
    return CheckOutcome(f"{where}{name}", "passed", name, kind)


def skipped(name: str, reason: str, where: str = SMOKE) -> CheckOutcome:
    return CheckOutcome(f"{where}{name}", "skipped", None, None, reason)


def test_a_complete_green_run_is_proof_and_says_what_passed() -> None:
    results = [
        passed("b1"),
        passed("b2"),
        passed("fn", "lambdas"),
        passed("topic", None, POST),
        skipped("invoke", OPT_IN),
    ]
    evidence = evidence_of(results, "prod")
    assert evidence.proves, evidence.gaps
    assert evidence.suite == "post_rollback+smoke"
    assert evidence.passed == 4
    assert dict(evidence.by_kind) == {"buckets": 2, "lambdas": 1, "other": 1}
    assert evidence.skipped_by_choice == 1


@pytest.mark.parametrize(
    "reason",
    [
        EMPTY,
        "no known target state version: pass --target-state-version VERSION|previous|latest",
        "no [prod.resources] failure_topic configured",
    ],
)
def test_a_check_skipped_not_by_choice_is_no_proof(reason: str) -> None:
    evidence = evidence_of([passed("b1"), skipped("x", reason)], "prod")
    assert not evidence.proves
    assert any("skipped, not by choice" in gap for gap in evidence.gaps)


def test_a_run_that_left_checks_out_or_checked_nothing_is_no_proof() -> None:
    assert evidence_of([passed("b1")], "prod", left_out="only part").gaps == ("only part",)
    assert "nothing was checked" in evidence_of([skipped("i", OPT_IN)], "prod").gaps
    failed = CheckOutcome(f"{SMOKE}b", "inconclusive")  # any status but passed/skipped
    assert not evidence_of([passed("b1"), failed], "prod").proves


def test_nothing_checked_is_one_line_naming_the_empty_resource_lists() -> None:
    results = [
        skipped("b", "got empty parameter set for (ohpen_bucket)"),
        skipped("g", EMPTY),
        skipped("l1", "got empty parameter set for (ohpen_lambda)"),
        skipped("l2", "got empty parameter set for (ohpen_lambda)"),
    ]
    line = nothing_checked(results, "prod")
    assert line is not None and "\n" not in line
    assert line.startswith("nothing was checked in environment 'prod': every check was skipped")
    assert "[prod.resources] lists no buckets, glue_jobs, lambdas" in line
    assert nothing_checked([*results, passed("b1")], "prod") is None
    assert nothing_checked([], "prod") is None


def test_the_suite_is_the_folder_under_suites() -> None:
    assert suite_of("suites/smoke/test_smoke.py::test_x[a]") == "smoke"
    assert suite_of("deploy/suites/post_rollback/test_pipeline.py::t") == "post_rollback"
    assert suite_of("checks/test_mine.py::t") == "checks"
    assert suite_of("test_smoke.py::t") == "test_smoke"


def incident(state_version: str | None, commit: str, outcome: str = "applied") -> AuditRecord:
    return AuditRecord(
        f"i-{commit[:4]}",
        "incident",
        "prod",
        START,
        {
            "outcome": outcome,
            "rolled_back_to": {"git_commit": commit, "state_version": state_version},
        },
    )


def test_the_deployed_commit_is_the_option_then_ci_then_the_rollback_then_unknown() -> None:
    ci = {"GITHUB_SHA": SHA_B}
    rolled = [incident("v2", SHA_A)]
    assert deployed_commit(SHA_A, "--deployed-commit", ci, [], "v2").sha == SHA_A
    assert deployed_commit(None, None, ci, rolled, "v2") == DeployedCommit(SHA_B, "GITHUB_SHA")
    assert deployed_commit(None, None, {"CI_COMMIT_SHA": SHA_B}, [], "v2").sha == SHA_B
    assert deployed_commit(None, None, {}, rolled, "v2") == DeployedCommit(SHA_A, "incident i-aaaa")
    assert deployed_commit(None, None, {}, rolled, "v3") == DeployedCommit(None, None)
    failed = [incident("v2", SHA_A, outcome="failed")]
    assert deployed_commit(None, None, {}, failed, "v2").sha is None
    assert deployed_commit(None, None, {"GITHUB_SHA": "main"}, [], "v2").sha is None


def test_the_mark_records_the_deployed_commit_not_the_checkout_head() -> None:
    evidence = evidence_of([passed("b1"), skipped("invoke", OPT_IN)], "prod")
    data = mark_data(
        "v2",
        evidence,
        DeployedCommit(None, None),
        checkout_head=SHA_B,
        marked_at="2024-05-01T00:00:00Z",
        operator={},
    )
    assert data["git_commit"] is None
    assert data["checkout_head"] == SHA_B
    assert (data["suite"], data["checks_passed"], data["checks_by_kind"]) == (
        "smoke",
        1,
        {"buckets": 1},
    )
    assert data["checks_skipped_by_choice"] == 1


def versions(*ids: str) -> list[StateVersion]:
    return [StateVersion(i, START - timedelta(hours=n), n == 0, 10) for n, i in enumerate(ids)]


def test_a_target_proven_by_the_post_rollback_suite_wins_over_a_newer_smoke_mark() -> None:
    listed = versions("v4", "v3", "v2", "v1")
    marks = [  # newest first, as the store lists them
        {"state_version_id": "v4", "suite": "post_rollback"},  # current: never the target
        {"state_version_id": "v3", "suite": "smoke"},
        {"state_version_id": "v2"},  # before marks recorded their suite: smoke
        {"state_version_id": "v1", "suite": "post_rollback+smoke"},
    ]
    chosen = choose_target(listed, known_good_order(marks))
    assert chosen is not None and (chosen.version.version_id, chosen.reason) == ("v1", KNOWN_GOOD)
    smoke_only = choose_target(listed, known_good_order(marks[:3]))
    assert smoke_only is not None and smoke_only.version.version_id == "v3"
    none = choose_target(listed, known_good_order(marks[:1]))
    assert none is not None and (none.version.version_id, none.reason) == ("v3", PREVIOUS)
