"""Real Terraform 1.0.3 accepts a restored state (digest, serial, lineage) and plans on it.

Terraform's S3 backend points at the in-process moto server (``fresh_moto``); the restore
itself is tested without Terraform in tests/aws/test_staterestore.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen.config.environments import Terraform
from pytest_ohpen.terraform.restore_apply import apply_restore, check_unlocked
from pytest_ohpen.terraform.restore_plan import plan_restore
from pytest_ohpen.terraform.state_versions import list_versions, read_version

REGION = "eu-west-1"
STATE_BUCKET = "ohpen-terraform-state"
STATE_KEY = "ohpen-data-lake/terraform.tfstate"
TABLE = "ohpen-terraform-locks"

TERRAFORM = shutil.which("terraform")
CONFIGURATION = """\
terraform {
  backend "s3" {}
}

variable "release" {
  type = string
}

output "release" {
  value = var.release
}
"""


def _terraform(workdir: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(
        [TERRAFORM, *argv],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
def test_real_terraform_accepts_the_restored_state(fresh_moto: str, tmp_path: Path) -> None:
    """Terraform 1.0.3 reads the restored state (digest, serial, lineage) and plans on it."""
    s3: Any = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=fresh_moto, region_name=REGION)
    s3.create_bucket(Bucket=STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    workdir = tmp_path / "infra"
    workdir.mkdir()
    (workdir / "main.tf").write_text(CONFIGURATION)
    settings = {
        "bucket": STATE_BUCKET,
        "key": STATE_KEY,
        "region": REGION,
        "dynamodb_table": TABLE,
        "endpoint": fresh_moto,
        "dynamodb_endpoint": fresh_moto,
        "sts_endpoint": fresh_moto,
        "force_path_style": "true",
        "skip_credentials_validation": "true",
        "skip_region_validation": "true",
        "skip_metadata_api_check": "true",
    }
    backend_config = [f"-backend-config={name}={value}" for name, value in settings.items()]
    _terraform(workdir, "init", "-input=false", "-no-color", *backend_config)
    for release in ("first", "second"):
        _terraform(
            workdir,
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            f"-var=release={release}",
        )

    versions = list_versions(s3, STATE_BUCKET, STATE_KEY)
    states = [json.loads(read_version(s3, STATE_BUCKET, STATE_KEY, v.version_id)) for v in versions]
    releases = [state["outputs"]["release"]["value"] for state in states]
    assert releases[0] == "second" and "first" in releases
    assert states[0]["serial"] > states[-1]["serial"], "each apply grew the serial"
    first = versions[releases.index("first")].version_id
    lineage = states[0]["lineage"]

    plan = plan_restore(s3, STATE_BUCKET, STATE_KEY, target_version_id=first)
    check_unlocked(dynamodb, s3, Terraform(STATE_BUCKET, STATE_KEY, TABLE))
    result = apply_restore(
        s3, STATE_BUCKET, STATE_KEY, plan, backup_dir=tmp_path, dynamodb=dynamodb, lock_table=TABLE
    )

    pulled = json.loads(_terraform(workdir, "state", "pull").stdout)
    assert pulled["serial"] == result.new_serial == states[0]["serial"] + 1
    assert pulled["lineage"] == lineage
    assert pulled["outputs"]["release"]["value"] == "first"
    unchanged = _terraform(
        workdir,
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-var=release=first",
        check=False,
    )
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    changed = _terraform(
        workdir,
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-var=release=second",
        check=False,
    )
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert '"first" -> "second"' in changed.stdout
