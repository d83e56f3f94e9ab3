"""Real Terraform 1.0.3 with the embedded provider, on an embedded account built from the
recorded applies: the account is what the apply made (an empty plan), drift and code
changes plan as Terraform's real provider would plan them, the plan review reads them, and
an injected provider failure fails the apply. No stand-in: these cases are all real runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.config.environments import Environment, load_environment
from pytest_ohpen.emulator.history import REVISIONS
from pytest_ohpen.emulator.provider.base import FAIL_VARIABLE
from pytest_ohpen.emulator.terraform_setup import stack_dir
from pytest_ohpen.terraform.binary import (
    backend_config,
    find_terraform,
    python_folder,
    terraform_environment,
)
from pytest_ohpen.terraform.plan_review import review_plan

REPO = Path(__file__).resolve().parents[2]
START = """
import sys
from pathlib import Path
from pytest_ohpen.config.environments import load_environment
from pytest_ohpen.emulator.server import EmbeddedAccount
from pytest_ohpen.emulator.stack import Stack
env = load_environment(Path(sys.argv[1]), "local", "test")
account = EmbeddedAccount(env, Stack.for_environment(env))
started = account.start()
print(started.url, flush=True)
sys.stdin.read()
account.stop()
"""


def _env() -> Environment:
    return load_environment(REPO / "environments.toml", "local", "test")


@pytest.fixture(scope="module")
def account() -> Iterator[str]:
    """The repository's `local` environment as a private embedded account in a process of
    its own (this worker's moto backends stay out of it); its URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", START, str(REPO / "environments.toml")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), f"the embedded account did not start: {url!r}"
    yield url
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def workdir(account: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/terraform, initialised against the account's state bucket."""
    folder = tmp_path_factory.mktemp("stack") / "terraform"
    shutil.copytree(stack_dir(), folder, ignore=shutil.ignore_patterns(".terraform*"))
    env = _env()
    assert env.terraform is not None
    args = backend_config(env.terraform, env.region, account, "1.0.3")
    _terraform(account, folder, "init", "-input=false", "-no-color", *args)
    return folder


def _terraform(
    url: str, folder: Path, *args: str, extra: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    deployed = {"TF_VAR_revision": REVISIONS[-1]}  # what the recorded applies deployed last
    env = {**os.environ, **terraform_environment(_env(), url), **deployed, **(extra or {})}
    env = {k: v for k, v in env.items() if v != ""}
    result = subprocess.run(
        [find_terraform(beside=python_folder()), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _plan(url: str, folder: Path, extra: dict[str, str] | None = None) -> dict[str, Any]:
    _terraform(url, folder, "plan", "-input=false", "-no-color", "-out=t.tfplan", extra=extra)
    shown = _terraform(url, folder, "show", "-json", "t.tfplan", extra=extra)
    document: dict[str, Any] = json.loads(shown.stdout)
    return document


def _changes(plan: dict[str, Any]) -> dict[str, list[str]]:
    return {
        c["address"]: c["change"]["actions"]
        for c in plan.get("resource_changes", [])
        if c["change"]["actions"] != ["no-op"]
    }


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=EMBEDDED_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=EMBEDDED_CREDENTIALS["aws_secret_access_key"],
    )


def test_the_account_is_what_the_apply_made(account: str, workdir: Path) -> None:
    """Built from the recorded applies, the account plans nothing: replay == apply."""
    result = _terraform(
        account, workdir, "plan", "-input=false", "-no-color", "-detailed-exitcode", check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No changes." in result.stdout


def test_out_of_band_drift_plans_its_repair(account: str, workdir: Path) -> None:
    """A removed public access block and a changed Lambda show up in the plan."""
    _client(account, "s3").delete_public_access_block(Bucket="ohpen-bronze")
    _client(account, "lambda").update_function_configuration(
        FunctionName="ohpen-read-run-summary", MemorySize=128
    )
    changes = _changes(_plan(account, workdir))
    assert changes == {
        'aws_s3_bucket_public_access_block.data["ohpen-bronze"]': ["create"],
        'aws_lambda_function.summary["ohpen-read-run-summary"]': ["update"],
    }
    _terraform(account, workdir, "apply", "-input=false", "-no-color", "t.tfplan")
    assert _changes(_plan(account, workdir)) == {}
    block = _client(account, "s3").get_public_access_block(Bucket="ohpen-bronze")
    assert all(block["PublicAccessBlockConfiguration"].values())


def test_code_changes_plan_update_replace_and_a_reviewed_delete(
    account: str, workdir: Path
) -> None:
    """An edited Glue job is replaced (moto has no UpdateJob), an edited alarm is updated in
    place, and a bucket dropped from the code is a delete the plan review refuses."""
    etl = workdir / "etl.tf"
    alerting = workdir / "alerting.tf"
    original_etl, original_alerting = etl.read_text(), alerting.read_text()
    try:
        etl.write_text(original_etl.replace('worker_type       = "G.1X"', 'worker_type = "G.2X"'))
        alerting.write_text(original_alerting.replace("period              = 300", "period = 60"))
        fewer = {"TF_VAR_buckets": json.dumps(["ohpen-bronze", "ohpen-artifacts"])}
        plan = _plan(account, workdir, extra=fewer)
        changes = _changes(plan)
        assert changes['aws_glue_job.etl["ohpen-transaction-etl-spark"]'] == ["delete", "create"]
        assert changes['aws_cloudwatch_metric_alarm.pipeline["ohpen-etl-glue-job-failed"]'] == [
            "update"
        ]
        assert changes['aws_s3_bucket.data["ohpen-silver"]'] == ["delete"]
        review = review_plan(plan)
        assert any("ohpen-silver" in line for line in review.blocked(allow_destroy=False))
    finally:
        etl.write_text(original_etl)
        alerting.write_text(original_alerting)


def test_an_injected_provider_failure_fails_the_apply(account: str, workdir: Path) -> None:
    """OHPEN_EMBEDDED_PROVIDER_FAIL names a resource: its change fails, and says why."""
    _client(account, "glue").delete_job(JobName="ohpen-transaction-etl-spark")
    fail = {FAIL_VARIABLE: "aws_glue_job"}
    _plan(account, workdir, extra=fail)
    result = _terraform(
        account, workdir, "apply", "-input=false", "-no-color", "t.tfplan", extra=fail, check=False
    )
    assert result.returncode != 0
    assert f"injected failure ({FAIL_VARIABLE})" in result.stdout + result.stderr
    # Without the fault, the same code repairs it.
    _plan(account, workdir)
    _terraform(account, workdir, "apply", "-input=false", "-no-color", "t.tfplan")
    assert _changes(_plan(account, workdir)) == {}


def test_import_of_a_bucket(account: str, workdir: Path) -> None:
    """A bucket Terraform forgot is imported back into the state."""
    address = 'aws_s3_bucket.data["ohpen-artifacts"]'
    _terraform(account, workdir, "state", "rm", "-no-color", address)
    _terraform(account, workdir, "import", "-input=false", "-no-color", address, "ohpen-artifacts")
    listed = _terraform(account, workdir, "state", "list", "-no-color").stdout
    assert address in listed


def _checkout(path: Path) -> Path:
    """A git checkout of the stack's code, the rollback script and the environments file."""
    shutil.copytree(stack_dir(), path / "infra" / "terraform")
    shutil.copy(REPO / "environments.toml", path / "environments.toml")
    (path / ".gitignore").write_text(".terraform/\n.terraform.lock.hcl\nreports/\n")
    for args in (
        ("init", "-q"),
        ("add", "-A"),
        ("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "good"),
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)
    return path


def test_a_failed_rollback_apply_is_recovered_and_says_what_is_left(
    account: str, tmp_path: Path
) -> None:
    """The provider fails the Glue job mid-apply (the public access block is repaired before
    it): the pre-rollback state is the latest version again, and what that state and the
    failed apply's disagree on is named as left to do by hand."""
    repo = _checkout(tmp_path / "repo")
    _client(account, "glue").delete_job(JobName="ohpen-transaction-etl-spark")
    _client(account, "s3").delete_public_access_block(Bucket="ohpen-silver")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "OHPEN_EMBEDDED_ENDPOINT": account,
        FAIL_VARIABLE: "aws_glue_job",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    argv = [sys.executable, "-m", "pytest_ohpen.cli", "rollback", "terraform", "--env", "local"]
    result = subprocess.run(
        [*argv, "--target-version", "HEAD", "--apply"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-5000:]
    assert f"injected failure ({FAIL_VARIABLE})" in out
    assert "recovered: the pre-rollback state is the latest version again" in out
    assert "left to do by hand:" in out
    left = out.split("left to do by hand:")[1].splitlines()[0]
    assert 'aws_glue_job.etl["ohpen-transaction-etl-spark"] (gone' in left, left
    # Without the fault the same rollback finishes the job.
    del env[FAIL_VARIABLE]
    again = subprocess.run(
        [*argv, "--target-version", "HEAD", "--apply"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-5000:]
    assert _client(account, "glue").get_job(JobName="ohpen-transaction-etl-spark")["Job"]
