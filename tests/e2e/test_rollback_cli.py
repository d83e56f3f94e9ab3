"""The rollback's command line: which revision ``--target-version`` names, the one-line
errors that stop it before anything runs (exit 2), the incident log it leaves
(``ohpen incident list`` / ``show``), and ``scripts/rollback_terraform.sh``, the playbook's
script, forwarding to it.

The setting (repository, environments file, moto backend, Terraform stand-in) is the one
of ``test_rollback.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from test_rollback import (
    CONFIG,
    ENV,
    FAKE_VERSION,
    Prod,
    change,
    git,
    make_prod,
    plan_document,
    use_stand_in,
)

from pytest_ohpen.rollback.incident import TO_FILL

SCRIPT: Final = Path(__file__).resolve().parents[2] / "scripts" / "rollback_terraform.sh"


@pytest.fixture
def prod(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Prod:
    """Three commits ("first" tagged v1, "second", "third" at HEAD), the stand-in planning
    one update."""
    return use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys))


def nothing_ran(prod: Prod) -> None:
    """No Terraform step beyond asking its version, no record, no worktree left."""
    assert set(prod.steps()) <= {"version"}
    assert prod.records("rollback_plan") == []
    assert prod.records("incident") == []
    assert prod.worktrees() == [f"worktree {prod.repo}"]


def git_only_path(tmp_path: Path) -> str:
    """A PATH with git on it and no terraform."""
    folder = tmp_path / "git-only-bin"
    folder.mkdir()
    found = shutil.which("git")
    assert found is not None
    (folder / "git").symlink_to(found)
    return str(folder)


# ---------------------------------------------------------------- --target-version


@pytest.mark.parametrize("kind", ["tag", "branch", "sha", "short-sha"])
def test_target_version_names_a_tag_branch_or_sha(prod: Prod, kind: str) -> None:
    """Any git ref naming a commit is planned at that commit; the record keeps both the ref
    the operator gave and the commit it resolved to."""
    first = prod.commits[0]
    git(prod.repo, "branch", "release-1", first)
    ref = {"tag": "v1", "branch": "release-1", "sha": first, "short-sha": first[:10]}[kind]

    result = prod.rollback("--target-version", ref)

    assert result.code == 0, result.err
    assert prod.configs_planned() == [CONFIG % "first"]
    (record,) = prod.records("rollback_plan")
    assert (record.data["target_ref"], record.data["target_commit"]) == (ref, first)
    assert record.data["deployed_commit"] == prod.commits[2]


@pytest.mark.parametrize("ref", ["nope", "v9", "HEAD~3", "-x"])
def test_a_ref_that_names_no_commit_stops_everything(prod: Prod, ref: str) -> None:
    """A mistyped or missing ref (or one that looks like an option): exit 2, one line,
    nothing planned or recorded."""
    result = prod.rollback(f"--target-version={ref}")

    assert result.code == 2
    assert result.err == f"ohpen: error: cannot resolve {ref!r} to a commit in {prod.repo}\n"
    nothing_ran(prod)


def test_a_revision_without_the_working_dir_is_refused(prod: Prod) -> None:
    """A commit that has no ``infra/`` cannot be rolled back to: exit 2, one line, and the
    worktree made to look is removed."""
    empty_tree = git(prod.repo, "hash-object", "-t", "tree", "/dev/null")
    bare = git(prod.repo, "commit-tree", empty_tree, "-m", "before the infrastructure")
    git(prod.repo, "tag", "pre-infra", bare)

    result = prod.rollback("--target-version", "pre-infra", "--apply")

    assert result.code == 2
    assert result.err == (
        f"ohpen: error: 'infra' does not exist at pre-infra ({bare[:12]}) in {prod.repo}\n"
    )
    nothing_ran(prod)


# ---------------------------------------------------------------- finding Terraform


def test_a_terraform_of_another_version_than_pinned_is_refused(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A state written by another Terraform version may not be readable by the pinned one:
    exit 2 after asking the binary its version, before init."""
    prod = use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys, version="1.0.3"))

    result = prod.rollback("--apply")

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(
        f"ohpen: error: Terraform {FAKE_VERSION} found, environment pins 1.0.3; "
        "install Terraform 1.0.3 and set TERRAFORM to it"
    )
    assert prod.steps() == ["version"]
    nothing_ran(prod)


