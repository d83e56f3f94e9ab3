"""The readiness verdict: which facts block a rollback, which only warn, and when none is needed.

``decide`` is pure, so every test builds its facts by hand: a healthy deployment whose
verdict is READY, changed in exactly one way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen.readiness.decide import BLOCKED, NOT_NEEDED, READY, Verdict, decide
from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts, StateFacts, VersionFacts
from pytest_ohpen.readiness.git_facts import GitFacts
from pytest_ohpen.readiness.work_in_progress import RunningWork
from pytest_ohpen.terraform.locks import LockInfo
from pytest_ohpen.terraform.state_versions import StateSummary, StateVersion

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LINEAGE = "4f0c2a9e-7d1b-4c55-9a3e-1b2c3d4e5f60"
HEAD = "a" * 40
TARGET_COMMIT = "b" * 40
FAILED = FailedCheck(
    nodeid="suites/smoke/test_smoke.py::test_bucket_exists[ohpen-bronze]",
    message="CheckFailed: bucket ohpen-bronze does not exist",
    resource="ohpen-bronze",
    kind="buckets",
    affects=("ohpen-transaction-etl-spark",),
)
LOCK = LockInfo(
    source="dynamodb:ohpen-tf-locks",
    lock_id="2b6a-lock",
    who="deployer@ci-runner-7",
    operation="OperationTypeApply",
    created="2026-05-01T11:58:03Z",
    raw={},
)


def version(version_id: str, age_minutes: int, *, latest: bool = False) -> StateVersion:
    """A live state version of 4000 bytes, ``age_minutes`` before NOW."""
    return StateVersion(version_id, NOW - timedelta(minutes=age_minutes), latest, 4000)


def summary(serial: int, **changes: Any) -> StateSummary:
    """A state with 12 resources, written by Terraform 1.7.5, of the deployment's lineage."""
    return replace(StateSummary(4, "1.7.5", serial, LINEAGE, 12), **changes)


VERSIONS = (version("v3", 5, latest=True), version("v2", 60), version("v1", 600))


def state(**changes: Any) -> StateFacts:
    """A versioned state object with three live versions; target the known-good one before."""
    healthy = StateFacts(
        bucket="ohpen-tf-state",
        key="prod/terraform.tfstate",
        versioning="Enabled",
        versions=VERSIONS,
        current=VersionFacts(VERSIONS[0], summary(12)),
        target=VersionFacts(VERSIONS[1], summary(11)),
        target_source="known_good",
        known_good_mark={"state_version_id": "v2"},
    )
    return replace(healthy, **changes)


def git(**changes: Any) -> GitFacts:
    """A clean checkout whose HEAD~1 resolves."""
    healthy = GitFacts(
        repo=Path("/srv/ohpen-infra"),
        head=HEAD,
        target_ref="HEAD~1",
        target_commit=TARGET_COMMIT,
        dirty=False,
        error=None,
    )
    return replace(healthy, **changes)


def facts(**changes: Any) -> ReadinessFacts:
    """A failed run on a healthy deployment: a rollback is needed and safe."""
    healthy = ReadinessFacts(
        environment="prod",
        account_id="123456789012",
        region="eu-west-1",
        checks_ran=True,
        failed_checks=[FAILED],
        passed=5,
        terraform_configured=True,
        state=state(),
        git=git(),
    )
    return replace(healthy, **changes)


def codes(verdict: Verdict) -> list[str]:
    return [reason.code for reason in verdict.blockers]


def warning_codes(verdict: Verdict) -> list[str]:
    return [reason.code for reason in verdict.warnings]


def test_a_failed_run_on_a_healthy_deployment_is_ready() -> None:
    """The baseline every other test changes: READY, nothing blocking, nothing to warn about."""
    verdict = decide(facts())
    assert verdict == Verdict(READY, (), ())
    assert verdict.rollback_possible


