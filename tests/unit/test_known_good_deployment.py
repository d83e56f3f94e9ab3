"""A known-good mark takes its deployed commit from the ``deployment`` record (``ohpen deploy
--apply``) whose state version after is the marked one: after the explicit sources (command
line, CI's variables), alongside the rollback's incident records, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_ohpen.deploy import records as deployment
from pytest_ohpen.plugin.evidence import evidence_of
from pytest_ohpen.plugin.outcomes import CheckOutcome
from pytest_ohpen.readiness import conclude
from pytest_ohpen.records.known_good import DeployedCommit, deployed_commit, record_commit
from pytest_ohpen.records.store import AuditRecord, AuditStore

SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40
START = datetime(2024, 5, 1, tzinfo=UTC)


def finished(
    record_id: str,
    commit: str,
    after: str | None,
    *,
    result: str = deployment.SUCCEEDED,
    status: str = deployment.FINISHED,
    minutes: int = 0,
) -> AuditRecord:
    """A ``deployment`` outcome record as ``ohpen deploy --apply`` writes it."""
    started = deployment.started_data(
        commit=commit,
        ref="HEAD",
        state_version_before="v1",
        review=None,
        operator={"aws_caller": "arn:aws:iam::123456789012:user/ci"},
        started_at="2024-05-01T00:00:00Z",
        allow_destroy=False,
    )
    data = deployment.finished_data(
        started,
        started_record="s-1",
        state_version_after=after,
        applied=result == deployment.SUCCEEDED,
        error=None if result == deployment.SUCCEEDED else "terraform apply failed",
        ended_at="2024-05-01T00:01:00Z",
        apply_seconds=1.0,
    )
    data["status"] = status
    return AuditRecord(record_id, "deployment", "prod", START + timedelta(minutes=minutes), data)


def incident(record_id: str, commit: str, version: str, minutes: int = 0) -> AuditRecord:
    return AuditRecord(
        record_id,
        "incident",
        "prod",
        START + timedelta(minutes=minutes),
        {"outcome": "applied", "rolled_back_to": {"git_commit": commit, "state_version": version}},
    )


def test_the_deployment_whose_state_version_after_is_marked_names_the_commit() -> None:
    applied = [finished("d-1", SHA_A, "v2")]

    assert deployed_commit(None, None, {}, applied, "v2") == DeployedCommit(SHA_A, "deployment d-1")
    assert deployed_commit(None, None, {}, applied, "v1").sha is None, "that is its 'before'"


def test_explicit_sources_come_before_the_deployment_record() -> None:
    applied = [finished("d-1", SHA_A, "v2")]

    given = deployed_commit(SHA_B, "--deployed-commit (command line)", {}, applied, "v2")
    assert given == DeployedCommit(SHA_B, "--deployed-commit (command line)")
    assert deployed_commit(None, None, {"GITHUB_SHA": SHA_C}, applied, "v2").source == "GITHUB_SHA"


def test_only_a_finished_succeeded_deployment_counts() -> None:
    for record in (
        finished("d-f", SHA_A, "v2", result=deployment.FAILED),
        finished("d-s", SHA_A, "v2", status=deployment.STARTED),
        finished("d-n", SHA_A, None),
    ):
        assert record_commit(record, "v2") is None, record.id
    assert record_commit(finished("d-bad", "main", "v2"), "v2") is None, "a branch, not a sha"


def test_deployments_and_rollbacks_are_one_history_newest_first() -> None:
    """The state version a rollback produced and then a deploy re-applied: the newer says."""
    rolled = incident("i-1", SHA_A, "v2", minutes=1)
    deployed = finished("d-2", SHA_B, "v2", minutes=2)

    newest_first = [deployed, rolled]
    assert deployed_commit(None, None, {}, newest_first, "v2").source == "deployment d-2"
    assert deployed_commit(None, None, {}, [rolled], "v2").source == "incident i-1"


def test_a_green_run_marks_the_version_with_the_deployed_commit(tmp_path: Path) -> None:
    """The mark a smoke run writes reads the deployment records from the audit store (with
    the incidents), not only the rollbacks: on the old code it recorded no commit."""
    store = AuditStore(tmp_path / "audit")
    store.write("incident", "prod", incident("x", SHA_A, "v1").data)
    started = finished("d", SHA_B, "v2").data
    store.write("deployment", "prod", {**started, "status": "started"})
    store.write("deployment", "prod", started)
    lines: list[str] = []
    check = CheckOutcome("suites/smoke/test_smoke.py::test_b", "passed", "b", "buckets")
    run: Any = SimpleNamespace(
        env=SimpleNamespace(name="prod"),
        audit=store,
        evidence=evidence_of([check], "prod"),
        deployed_commit=None,
        write_line=lines.append,
    )
    report: Any = SimpleNamespace(
        current=SimpleNamespace(version=SimpleNamespace(version_id="v2")),
        git_head=SHA_C,
        generated_at=START,
        operator={},
    )

    conclude._mark_known_good(run, report)

    (mark,) = store.known_good("prod")
    (record,) = [r for r in store.records("deployment", "prod") if r.data["status"] == "finished"]
    assert mark.data["git_commit"] == SHA_B
    assert mark.data["git_commit_source"] == f"deployment {record.id}"
    assert mark.data["checkout_head"] == SHA_C
    assert lines == []
