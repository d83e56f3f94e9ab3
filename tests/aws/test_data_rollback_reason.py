"""``ohpen data rollback`` needs a reason: an empty or blank ``--reason`` is refused with one
line and exit 2, before the account is read or anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen import cli
from pytest_ohpen.cli.data import required_reason

REGION = "eu-west-1"
BUCKET = "ohpen-silver"
POINTER = "silver/_LATEST.json"


@pytest.fixture
def silver(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """[prod] with a silver layer at the moto server, its pointer in place; the S3 client."""
    (tmp_path / "environments.toml").write_text(
        f'[prod]\naccount_id = "123456789012"\nregion = "{REGION}"\n'
        f'endpoint_url = "{fresh_moto}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{tmp_path / "audit"}"\n'
        f'[prod.data.silver]\nbucket = "{BUCKET}"\nprefix = "silver/"\n'
    )
    monkeypatch.chdir(tmp_path)
    s3 = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=POINTER, Body=b'{"run_id": "run-3"}')
    return s3


def _objects(s3: Any) -> list[tuple[str, str]]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return [(o["Key"], o["ETag"]) for o in listed]


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab-newline"])
@pytest.mark.parametrize("mode", ["--apply", "--dry-run"])
def test_a_blank_reason_is_refused_before_anything(
    silver: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], reason: str, mode: str
) -> None:
    before = _objects(silver)
    capsys.readouterr()

    code = cli.main(
        ["data", "rollback", "--env", "prod", "--layer", "silver", "--to", "run-2",
         "--reason", reason, mode]
    )  # fmt: skip

    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        f"ohpen: error: data rollback --reason {reason!r}: a reason is required and cannot be "
        "blank; say why the layer is rolled back, e.g. --reason 'run 2024-05-01 wrote "
        "duplicates'\n"
    )
    assert out == "", "refused before the account guard"
    assert _objects(silver) == before
    assert not (tmp_path / "audit").exists()


def test_the_reason_is_kept_without_surrounding_blanks() -> None:
    assert required_reason("  run 3 wrote duplicates\n") == "run 3 wrote duplicates"
