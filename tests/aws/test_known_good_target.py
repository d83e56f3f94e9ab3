"""The target chosen from known-good marks, on moto: a mark proven by the post-rollback
suite wins over a newer smoke mark, in the readiness report and in the post-rollback
configuration checks alike; a mark that records no deployed commit is never a git target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import accounts
from accounts import STATE_BUCKET, STATE_KEY
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks.configuration import resolve_target
from pytest_ohpen.config.environments import Resources, Terraform
from pytest_ohpen.readiness.gather import DEFAULT_TARGET_REF, gather
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.terraform.state_versions import list_versions
from pytest_ohpen.terraform.target import known_good_order

SHA = "0123456789abcdef0123456789abcdef01234567"


def three_versions(url: str) -> tuple[AwsClients, list[str]]:
    """Clients of an environment whose state has three versions, newest first."""
    clients = moto_clients(
        url,
        resources=Resources(buckets=("ohpen-bronze",)),
        terraform=Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY),
    )
    accounts.bucket(url, "ohpen-bronze")
    accounts.three_applies(url)
    listed = list_versions(clients.client("s3"), STATE_BUCKET, STATE_KEY)
    return clients, [v.version_id for v in listed]


def store(tmp_path: Path, env: str, *marks: dict[str, Any]) -> AuditStore:
    """An audit store holding ``marks`` (given oldest first; the store lists newest first)."""
    audit = AuditStore(tmp_path / "audit")
    for data in marks:
        audit.write("known_good", env, data)
    return audit


def test_a_post_rollback_proven_version_beats_a_newer_smoke_mark(
    fresh_moto: str, tmp_path: Path
) -> None:
    clients, (_newest, previous, oldest) = three_versions(fresh_moto)
    audit = store(
        tmp_path,
        clients.env.name,
        {"state_version_id": oldest, "suite": "post_rollback", "git_commit": SHA},
        {"state_version_id": previous, "suite": "smoke", "git_commit": "b" * 40},
    )

    facts = gather(clients.env, clients, audit, repo=tmp_path, checks_ran=False)
    marks = [m.data for m in audit.known_good(clients.env.name)]
    compared = resolve_target(
        clients.client("s3"), STATE_BUCKET, STATE_KEY, None, known_good_order(marks)
    )

    assert facts.state is not None and facts.state.target is not None
    assert facts.state.target.version.version_id == oldest
    assert facts.state.known_good_mark is not None
    assert facts.state.known_good_mark["suite"] == "post_rollback"
    assert compared is not None and compared.version_id == oldest
    assert facts.git is not None and facts.git.target_ref == SHA


def test_a_mark_without_a_deployed_commit_is_never_the_git_target(
    fresh_moto: str, tmp_path: Path
) -> None:
    clients, (_newest, previous, _oldest) = three_versions(fresh_moto)
    audit = store(
        tmp_path,
        clients.env.name,
        {"state_version_id": previous, "suite": "smoke", "git_commit": None},
    )

    facts = gather(clients.env, clients, audit, repo=tmp_path, checks_ran=False)

    assert facts.state is not None and facts.state.known_good_mark is not None
    assert facts.git is not None and facts.git.target_ref == DEFAULT_TARGET_REF
    [warning] = facts.extra_warnings
    assert warning.startswith(
        f"the known-good mark of state version {previous} records no deployed commit"
    )