EXECUTION = RunningWork(
    kind="execution",
    resource="ohpen-etl-orchestration",
    run_id="arn:aws:states:eu-west-1:123456789012:execution:ohpen-etl-orchestration:run-42",
    started="2026-05-01T11:50:00Z",
)
GLUE_RUN = RunningWork(
    kind="glue_job_run",
    resource="ohpen-transaction-etl-spark",
    run_id="jr_0123456789abcdef",
    started="2026-05-01T11:55:00Z",
)
DELETE_MARKER = StateVersion("dm", NOW, True, 0, is_delete_marker=True)


@pytest.mark.parametrize(
    ("changed", "code"),
    [
        pytest.param(facts(lock=LOCK), "lock_held", id="lock-held"),
        pytest.param(facts(running=[EXECUTION]), "pipeline_running", id="execution-running"),
        pytest.param(facts(running=[GLUE_RUN]), "glue_run_running", id="glue-run-running"),
        pytest.param(
            facts(state=state(versioning="Suspended")),
            "state_bucket_unversioned",
            id="state-versioning-suspended",
        ),
        pytest.param(
            facts(state=state(versioning="Disabled")),
            "state_bucket_unversioned",
            id="state-versioning-disabled",
        ),
        pytest.param(
            facts(
                state=state(
                    versions=(VERSIONS[0],), target=None, target_source=None, known_good_mark=None
                )
            ),
            "single_version",
            id="single-live-version",
        ),
        pytest.param(
            facts(
                state=state(
                    versions=(), current=None, target=None, target_source=None, known_good_mark=None
                )
            ),
            "state_missing",
            id="no-versions",
        ),
        pytest.param(
            facts(state=state(versions=(DELETE_MARKER, *VERSIONS))),
            "state_deleted",
            id="latest-is-delete-marker",
        ),
        pytest.param(
            facts(state=state(target=VersionFacts(VERSIONS[1], summary(11, lineage="other")))),
            "lineage_mismatch",
            id="lineage-mismatch",
        ),
        pytest.param(
            facts(state=state(target=VersionFacts(VERSIONS[1], parse_error="not JSON"))),
            "target_unparsable",
            id="target-unparsable",
        ),
        pytest.param(
            facts(state=state(current=VersionFacts(VERSIONS[0], parse_error="empty body"))),
            "current_unparsable",
            id="current-unparsable",
        ),
        pytest.param(
            facts(state=state(target=VersionFacts(VERSIONS[1], summary(11, resource_count=0)))),
            "target_empty",
            id="target-empty",
        ),
        pytest.param(
            facts(unversioned_buckets=["ohpen-silver"]),
            "data_bucket_unversioned",
            id="data-bucket-unversioned",
        ),
        pytest.param(
            facts(git=git(head=None, target_commit=None, error="not a git repository: /srv/x")),
            "git",
            id="git-error",
        ),
        pytest.param(
            facts(git=git(target_commit=None)), "git_target_unresolved", id="git-target-unresolved"
        ),
        pytest.param(
            facts(unverified=["the state lock: AccessDenied on dynamodb:GetItem"]),
            "unverified",
            id="unverified-fact",
        ),
        pytest.param(facts(terraform_configured=False), "no_terraform_config", id="no-terraform"),
        pytest.param(
            facts(extra_blockers=["change freeze until 14:00"]), "hook", id="hook-blocker"
        ),
    ],
)
def test_each_blocker_on_its_own_blocks_with_its_code(changed: ReadinessFacts, code: str) -> None:
    """One unsafe fact is enough for BLOCKED, and it is reported as exactly that one reason."""
    verdict = decide(changed)
    assert verdict.verdict == BLOCKED
    assert codes(verdict) == [code]
    assert not verdict.rollback_possible


def test_a_held_lock_says_who_since_when_what_and_where() -> None:
    """The on-call engineer can find the deployment holding the lock from the message alone."""
    (reason,) = decide(facts(lock=LOCK)).blockers
    for part in ("deployer@ci-runner-7", "2026-05-01T11:58:03Z", "OperationTypeApply"):
        assert part in reason.message
    assert "dynamodb:ohpen-tf-locks" in reason.message


