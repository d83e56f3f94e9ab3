"""``ohpen state``: the playbook's manual rollback Steps 1-4 as commands, run in-process.

Against a real moto server as a non-emulated environment (``endpoint_url``), so each
command goes through the account guard; the state bucket holds three applies (serials
1, 2, 3) and the lock table is empty unless a test takes the lock.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from accounts import LINEAGE as STATE_LINEAGE
from accounts import STATE_BUCKET, STATE_KEY, lock_table, three_applies

from pytest_ohpen import cli
from pytest_ohpen.cli import state
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.terraform.restore_apply import backups_of
from pytest_ohpen.terraform.state_versions import list_versions, parse_state, read_version

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "ohpen-terraform-locks"
TINY = b'{"version":4,"terraform_version":"","serial":1,"lineage":"x"}'
"""Parses as a state, but Terraform never writes one this small."""


@dataclass(frozen=True)
class Prod:
    """The test's directory (environments file, audit, backups) and its state backend."""

    root: Path
    s3: Any
    dynamodb: Any
    v1: str
    v2: str
    v3: str

    def serials(self) -> list[int]:
        return [parse_state(self.body(v.version_id)).serial for v in self.versions()]

    def versions(self) -> list[Any]:
        return list(list_versions(self.s3, STATE_BUCKET, STATE_KEY))

    def body(self, version_id: str) -> bytes:
        return read_version(self.s3, STATE_BUCKET, STATE_KEY, version_id)

    def latest(self) -> bytes:
        return bytes(self.s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read())

    def audit(self) -> list[Any]:
        """The restores' outcome records (each follows its "started" record)."""
        records = AuditStore(self.root / "audit").records(kind=state.AUDIT_KIND)
        return [r for r in records if r.data.get("status") != state.STARTED]


def _toml(url: str, audit: Path, account: str = ACCOUNT, terraform: bool = True) -> str:
    text = (
        f'[prod]\naccount_id = "{account}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{url}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{audit}"\n'
    )
    if terraform:
        text += (
            f'[prod.terraform]\nstate_bucket = "{STATE_BUCKET}"\nstate_key = "{STATE_KEY}"\n'
            f'lock_table = "{TABLE}"\n'
        )
    return text


@pytest.fixture
def prod(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Prod:
    """environments.toml in the working directory ([prod] at the moto server) and the backend."""
    (tmp_path / "environments.toml").write_text(_toml(fresh_moto, tmp_path / "audit"))
    monkeypatch.chdir(tmp_path)
    v1, v2, v3 = three_applies(fresh_moto)
    lock_table(fresh_moto, TABLE)
    s3 = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=fresh_moto, region_name=REGION)
    return Prod(tmp_path, s3, dynamodb, v1=v1, v2=v2, v3=v3)


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``ohpen ARGV`` in-process through cli.main: exit, out, err."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _state_lines(out: str) -> list[str]:
    """Output without the account guard's line."""
    return [line for line in out.splitlines() if not line.startswith("ohpen: environment")]


