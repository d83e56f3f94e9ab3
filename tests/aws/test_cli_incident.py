"""``ohpen incident list|show`` read the environment's whole audit store: the local directory
and, when ``[<env>.audit]`` names a bucket, the records kept in S3 (here: the test's moto
server as a non-emulated account, so the account guard runs before S3 is read).

Records are written with ``AuditStore`` into S3 and a *different* local directory than the
environment's, so a record is seen only if the command really reads the bucket.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen import cli
from pytest_ohpen.records.store import AuditRecord, AuditStore
from pytest_ohpen.rollback.incident import KIND, incident_data

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "ohpen-audit"
PREFIX = "pytest-ohpen/audit"
NOWHERE = "http://127.0.0.1:9"
AT = datetime(2024, 9, 12, 8, 30, tzinfo=UTC)


def environments(
    root: Path, endpoint: str, bucket: str | None = BUCKET, account: str = ACCOUNT
) -> None:
    text = (
        f'[prod]\naccount_id = "{account}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{endpoint}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{root / "audit"}"\n'
    )
    if bucket:
        text += f'bucket = "{bucket}"\nprefix = "{PREFIX}"\n'
    (root / "environments.toml").write_text(text)


def incident(store: AuditStore, reason: str) -> AuditRecord:
    """An applied rollback, recorded at the store's clock."""
    return store.write(
        KIND,
        "prod",
        incident_data(
            reason=reason,
            deployment_sha="abc1234",
            restored_sha="def5678",
            restored_state_version=None,
            operator={"aws_caller": f"arn:aws:iam::{ACCOUNT}:user/ops"},
            started_at="2024-09-12T08:30:00Z",
            finished_at="2024-09-12T08:36:00Z",
            mode="apply",
            outcome="applied",
            verification="smoke tests passed",
        ),
    )


def s3_client(url: str) -> Any:
    client = boto3.client("s3", endpoint_url=url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def only_in_s3(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditRecord:
    """[prod] at the moto server with an audit bucket holding one incident that is not in
    the environment's local audit directory."""
    monkeypatch.chdir(tmp_path)
    environments(tmp_path, fresh_moto)
    elsewhere = AuditStore(
        tmp_path / "another-machine",
        s3=s3_client(fresh_moto),
        bucket=BUCKET,
        prefix=PREFIX,
        clock=lambda: AT,
    )
    record = incident(elsewhere, "ETL duration 10x after deploy")
    assert not (tmp_path / "audit").exists()
    return record


def test_list_shows_an_incident_kept_only_in_s3(
    only_in_s3: AuditRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ohpen(capsys, "incident", "list", "--env", "prod")

    assert code == 0, err
    assert out == (
        f"{only_in_s3.id}  2024-09-12T08:30:00Z  apply: applied  verification: smoke tests passed"
        "  incomplete: root cause, prevention missing\n"
    )
    assert f"ohpen: environment prod: account {ACCOUNT} verified" in err  # guard, on stderr


def test_show_prints_an_incident_kept_only_in_s3(
    only_in_s3: AuditRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ohpen(capsys, "incident", "show", only_in_s3.id, "--env", "prod")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"## Rollback: 2024-09-12 (prod, {only_in_s3.id})"
    assert "**Reason**: ETL duration 10x after deploy" in lines


def test_list_merges_local_and_s3_records_newest_first(
    only_in_s3: AuditRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = AT + timedelta(hours=1)
    local = incident(AuditStore(tmp_path / "audit", clock=lambda: later), "manual rollback")

    code, out, err = ohpen(capsys, "incident", "list", "--env", "prod")

    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()] == [local.id, only_in_s3.id]


def test_s3_is_read_only_after_the_account_guard(
    only_in_s3: AuditRecord, fresh_moto: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials for another account: exit 2 naming it, and no incident is printed."""
    environments(tmp_path, fresh_moto, account="999999999999")

    code, out, err = ohpen(capsys, "incident", "list", "--env", "prod")

    assert code == 2
    assert out == ""
    assert err.splitlines()[-1].startswith("ohpen: error: ")
    assert "999999999999" in err


def test_without_a_bucket_no_aws_call_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No audit bucket: the local directory alone, even with nothing listening at the endpoint."""
    monkeypatch.chdir(tmp_path)
    environments(tmp_path, NOWHERE, bucket=None)
    record = incident(AuditStore(tmp_path / "audit"), "manual rollback")

    code, out, err = ohpen(capsys, "incident", "list", "--env", "prod")

    assert (code, err) == (0, "")
    assert out.startswith(f"{record.id}  2024-09-12T08:30:00Z  apply: applied")
