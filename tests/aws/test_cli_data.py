"""``ohpen data``: the playbook's data rollback as commands, run in-process.

Against a real moto server as a non-emulated environment (``endpoint_url``), so each
command goes through the account guard; the silver layer holds the runs of
``test_datapointer`` (run 3 promoted, one incomplete run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_datapointer import (
    BUCKET,
    INCOMPLETE,
    PREFIX,
    R1,
    R2,
    R3,
    Silver,
    Wrapped,
    current_objects,
    latest,
    make_silver,
    pointer_for,
    run_objects,
    snapshot,
)

from pytest_ohpen import cli
from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.cli import data
from pytest_ohpen.records.store import AuditRecord, AuditStore

REGION = "eu-west-1"
ACCOUNT = "123456789012"
REASON = "quarantine rate 30% in run 3"


def _toml(url: str, audit: Path) -> str:
    return (
        f'[prod]\naccount_id = "{ACCOUNT}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{url}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{audit}"\n'
        f'[prod.data.silver]\nbucket = "{BUCKET}"\nprefix = "{PREFIX}"\n'
        f'[prod.data.gold]\nbucket = "ohpen-gold"\nprefix = "gold/"\n'
    )


@pytest.fixture
def prod(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Silver:
    """environments.toml in the working directory ([prod] at the moto server) and the layer."""
    (tmp_path / "environments.toml").write_text(_toml(fresh_moto, tmp_path / "audit"))
    monkeypatch.chdir(tmp_path)
    for name in ("USER", "GITHUB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return make_silver(fresh_moto)


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``ohpen ARGV`` in-process through cli.main: exit, out, err."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _lines(out: str) -> list[str]:
    """Output without the account guard's line."""
    return [line for line in out.splitlines() if not line.startswith("ohpen: environment")]


def _records(root: Path) -> list[AuditRecord]:
    """The rollbacks' outcome records (each follows its "started" record)."""
    records = AuditStore(root / "audit").records(kind=data.AUDIT_KIND)
    return [r for r in records if r.data.get("status") != data.STARTED]


def test_runs_lists_completed_runs_newest_first_with_the_promoted_one_marked(
    prod: Silver, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = ohpen(capsys, "data", "runs", "--env", "prod", "--layer", "silver")

    assert code == 0
    assert out.startswith("ohpen: environment prod: account 123456789012 verified")
    header, *rows = _lines(out)
    assert header.split() == ["RunId", "CompletedAt", "Rows", "QuarantineRate"]
    assert [row.split() for row in rows] == [
        [R3, "2026-01-03T06:00:00Z", "1300", "30.00%", "\u2190", "promoted"],
        [R2, "2026-01-02T06:00:00Z", "1100", "1.00%"],
        [R1, "2026-01-01T06:00:00Z", "1000", "1.00%"],
    ]
    assert INCOMPLETE not in out


def test_an_unknown_layer_is_a_configuration_error_listing_the_layers(
    prod: Silver, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = ohpen(capsys, "data", "runs", "--env", "prod", "--layer", "bronze")

    assert code == 2
    assert err.count("\n") == 1
    assert "unknown data layer 'bronze'" in err and "configured layers: gold, silver" in err


def test_rollback_is_a_dry_run_by_default(prod: Silver, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(prod.s3)

    code, out, _ = ohpen(
        capsys, "data", "rollback", "--env", "prod", "--layer", "silver",
        "--to", R2, "--reason", REASON,
    )  # fmt: skip

    assert code == 0
    lines = _lines(out)
    assert lines[-1] == "dry-run: nothing written; add --apply"
    assert f"before: pointer -> run {R3}" in lines
    assert any("copy 3 objects" in line for line in lines)
    assert any("remove 1 stale object " in line for line in lines)
    assert snapshot(prod.s3) == before
    assert _records(Path.cwd()) == []


def test_rollback_apply_switches_current_and_pointer_and_records_it(
    prod: Silver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USER", "alice")

    code, out, err = ohpen(
        capsys, "data", "rollback", "--env", "prod", "--layer", "silver",
        "--to", R2, "--reason", REASON, "--apply",
    )  # fmt: skip

    assert (code, err) == (0, "")
    assert current_objects(prod.s3) == run_objects(R2)
    pointer = latest(prod.s3)
    assert (pointer["run_id"], pointer["previous_run_id"]) == (R2, R3)
    assert pointer["reason"] == REASON
    assert pointer["promoted_by"].startswith("alice (arn:aws:")
    assert f"before: pointer -> run {R3}; after: pointer -> run {R2}" in out
    assert f"current/: copied 3 objects of run {R2}, removed 1 stale" in out
    (record,) = _records(Path.cwd())
    assert f"audit record: {record.id}" in out
    assert record.environment == "prod"
    assert record.data["who"]["USER"] == "alice"
    assert record.data["who"]["aws_caller"].startswith("arn:aws:")
    assert record.data["when"] == pointer["promoted_at"]
    assert record.data["reason"] == REASON
    assert (record.data["previous_run_id"], record.data["new_run_id"]) == (R3, R2)
    assert record.data["removed"] == [f"{PREFIX}current/part-0003.parquet"]
    assert len(record.data["copies"]) == 3


def test_rollback_to_an_incomplete_run_is_refused(
    prod: Silver, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(prod.s3)

    code, _, err = ohpen(
        capsys, "data", "rollback", "--env", "prod", "--layer", "silver",
        "--to", INCOMPLETE, "--reason", REASON, "--apply",
    )  # fmt: skip

    assert code == 1
    assert err == f"ohpen data: run {INCOMPLETE} has no _SUCCESS: it never completed; refusing\n"
    assert snapshot(prod.s3) == before
    assert _records(Path.cwd()) == []


def test_a_concurrent_promotion_fails_the_rollback_loudly(
    prod: Silver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another writer promotes run 1 right before the pointer write: exit 1, one line, a
    "failed" outcome record; its pointer stands and current/ holds run 1's objects."""
    other = pointer_for(R1, R3, reason="concurrent promotion")

    def concurrent_promotion(kwargs: dict[str, Any]) -> None:
        if kwargs["Key"].endswith("_LATEST.json"):
            prod.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json", Body=other)

    real_client = AwsClients.client

    def client(self: AwsClients, service: str) -> Any:
        made = real_client(self, service)
        return Wrapped(made, {"put_object": concurrent_promotion}) if service == "s3" else made

    monkeypatch.setattr(AwsClients, "client", client)

    code, _, err = ohpen(
        capsys, "data", "rollback", "--env", "prod", "--layer", "silver",
        "--to", R2, "--reason", REASON, "--apply",
    )  # fmt: skip

    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("ohpen data: the pointer changed since it was read")
    assert f"current/ was restored to run {R1}'s objects" in err
    assert prod.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}_LATEST.json")["Body"].read() == other
    assert current_objects(prod.s3) == run_objects(R1)
    (failed,) = _records(Path.cwd())
    assert failed.data["status"] == "failed"
    assert failed.data["error"].startswith("the pointer changed since it was read")
