"""The incident entry as people read it: a readable operator and the approver, every
verification suite with its recorded result, and annotations merged in (newest wins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_ohpen.records.identity import arn_name, readable_operator
from pytest_ohpen.records.store import AuditRecord
from pytest_ohpen.rollback.incident import (
    ANNOTATION_KIND,
    KIND,
    TO_FILL,
    annotation_data,
    annotations_of,
    incident_data,
    incident_markdown,
    missing_fields,
)

USER_ARN = "arn:aws:iam::123456789012:user/moto"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/ohpen-rollback/jane"


def data(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "reason": "ETL duration 10x after deploy",
        "deployment_sha": "abc1234",
        "restored_sha": "def5678",
        "restored_state_version": "v42",
        "operator": {"aws_caller": USER_ARN},
        "started_at": "2024-09-12T08:30:00Z",
        "finished_at": "2024-09-12T08:36:00Z",
        "mode": "apply",
        "outcome": "applied",
        "verification": "smoke tests passed",
    }
    fields.update(overrides)
    return incident_data(**fields)


def note(
    record_id: str, hour: int, incident_id: str = "INC", who: str = ROLE_ARN, **fields: str
) -> AuditRecord:
    return AuditRecord(
        id=record_id,
        kind=ANNOTATION_KIND,
        environment="prod",
        recorded_at=datetime(2024, 9, 13, hour, tzinfo=UTC),
        data=annotation_data(incident_id, {"aws_caller": who}, fields),
    )


def field(markdown: str, name: str) -> str:
    prefix = f"**{name}**: "
    return next(line[len(prefix) :] for line in markdown.splitlines() if line.startswith(prefix))


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (ROLE_ARN, "jane (role ohpen-rollback)"),
        (USER_ARN, "moto"),
        ("arn:aws:iam::123456789012:user/team/ops/alice", "alice"),
        ("arn:aws:iam::123456789012:root", "root of account 123456789012"),
        ("not-an-arn", "not-an-arn"),
        (None, None),
        ("unknown", None),
    ],
)
def test_a_caller_arn_reads_as_a_name(arn: str | None, name: str | None) -> None:
    assert arn_name(arn) == name


def test_the_ci_actor_comes_before_the_aws_caller_and_the_login_name() -> None:
    assert readable_operator({"aws_caller": ROLE_ARN, "GITHUB_ACTOR": "octocat"}) == "octocat"
    assert (
        readable_operator({"aws_caller": ROLE_ARN, "USER": "runner"})
        == "jane (role ohpen-rollback)"
    )
    assert readable_operator({"aws_caller": "unknown", "USER": "runner"}) == "runner"
    assert readable_operator({}) == "unknown"


def test_performed_by_names_the_operator_and_the_arn_once() -> None:
    """Before: ``arn:…:user/moto (arn:…:user/moto)``."""
    markdown = incident_markdown("INC", "prod", data())

    assert field(markdown, "Rollback performed by") == f"moto (AWS caller {USER_ARN})"
    assert markdown.count(USER_ARN) == 1


def test_the_approver_is_in_the_entry() -> None:
    approved = data(operator={"aws_caller": ROLE_ARN, "approved_by": "lead.on.call"})

    assert field(incident_markdown("INC", "prod", approved), "Approved by") == "lead.on.call"
    assert field(incident_markdown("INC", "prod", data()), "Approved by") == "not recorded"


def test_verification_lists_every_suite_and_says_which_did_not_run() -> None:
    lines = incident_markdown("INC", "prod", data()).splitlines()
    at = lines.index("**Verification**:")

    assert lines[at + 1 : at + 4] == [
        "- smoke: smoke tests passed",
        "- post-rollback: not run",
        "- pipeline: not run",
    ]


def test_verification_shows_the_results_the_record_holds() -> None:
    ran = data(
        verification="not run",
        verification_suites={"post_rollback": "12 passed", "pipeline": "ETL run succeeded"},
    )
    lines = incident_markdown("INC", "prod", ran).splitlines()
    at = lines.index("**Verification**:")

    assert lines[at + 1 : at + 4] == [
        "- smoke: not run",
        "- post-rollback: 12 passed",
        "- pipeline: ETL run succeeded",
    ]


def test_the_playbook_layout_is_kept() -> None:
    lines = incident_markdown("INC", "prod", data()).splitlines()

    assert lines[0] == "## Rollback: 2024-09-12 (prod, INC)"
    assert lines[2:5] == [
        "**Reason**: ETL duration 10x after deploy",
        "**Deployment SHA**: abc1234",
        "**Rolled back to**: git def5678 / state version v42",
    ]
    assert lines[-2:] == [f"**Root cause**: {TO_FILL}", f"**Prevention**: {TO_FILL}"]


def test_annotations_fill_the_entry_and_the_newest_value_wins() -> None:
    records = [
        note("n2", 10, root_cause="Glue job v2 doubled the shuffle"),
        note("n1", 9, root_cause="unknown yet", prevention="load test before prod"),
        note("other", 11, incident_id="ANOTHER", prevention="not this incident"),
    ]
    notes = annotations_of("INC", records)

    markdown = incident_markdown("INC", "prod", data(), notes)

    assert field(markdown, "Root cause") == "Glue job v2 doubled the shuffle"
    assert field(markdown, "Prevention") == "load test before prod"
    assert markdown.splitlines()[-3:] == [
        "**Annotations**:",
        "- 2024-09-13T09:00:00Z by jane (role ohpen-rollback) (n1): root cause, prevention",
        "- 2024-09-13T10:00:00Z by jane (role ohpen-rollback) (n2): root cause",
    ]


def test_an_incident_is_complete_once_both_fields_are_annotated() -> None:
    assert missing_fields(data()) == ["root cause", "prevention"]
    half = annotations_of("INC", [note("n1", 9, prevention="canary")])
    assert missing_fields(data(), half) == ["root cause"]
    both = annotations_of(
        "INC", [note("n1", 9, prevention="canary"), note("n2", 10, root_cause="x")]
    )
    assert missing_fields(data(), both) == []


def test_an_annotation_is_a_record_of_its_own_kind_naming_the_incident() -> None:
    record = note("n1", 9, root_cause="x")

    assert (record.kind, record.data["incident_id"]) == (ANNOTATION_KIND, "INC")
    assert ANNOTATION_KIND != KIND  # never read as an incident
    with pytest.raises(ValueError, match="reason"):
        annotation_data("INC", {}, {"reason": "rewritten"})