def test_versions_lists_serial_and_lineage_newest_first(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 1's table plus what each version holds: the operator picks a target by serial."""
    code, out, _ = ohpen(capsys, "state", "versions", "--env", "prod")

    assert code == 0
    assert out.startswith("ohpen: environment prod: account 123456789012 verified")
    header, *rows = _state_lines(out)
    assert header.split() == ["VersionId", "LastModified", "IsLatest", "Serial", "Lineage", "Size"]
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == [prod.v3, prod.v2, prod.v1]
    assert [c[2] for c in cells] == ["True", "False", "False"]
    assert [c[3] for c in cells] == ["3", "2", "1"]
    assert {c[4] for c in cells} == {STATE_LINEAGE}
    assert [int(c[5]) for c in cells] == [v.size for v in prod.versions()]
    assert len({len(line) for line in [header, *rows]}) == 1, "aligned columns"
    assert {row.index(STATE_LINEAGE) for row in rows} == {header.index("Lineage")}


def test_versions_shows_question_marks_for_an_unreadable_version(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt version still gets its row; a delete marker says so."""
    prod.s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=b"<html>oops</html>")
    prod.s3.delete_object(Bucket=STATE_BUCKET, Key=STATE_KEY)

    code, out, _ = ohpen(capsys, "state", "versions", "--env", "prod")

    assert code == 0
    cells = [row.split() for row in _state_lines(out)[1:]]
    assert cells[0][3:5] == ["-", "(delete"]
    assert cells[1][3:5] == ["?", "?"]
    assert [c[3] for c in cells[2:]] == ["3", "2", "1"]


def test_fetch_writes_a_valid_version(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """Step 2: the target version, byte for byte, and what it holds."""
    code, out, _ = ohpen(capsys, "state", "fetch", prod.v2, "--env", "prod", "--out", "target.json")

    assert code == 0
    assert (prod.root / "target.json").read_bytes() == prod.body(prod.v2)
    assert f"version {prod.v2}, serial 2, lineage {STATE_LINEAGE}" in out


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>this is an error page, not a state</html>", "not JSON"),
        (json.dumps({"version": 3, "serial": 1, "lineage": "x", "pad": "y" * 80}).encode(), "3"),
        (TINY, f"only {len(TINY)} bytes"),
    ],
)
def test_fetch_refuses_a_version_that_is_not_a_state(
    prod: Prod,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    reason: str,
) -> None:
    """An invalid version: exit 1, one line, and the file is not written."""
    bad = str(prod.s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=body)["VersionId"])

    code, _, err = ohpen(capsys, "state", "fetch", bad, "--env", "prod", "--out", "target.json")

    assert code == 1
    assert err.count("\n") == 1 and "is not a usable Terraform state" in err and reason in err
    assert not (prod.root / "target.json").exists()


def test_fetch_of_an_unknown_version(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped version id: exit 1, one line."""
    code, _, err = ohpen(capsys, "state", "fetch", "nope", "--env", "prod", "--out", "t.json")

    assert code == 1
    assert "has no version nope" in err and err.count("\n") == 1
    assert not (prod.root / "t.json").exists()


def test_backup_writes_the_current_version(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """Step 3: the current state, byte for byte, and its version id."""
    code, out, _ = ohpen(capsys, "state", "backup", "--env", "prod", "--out", "b.json")

    assert code == 0
    assert (prod.root / "b.json").read_bytes() == prod.body(prod.v3)
    assert f"version {prod.v3}, serial 3" in out


def test_restore_is_a_dry_run_by_default(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --apply: the plan is shown, nothing is written anywhere."""
    code, out, _ = ohpen(capsys, "state", "restore", prod.v2, "--env", "prod")

    assert code == 0
    lines = _state_lines(out)
    assert lines[-1] == "dry-run: nothing written; add --apply"
    assert any("new version with serial 4" in line for line in lines)
    assert [v.version_id for v in prod.versions()] == [prod.v3, prod.v2, prod.v1]
    assert not (prod.root / "backups").exists()
    assert prod.audit() == []


def test_restore_apply_writes_the_target_as_the_next_serial(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 4: the target's content, serial current+1, same lineage; backup, undo, audit."""
    old_current = prod.body(prod.v3)

    code, out, _ = ohpen(capsys, "state", "restore", prod.v2, "--env", "prod", "--apply")

    assert code == 0
    latest = json.loads(prod.latest())
    assert latest == {**json.loads(prod.body(prod.v2)), "serial": 4}
    assert latest["lineage"] == STATE_LINEAGE
    assert prod.serials() == [4, 3, 2, 1]
    new_version = prod.versions()[0].version_id
    [backup] = backups_of(prod.root / "backups", STATE_KEY, prod.v3)
    assert backup.read_bytes() == old_current
    assert f"new version {new_version}, serial 4" in out
    assert str(backup) in out
    assert f"undo: ohpen state restore {prod.v3} --env prod --apply" in out
    assert f"  or: ohpen state restore --from-file {backup} --env prod --apply" in out
    (record,) = prod.audit()
    assert record.environment == "prod"
    assert record.data["previous_version_id"] == prod.v3
    assert record.data["new_version_id"] == new_version
    assert (record.data["previous_serial"], record.data["new_serial"]) == (3, 4)
    assert (record.data["restored_version_id"], record.data["restored_serial"]) == (prod.v2, 2)
    assert record.data["lineage"] == STATE_LINEAGE
    assert record.data["backup_path"] == str(backup)
    assert record.data["operator"].startswith("arn:aws:")


def test_the_printed_undo_command_undoes_the_restore(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recovery from a failed rollback: the undo line, run as printed, brings back serial 3's
    content (as serial 5)."""
    _, out, _ = ohpen(capsys, "state", "restore", prod.v1, "--env", "prod", "--apply")
    undo = next(line for line in out.splitlines() if line.startswith("undo: "))

    argv = shlex.split(undo.removeprefix("undo: "))
    code, _, _ = ohpen(capsys, *argv[1:])

    assert argv[0] == "ohpen" and code == 0
    assert json.loads(prod.latest()) == {**json.loads(prod.body(prod.v3)), "serial": 5}
    assert len(prod.audit()) == 2


def test_restore_from_a_backup_file(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """A fetched (or backed-up) file is restored like a version."""
    ohpen(capsys, "state", "fetch", prod.v1, "--env", "prod", "--out", "v1.json")

    code, out, _ = ohpen(
        capsys,
        "state",
        "restore",
        "--from-file",
        "v1.json",
        "--env",
        "prod",
        "--apply",
    )

    assert code == 0
    assert json.loads(prod.latest()) == {**json.loads(prod.body(prod.v1)), "serial": 4}
    assert f"holds file {prod.root / 'v1.json'} (serial 1)" in out
    (record,) = prod.audit()
    assert record.data["restored_version_id"] is None


def test_restore_is_refused_while_the_state_is_locked(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """An apply holds the DynamoDB lock: exit 1, one line naming it, nothing written."""
    holder = {"ID": "abc-123", "Operation": "OperationTypeApply", "Who": "ci@runner-7"}
    prod.dynamodb.put_item(
        TableName=TABLE,
        Item={"LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}"}, "Info": {"S": json.dumps(holder)}},
    )

    code, _, err = ohpen(capsys, "state", "restore", prod.v2, "--env", "prod", "--apply")

    assert code == 1
    assert err.count("\n") == 1
    assert "locked in dynamodb:ohpen-terraform-locks by ci@runner-7" in err and "abc-123" in err
    assert prod.serials() == [3, 2, 1]
    assert not (prod.root / "backups").exists()
    assert prod.audit() == []


def test_restore_of_another_lineage_is_refused(
    prod: Prod, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another state's file: exit 1, one line, nothing written."""
    other = {**json.loads(prod.body(prod.v2)), "lineage": "another-lineage"}
    (prod.root / "other.json").write_text(json.dumps(other, indent=2))

    code, _, err = ohpen(
        capsys,
        "state",
        "restore",
        "--from-file",
        "other.json",
        "--env",
        "prod",
        "--apply",
    )

    assert code == 1
    assert err == (
        "ohpen state restore: lineage another-lineage of the target is not the current "
        f"state's {STATE_LINEAGE}: it is another state\n"
    )
    assert prod.serials() == [3, 2, 1]
    assert prod.audit() == []


@pytest.mark.parametrize("argv", [[], ["v-1", "--from-file", "b.json"]])
def test_restore_needs_exactly_one_target(
    prod: Prod,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """Neither or both of VERSION and --from-file: a usage error (exit 2)."""
    code, _, err = ohpen(capsys, "state", "restore", *argv, "--env", "prod")

    assert code == 2
    assert "give a VERSION or --from-file BACKUP" in err


def test_an_environment_without_terraform_is_a_configuration_error(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No [prod.terraform]: exit 2, naming the missing table."""
    (tmp_path / "environments.toml").write_text(
        _toml(fresh_moto, tmp_path / "audit", terraform=False)
    )
    monkeypatch.chdir(tmp_path)

    code, _, err = ohpen(capsys, "state", "versions", "--env", "prod")

    assert code == 2
    assert "[prod.terraform] missing" in err


def test_the_account_guard_runs_first(prod: Prod, capsys: pytest.CaptureFixture[str]) -> None:
    """Another account than the environment names: exit 2 before anything is read or written."""
    url = prod.s3.meta.endpoint_url
    (prod.root / "environments.toml").write_text(
        _toml(url, prod.root / "audit", account="210987654321")
    )

    code, _, err = ohpen(capsys, "state", "restore", prod.v2, "--env", "prod", "--apply")

    assert code == 2
    assert "210987654321" in err
    assert prod.serials() == [3, 2, 1]