def test_no_terraform_anywhere_is_one_line(
    prod: Prod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """TERRAFORM unset and no terraform on PATH: exit 2 naming both ways to fix it."""
    monkeypatch.delenv("TERRAFORM")
    monkeypatch.setenv("PATH", git_only_path(tmp_path))

    result = prod.rollback()

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(
        "ohpen: error: Terraform not found: set TERRAFORM to its path or put terraform on PATH"
    )
    nothing_ran(prod)


def test_terraform_not_found_names_the_pinned_version(
    prod: Prod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The operator is told which version to install (find_terraform's ``pinned``)."""
    monkeypatch.delenv("TERRAFORM")
    monkeypatch.setenv("PATH", git_only_path(tmp_path))

    result = prod.rollback()

    assert result.code == 2
    assert result.err.rstrip().endswith(f"(the environment pins {FAKE_VERSION})"), result.err


def test_a_terraform_variable_pointing_nowhere_is_reported(
    prod: Prod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A wrong TERRAFORM is an error of its own (never silently replaced by PATH): exit 2."""
    nowhere = tmp_path / "nowhere" / "terraform"
    monkeypatch.setenv("TERRAFORM", str(nowhere))
    monkeypatch.setenv("PATH", git_only_path(tmp_path))

    result = prod.rollback()

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"ohpen: error: TERRAFORM={nowhere}: not an executable file;")
    nothing_ran(prod)


def test_an_empty_path_is_one_line_before_anything_runs(
    prod: Prod, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With nothing on PATH, git (needed first, for HEAD) is reported missing: exit 2."""
    monkeypatch.delenv("TERRAFORM")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(empty))

    result = prod.rollback()

    assert result.code == 2
    assert result.err == "ohpen: error: git is not installed\n"
    monkeypatch.setenv("PATH", path)  # git again, for the checks
    nothing_ran(prod)


# ---------------------------------------------------------------- the incident log


def test_incident_list_and_show(prod: Prod, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every apply attempt is in ``ohpen incident list`` (newest first), and ``incident show``
    prints the playbook's Step 8 entry, the same as the Markdown file beside the records,
    with root cause and prevention left for the incident owner."""
    assert prod.ohpen("incident", "list", "--env", ENV, "--targets", str(prod.toml)).out == (
        "no incidents recorded\n"
    )
    prod.set_plan(plan_document(change("aws_s3_bucket.bronze", "delete")))
    assert prod.rollback("--apply").code == 1
    prod.set_plan(plan_document(change("aws_glue_job.etl", "update")))
    monkeypatch.setenv("OHPEN_ROLLBACK_APPROVED_BY", "jane.operator")
    assert prod.rollback("--apply", "--reason", "ETL duration 10x after deploy").code == 0
    applied, refused = prod.records("incident")

    listing = prod.ohpen("incident", "list", "--env", ENV, "--targets", str(prod.toml))

    assert listing.code == 0
    assert listing.out.splitlines() == [
        f"{applied.id}  {applied.data['started_at']}  apply: applied  verification: not run"
        "  incomplete: root cause, prevention missing",
        f"{refused.id}  {refused.data['started_at']}  apply: refused: would delete "
        "data-bearing aws_s3_bucket.bronze (pass --allow-destroy to accept)  "
        "verification: not run  incomplete: root cause, prevention missing",
    ]
    assert applied.data["operator"]["approved_by"] == "jane.operator"

    shown = prod.ohpen("incident", "show", applied.id, "--env", ENV, "--targets", str(prod.toml))

    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[0] == f"## Rollback: {applied.data['started_at'][:10]} (prod, {applied.id})"
    restored = applied.data["rolled_back_to"]["state_version"]
    assert restored, "the incident names the state version the apply left"
    assert lines[2:5] == [
        "**Reason**: ETL duration 10x after deploy",
        f"**Deployment SHA**: {prod.commits[2]}",
        f"**Rolled back to**: git {prod.commits[1]} / state version {restored}",
    ]
    assert lines[5].startswith("**Rollback performed by**: ")
    assert lines[6] == "**Approved by**: jane.operator"
    assert lines[7] == (
        f"**Rollback timestamp**: {applied.data['started_at']} → {applied.data['finished_at']}"
    )
    assert "**Mode and outcome**: apply, applied" in lines
    at = lines.index("**Verification**:")
    assert lines[at + 1 : at + 4] == [
        "- smoke: not run",
        "- post-rollback: not run",
        "- pipeline: not run",
    ]
    assert lines[-2:] == [f"**Root cause**: {TO_FILL}", f"**Prevention**: {TO_FILL}"]
    assert shown.out == (prod.ops / "incidents" / f"{applied.id}.md").read_text()
    assert (prod.ops / "incidents" / f"{refused.id}.md").is_file()


def test_incident_show_of_an_unknown_id(prod: Prod) -> None:
    """A mistyped id: exit 1 and a pointer to the list."""
    shown = prod.ohpen("incident", "show", "nope", "--env", ENV, "--targets", str(prod.toml))

    assert shown.code == 1
    assert shown.out == ""
    assert shown.err == (
        "ohpen: no incident 'nope' for environment 'prod' (see ohpen incident list)\n"
    )


# ---------------------------------------------------------------- scripts/rollback_terraform.sh


def run_script(prod: Prod, *args: str) -> subprocess.CompletedProcess[str]:
    """The playbook's script from the repository root, with this Python and the stand-in."""
    return subprocess.run(
        ["bash", str(SCRIPT), "--env", ENV, *args, "--targets", str(prod.toml)],
        cwd=prod.repo,
        env={**os.environ, "OHPEN_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def header_time(line: str) -> datetime:
    match = re.fullmatch(r"timestamp: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", line)
    assert match is not None, line
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_the_script_is_a_dry_run_by_default(prod: Prod) -> None:
    """The playbook's audit header (timestamp, current HEAD, target ref, dry-run flag), then
    the dry-run review; nothing applied."""
    started = datetime.now(UTC).replace(microsecond=0)

    done = run_script(prod)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert started <= header_time(lines[0]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert lines[1:4] == [
        f"current HEAD: {prod.commits[2]}",
        "target ref: HEAD~1",
        "dry-run: yes",
    ]
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete" in lines
    assert "dry-run: nothing applied; run again with --apply to roll back" in lines
    assert "apply" not in prod.steps()
    (record,) = prod.records("rollback_plan")
    assert record.data["target_commit"] == prod.commits[1]
    assert prod.records("incident") == []


def test_the_script_applies_the_target_version(prod: Prod) -> None:
    """``--apply --target-version v1``: the header says so, the plan of v1 is applied."""
    done = run_script(prod, "--apply", "--target-version", "v1")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header_time(lines[0])
    assert lines[1:4] == [f"current HEAD: {prod.commits[2]}", "target ref: v1", "dry-run: no"]
    assert prod.steps()[-1] == "apply"
    assert prod.configs_planned() == [CONFIG % "first"]
    data = prod.incident().data
    assert (data["outcome"], data["rolled_back_to"]["git_commit"]) == ("applied", prod.commits[0])
    assert data["details"]["target_ref"] == "v1"
