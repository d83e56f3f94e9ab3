"""One choice of the rollback target state version: what readiness reports, the trigger
hands to the rollback command and the post-rollback configuration checks compare with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import accounts
import pytest
from accounts import STATE_BUCKET, STATE_KEY
from conftest import moto_clients

from pytest_ohpen.checks.configuration import resolve_target
from pytest_ohpen.config.environments import Resources, Terraform
from pytest_ohpen.readiness.gather import gather
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.terraform.state_versions import StateVersion, list_versions
from pytest_ohpen.terraform.target import (
    EXPLICIT,
    KNOWN_GOOD,
    LATEST,
    PREVIOUS,
    TargetError,
    choose_target,
)

START = datetime(2024, 5, 1, tzinfo=UTC)


def versions(*ids: str, marker_on_top: bool = False) -> list[StateVersion]:
    """Versions newest first, as S3 lists them; optionally under a delete marker."""
    found = [
        StateVersion(i, START - timedelta(hours=n), n == 0 and not marker_on_top, 10)
        for n, i in enumerate(ids)
    ]
    if marker_on_top:
        found.insert(0, StateVersion("dm", START + timedelta(hours=1), True, 0, True))
    return found


def chosen(
    listed: list[StateVersion], marks: list[str], choice: str | None = None
) -> tuple[str, str] | None:
    target = choose_target(listed, marks, choice, where="s3://b/k")
    return None if target is None else (target.version.version_id, target.reason)


def test_the_newest_stored_known_good_mark_wins_even_when_it_is_not_the_previous() -> None:
    assert chosen(versions("v4", "v3", "v2", "v1"), ["gone", "v2", "v1"]) == ("v2", KNOWN_GOOD)


def test_the_current_version_is_never_the_target_unless_asked_for() -> None:
    """Rolling back to what is deployed changes nothing: a mark on it is passed over."""
    assert chosen(versions("v3", "v2", "v1"), ["v3", "v1"]) == ("v1", KNOWN_GOOD)
    assert chosen(versions("v3", "v2", "v1"), ["v3"]) == ("v2", PREVIOUS)
    assert chosen(versions("v3", "v2"), [], "latest") == ("v3", LATEST)


def test_without_a_mark_the_previous_version_and_with_one_version_nothing() -> None:
    assert chosen(versions("v2", "v1"), []) == ("v1", PREVIOUS)
    assert chosen(versions("v1"), []) is None


def test_under_a_delete_marker_every_stored_version_is_earlier() -> None:
    assert chosen(versions("v2", "v1", marker_on_top=True), []) == ("v2", PREVIOUS)
    with pytest.raises(TargetError, match=r"^--target-state-version latest: s3://b/k has no"):
        chosen(versions("v2", marker_on_top=True), [], "latest")


def test_an_explicit_choice_beats_the_marks() -> None:
    listed = versions("v3", "v2", "v1")
    assert chosen(listed, ["v2"], "v1") == ("v1", EXPLICIT)
    assert chosen(listed, ["v1"], "previous") == ("v2", PREVIOUS)
    with pytest.raises(TargetError, match=r"^--target-state-version v9: no such version of s3"):
        chosen(listed, [], "v9")
    with pytest.raises(TargetError, match=r"^--target-state-version previous: .* no earlier"):
        chosen(versions("v1"), [], "previous")


@pytest.mark.parametrize("marked", [["oldest"], ["newest", "oldest"]], ids=["one", "current"])
def test_readiness_and_the_configuration_checks_pick_the_same_version(
    fresh_moto: str, tmp_path: Path, marked: list[str]
) -> None:
    """A known-good mark on the oldest of three versions (not the previous one): the report's
    target, the trigger's {state_version} and the post-rollback comparison are one version."""
    clients = moto_clients(
        fresh_moto,
        resources=Resources(buckets=("ohpen-bronze",)),
        terraform=Terraform(state_bucket=STATE_BUCKET, state_key=STATE_KEY),
    )
    accounts.bucket(fresh_moto, "ohpen-bronze")
    accounts.three_applies(fresh_moto)
    s3 = clients.client("s3")
    newest, _previous, oldest = [v.version_id for v in list_versions(s3, STATE_BUCKET, STATE_KEY)]
    ids = [{"newest": newest, "oldest": oldest}[name] for name in marked]
    audit = AuditStore(tmp_path / "audit")
    for version_id in reversed(ids):  # the store lists marks newest first
        audit.write("known_good", clients.env.name, {"state_version_id": version_id})

    facts = gather(clients.env, clients, audit, repo=tmp_path, checks_ran=False)
    target = resolve_target(s3, STATE_BUCKET, STATE_KEY, None, ids)

    assert facts.state is not None and facts.state.target is not None
    assert facts.state.target_source == "known_good"
    assert target is not None and target.source == "known-good mark"
    assert facts.state.target.version.version_id == target.version_id == oldest