def test_a_lock_record_without_details_still_blocks_and_says_unknown() -> None:
    """A lock whose record says nothing (not JSON) still blocks; the gaps read as unknown."""
    bare = LockInfo("s3:ohpen-tf-state/prod/terraform.tfstate.tflock", "", "", "", "", {})
    (reason,) = decide(facts(lock=bare)).blockers
    assert reason.code == "lock_held"
    assert "unknown" in reason.message
    assert "s3:ohpen-tf-state/prod/terraform.tfstate.tflock" in reason.message


@pytest.mark.parametrize("work", [EXECUTION, GLUE_RUN], ids=["execution", "glue-run"])
def test_running_work_says_the_playbook_sentence_and_names_the_run(work: RunningWork) -> None:
    """The playbook's wording, plus which run of which resource to wait for."""
    (reason,) = decide(facts(running=[work])).blockers
    assert "Data pipeline is running: wait for current ETL runs to complete" in reason.message
    assert work.run_id in reason.message
    assert work.resource in reason.message


def test_every_running_run_is_a_blocker_of_its_own() -> None:
    """Two runs in flight: both listed, so none is forgotten when waiting."""
    verdict = decide(facts(running=[EXECUTION, GLUE_RUN]))
    assert codes(verdict) == ["pipeline_running", "glue_run_running"]


def test_a_lineage_mismatch_names_both_lineages() -> None:
    """Going back to another state's version is refused, and the message shows both lineages."""
    changed = facts(state=state(target=VersionFacts(VERSIONS[1], summary(11, lineage="other-l"))))
    (reason,) = decide(changed).blockers
    assert "other-l" in reason.message
    assert LINEAGE in reason.message


def test_an_unversioned_data_bucket_says_deleted_data_is_not_restored() -> None:
    """A rollback would leave that bucket's deleted objects gone: the message says so."""
    (reason,) = decide(facts(unversioned_buckets=["ohpen-silver"])).blockers
    assert "ohpen-silver" in reason.message
    assert "rollback does not restore deleted data" in reason.message


def test_an_unparsable_target_names_the_version_and_the_parse_error() -> None:
    """Which version cannot be read, and why."""
    changed = facts(state=state(target=VersionFacts(VERSIONS[1], parse_error="not JSON: x")))
    (reason,) = decide(changed).blockers
    assert "v2" in reason.message
    assert "not JSON: x" in reason.message


def test_a_target_empty_while_current_is_too_does_not_block() -> None:
    """Going from an empty state to an empty state destroys nothing."""
    empty = summary(0, resource_count=0)
    changed = facts(
        state=state(
            current=VersionFacts(VERSIONS[0], empty), target=VersionFacts(VERSIONS[1], empty)
        )
    )
    assert decide(changed).verdict == READY


def test_a_hook_blocker_added_with_add_blocker_blocks_with_its_own_words() -> None:
    """``facts.add_blocker`` from a conftest hook is a blocker like any other."""
    changed = facts()
    changed.add_blocker("change freeze until 14:00")
    verdict = decide(changed)
    assert verdict.verdict == BLOCKED
    assert [(r.code, r.message) for r in verdict.blockers] == [
        ("hook", "change freeze until 14:00")
    ]


def test_an_unverified_fact_says_what_could_not_be_verified() -> None:
    """Safety first: what could not be gathered blocks, and is named."""
    (reason,) = decide(facts(unverified=["running executions: throttled"])).blockers
    assert reason.message == "could not verify running executions: throttled"


def test_several_blockers_are_all_reported() -> None:
    """Fixing the first reason must not reveal a second one only on the next run."""
    changed = facts(
        lock=LOCK,
        running=[EXECUTION],
        unversioned_buckets=["ohpen-silver"],
        state=state(versioning="Suspended"),
        git=git(target_commit=None),
        unverified=["the Glue job runs: throttled"],
        extra_blockers=["change freeze"],
    )
    verdict = decide(changed)
    assert verdict.verdict == BLOCKED
    assert sorted(codes(verdict)) == sorted(
        [
            "lock_held",
            "pipeline_running",
            "data_bucket_unversioned",
            "state_bucket_unversioned",
            "git_target_unresolved",
            "unverified",
            "hook",
        ]
    )


