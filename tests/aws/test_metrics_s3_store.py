"""``ohpen metrics`` reads every store the environment names: the local directory and the
audit bucket (moto), a record kept in both counted once; attempts written on different
machines still make one incident; a corrupt S3 record is named (exit 3); deployments are
published as DeploymentCount by Result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from rollback_records import Audit

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics

REGION = "eu-west-1"
BUCKET = "ohpen-audit"
PREFIX = "pytest-ohpen/audit"


class Stores:
    """[prod] with a local audit directory and an audit bucket; writers for this machine
    (both places, as the store writes them) and for another one (the bucket only)."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        self.s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        local = root / "audit"
        (root / "environments.toml").write_text(
            f'[prod]\naccount_id = "123456789012"\nregion = "{REGION}"\n'
            f'endpoint_url = "{endpoint}"\ntimeout = 10\n'
            f'[prod.audit]\ndirectory = "{local}"\nbucket = "{BUCKET}"\nprefix = "{PREFIX}"\n'
        )
        s3: dict[str, Any] = {"s3": self.s3, "bucket": BUCKET, "prefix": PREFIX}
        self.here = Audit(local, **s3)
        self.elsewhere = Audit(root / "another-machine", **s3)
        self.local_only = Audit(local)


@pytest.fixture
def stores(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stores:
    monkeypatch.chdir(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(cli_metrics, "_now", lambda: now)
    return Stores(tmp_path, fresh_moto)


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["metrics", "--env", "prod", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def ago(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def test_both_stores_are_read_and_a_record_in_both_is_counted_once(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    detected = ago(10)
    # the trigger's attempt on the CD runner (local and S3), which fails ...
    stores.here.terraform(
        detected + timedelta(minutes=1),
        3,
        initiated_by="trigger",
        detected=detected,
        outcome="failed",
    )
    # ... the operator's retry on a laptop, kept in S3 only, with the same detection time
    stores.elsewhere.terraform(detected + timedelta(minutes=20), 5, detected=detected)
    stores.local_only.state_restore(ago(5), 2, detected=ago(5) - timedelta(minutes=3))
    stores.elsewhere.data_rollback(ago(3), 2)

    code, out, err = ohpen(capsys, "--format", "json")

    document = json.loads(out)
    assert code == 1, err
    rollbacks = document["rollbacks"]
    assert rollbacks["count"] == 2  # the terraform incident and the state restore
    assert [i["attempt_count"] for i in rollbacks["items"]] == [2, 1]
    assert rollbacks["items"][0]["duration_seconds"] == 25 * 60
    assert document["data_rollbacks"]["count"] == 1
    assert document["corrupt"] == []


def test_a_corrupt_record_in_the_bucket_is_named_and_exits_3(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.here.terraform(ago(4), 5)
    key = f"{PREFIX}/prod/incident/20240101T000000Z-incident-badbadba.json"
    stores.s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"schema_version": 1, "id":')
    record = stores.elsewhere.state_restore(ago(2), 1)
    body = json.loads(
        stores.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/prod/state_restore/{record.id}.json")[
            "Body"
        ].read()
    )
    body["id"] = body["id"][:-1] + "0"
    body["data"]["status"] = "exploded"
    stores.s3.put_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}/prod/state_restore/{body['id']}.json",
        Body=json.dumps(body).encode(),
    )

    code, out, err = ohpen(capsys)

    assert code == 3, err
    assert f"ohpen: corrupt audit record s3://{BUCKET}/{key}: " in err
    assert "status: expected one of" in err and "'exploded'" in err
    assert "Traceback" not in err
    assert "2 rollbacks" in out  # the readable ones still counted


def test_deployments_are_published_as_deployment_count_by_result(
    stores: Stores, fresh_moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.here.deployment(ago(20), 5, "c1aaaaaa")
    stores.elsewhere.deployment(ago(12), 5, "c2aaaaaa", "failed")
    stores.here.deployment(ago(6), 5, "c3aaaaaa")
    stores.here.terraform(ago(6) + timedelta(minutes=30), 5, deployed="c3aaaaaa")

    code, _, err = ohpen(capsys, "--publish")

    assert code == 1, err
    cloudwatch = boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name=REGION)
    now = datetime.now(UTC)
    found = {}
    for result in ("Success", "Failure"):
        points = cloudwatch.get_metric_statistics(
            Namespace="Ohpen/Rollback",
            MetricName="DeploymentCount",
            Dimensions=[
                {"Name": "Environment", "Value": "prod"},
                {"Name": "Result", "Value": result},
            ],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        found[result] = [p["Maximum"] for p in points]
    # c1 succeeded; c2 failed; c3 succeeded but was rolled back: a change failure
    assert found == {"Success": [1.0], "Failure": [2.0]}
