"""On moto: readiness gathers what the rollback would change (the current state version
against the target one, from the two bodies it reads anyway) and the exact apply command;
an unreadable target body is an unknown difference, never "no changes"."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import accounts
import botocore.exceptions
import pytest
from accounts import STATE_BUCKET, STATE_KEY
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import RollbackSettings, Terraform
from pytest_ohpen.readiness import gather as gathering
from pytest_ohpen.readiness.decide import decide
from pytest_ohpen.readiness.gather import gather
from pytest_ohpen.readiness.render import to_json, to_markdown
from pytest_ohpen.readiness.report import build_report
from pytest_ohpen.readiness.state_diff import AttributeChange
from pytest_ohpen.terraform import state_versions as statefile

COMMAND = ("scripts/rollback_terraform.sh", "--env", "{env}", "--target-version", "{target_ref}")
SECRET = "db-password-never-in-a-report"


def managed(type_: str, label: str, **attributes: Any) -> dict[str, Any]:
    return {
        "mode": "managed",
        "type": type_,
        "name": label,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [{"schema_version": 0, "attributes": attributes}],
    }


def body(serial: int, *resources: dict[str, Any]) -> bytes:
    state = {**accounts.terraform_state(serial), "resources": list(resources)}
    return json.dumps(state, indent=2).encode()


GOOD = body(
    1,
    managed("aws_s3_bucket", "bronze", bucket="ohpen-bronze"),
    managed("aws_glue_job", "etl", name="etl", worker_type="G.1X", connection_password="old"),
)
"""The target: the known-good deployment."""
BAD = body(
    2,
    managed("aws_glue_job", "etl", name="etl", worker_type="G.2X", connection_password=SECRET),
    managed("aws_sns_topic", "extra", name="extra"),
)
"""The current state: a bad deployment dropped the bucket, changed the job, added a topic."""


def environment(url: str, bodies: list[bytes]) -> tuple[AwsClients, list[str]]:
    """Clients of an environment with the rollback command and ``bodies`` as state versions;
    the version ids, oldest first."""
    clients = moto_clients(
        url,
        terraform=Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY),
        rollback=RollbackSettings(command=COMMAND),
    )
    return clients, accounts.state_versions(url, bodies)


def test_gather_names_the_resource_changes_and_the_apply_command(
    fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients, (good, bad) = environment(fresh_moto, [GOOD, BAD])
    reads: list[str] = []
    real_read = statefile.read_version

    def counted(s3: Any, bucket: str, key: str, version_id: str) -> bytes:
        reads.append(version_id)
        return real_read(s3, bucket, key, version_id)

    monkeypatch.setattr(gathering.statefile, "read_version", counted)

    facts = gather(clients.env, clients, None, repo=tmp_path, checks_ran=False, target_ref="v1")

    assert sorted(reads) == sorted([good, bad]), "each body read once: no extra call"
    assert facts.state is not None
    assert facts.state.changes_unknown is None
    diff = facts.state.changes
    assert diff is not None
    assert diff.added == ("aws_s3_bucket.bronze",)
    assert diff.removed == ("aws_sns_topic.extra",)
    (job,) = diff.changed
    assert job.address == "aws_glue_job.etl"
    assert job.attributes == (
        AttributeChange("connection_password", None, None, "sensitive"),
        AttributeChange("worker_type", '"G.2X"', '"G.1X"'),
    )
    assert facts.apply_command is not None
    assert facts.apply_command.text == (
        "scripts/rollback_terraform.sh --env test --target-version v1 --apply"
    )
    report = build_report(facts, decide(facts), facts_time(), {})
    rendered = to_json(report) + to_markdown(report)
    assert SECRET not in rendered
    data = json.loads(to_json(report))
    assert (
        data["rollback_changes"]["current_state_version"],
        data["rollback_changes"]["target_state_version"],
    ) == (bad, good)


def test_an_unreadable_target_body_is_an_unknown_difference(
    fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients, (good, _bad) = environment(fresh_moto, [GOOD, BAD])
    real_read = statefile.read_version

    def denied(s3: Any, bucket: str, key: str, version_id: str) -> bytes:
        if version_id == good:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject"
            )
        return real_read(s3, bucket, key, version_id)

    monkeypatch.setattr(gathering.statefile, "read_version", denied)

    facts = gather(clients.env, clients, None, repo=tmp_path, checks_ran=False)

    assert facts.state is not None
    assert facts.state.changes is None
    assert facts.state.changes_unknown == f"target state version {good} could not be read"
    verdict = decide(facts)
    assert not verdict.rollback_possible, "the unread body is an unverified fact: it blocks"
    assert "rollback_changes_unknown" in [w.code for w in verdict.warnings]
    markdown = to_markdown(build_report(facts, verdict, facts_time(), {}))
    assert "no resource changes" not in markdown
    assert f"unknown: target state version {good} could not be read" in markdown


def test_a_target_that_is_not_a_state_is_an_unknown_difference(
    fresh_moto: str, tmp_path: Path
) -> None:
    clients, (broken, _bad) = environment(fresh_moto, [b"{not json", BAD])

    facts = gather(clients.env, clients, None, repo=tmp_path, checks_ran=False)

    assert facts.state is not None and facts.state.changes is None
    assert facts.state.changes_unknown is not None
    assert facts.state.changes_unknown.startswith(
        f"target state version {broken} cannot be read: not JSON"
    )


def test_resources_a_state_cannot_hold_are_an_unknown_difference(
    fresh_moto: str, tmp_path: Path
) -> None:
    """A body the state parser accepts but whose resources are malformed: unknown, and why."""
    odd = json.dumps({**accounts.terraform_state(1), "resources": [{"mode": "managed"}]})
    clients, _ = environment(fresh_moto, [odd.encode(), BAD])

    facts = gather(clients.env, clients, None, repo=tmp_path, checks_ran=False)

    assert facts.state is not None and facts.state.changes is None
    assert facts.state.changes_unknown == (
        "target state: resources[0]: 'type' and 'name' must be non-empty strings"
    )


def test_without_a_rollback_command_the_report_says_so(fresh_moto: str, tmp_path: Path) -> None:
    clients = moto_clients(
        fresh_moto, terraform=Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY)
    )
    accounts.state_versions(fresh_moto, [GOOD, BAD])

    facts = gather(clients.env, clients, None, repo=tmp_path, checks_ran=False)

    assert facts.apply_command is not None
    assert facts.apply_command.argv is None
    assert facts.apply_command.error == "no [test.rollback] command is configured"


def facts_time() -> datetime:
    return datetime(2026, 5, 1, tzinfo=UTC)


def test_the_apply_command_names_the_resolved_commit_not_a_moving_ref(
    fresh_moto: str, tmp_path: Path
) -> None:
    """A report read later must not send the operator to whatever HEAD~1 is by then."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["config", "user.name", "T"], ["config", "user.email", "t@x"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, timeout=30)
    for number in (1, 2):
        (repo / "main.tf").write_text(f"locals {{ n = {number} }}\n")
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, timeout=30)
        subprocess.run(
            ["git", "-C", str(repo), "-c", "commit.gpgsign=false", "commit", "-qm", str(number)],
            check=True,
            timeout=30,
        )
    first = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD~1"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    clients, _ = environment(fresh_moto, [GOOD, BAD])

    facts = gather(clients.env, clients, None, repo=repo, checks_ran=False, target_ref="HEAD~1")

    assert facts.apply_command is not None
    assert facts.apply_command.text == (
        f"scripts/rollback_terraform.sh --env test --target-version {first} --apply"
    )