def test_no_failed_checks_is_not_needed() -> None:
    """Every check passed: no rollback is needed."""
    verdict = decide(facts(failed_checks=[]))
    assert verdict.verdict == NOT_NEEDED
    assert verdict.rollback_possible


def test_not_needed_still_lists_the_blockers() -> None:
    """All checks passed while a deployment holds the lock: NOT_NEEDED, but the lock is shown
    (it would block the next rollback)."""
    verdict = decide(facts(failed_checks=[], lock=LOCK, running=[GLUE_RUN]))
    assert verdict.verdict == NOT_NEEDED
    assert codes(verdict) == ["lock_held", "glue_run_running"]
    assert not verdict.rollback_possible


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        pytest.param(facts(checks_ran=False, failed_checks=[]), READY, id="ready"),
        pytest.param(facts(checks_ran=False, failed_checks=[], lock=LOCK), BLOCKED, id="blocked"),
    ],
)
def test_without_checks_the_verdict_is_ready_or_blocked_never_not_needed(
    changed: ReadinessFacts, expected: str
) -> None:
    """``ohpen readiness`` runs no checks: it answers "could we roll back now?"."""
    assert decide(changed).verdict == expected


@pytest.mark.parametrize(
    ("changed", "code"),
    [
        pytest.param(facts(git=git(dirty=True)), "git_dirty", id="git-dirty"),
        pytest.param(
            facts(state=state(target_source="previous", known_good_mark=None)),
            "no_known_good",
            id="no-known-good",
        ),
        pytest.param(
            facts(state=state(target=VersionFacts(replace(VERSIONS[1], size=999), summary(11)))),
            "target_small",
            id="target-small",
        ),
        pytest.param(
            facts(
                state=state(
                    target=VersionFacts(VERSIONS[1], summary(11, terraform_version="1.5.7"))
                )
            ),
            "terraform_version_differs",
            id="terraform-version-differs",
        ),
        pytest.param(facts(extra_warnings=["a deploy is queued"]), "hook", id="hook-warning"),
    ],
)
def test_warnings_never_block(changed: ReadinessFacts, code: str) -> None:
    """What the engineer should know about still leaves the verdict READY."""
    verdict = decide(changed)
    assert verdict.verdict == READY
    assert verdict.blockers == ()
    assert warning_codes(verdict) == [code]


def test_a_target_of_exactly_a_quarter_of_the_size_is_not_small() -> None:
    """The small-target warning starts below 25 % of the current size, not at it."""
    quarter = facts(state=state(target=VersionFacts(replace(VERSIONS[1], size=1000), summary(11))))
    assert warning_codes(decide(quarter)) == []


def test_the_terraform_version_warning_names_both_versions() -> None:
    """The engineer sees which Terraform wrote which state."""
    changed = facts(
        state=state(target=VersionFacts(VERSIONS[1], summary(11, terraform_version="1.5.7")))
    )
    (reason,) = decide(changed).warnings
    assert "1.5.7" in reason.message
    assert "1.7.5" in reason.message


@pytest.mark.parametrize(
    ("verdict", "possible"),
    [
        (Verdict(READY, (), ()), True),
        (Verdict(NOT_NEEDED, (), ()), True),
        (Verdict(BLOCKED, (decide(facts(lock=LOCK)).blockers), ()), False),
    ],
    ids=["ready", "not-needed", "blocked"],
)
def test_rollback_possible_is_whether_anything_blocks(verdict: Verdict, possible: bool) -> None:
    """What ``ohpen readiness`` exits 0 on: no blocker, whatever the verdict word."""
    assert verdict.rollback_possible is possible
