"""Backups are never lost: each restore's backup is its own file, and ``state fetch`` and
``state backup`` do not overwrite an existing ``--out`` unless told to (``--force``).

Against moto's server holding the state bucket (serials 1, 2, 3), without a lock table:
the setting in which two restores can race.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import accounts
import boto3
import pytest
from accounts import STATE_BUCKET, STATE_KEY

from pytest_ohpen import cli
from pytest_ohpen.terraform.restore_apply import (
    RestoreResult,
    StateConflict,
    apply_restore,
    backups_of,
)
from pytest_ohpen.terraform.restore_plan import plan_restore
from pytest_ohpen.terraform.state_versions import list_versions, read_version

REGION = "eu-west-1"
EARLIER = b"an earlier backup the operator kept\n"


@pytest.fixture
def s3(fresh_moto: str) -> Any:
    accounts.three_applies(fresh_moto)
    return boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)


def _ids(s3: Any) -> list[str]:
    """Version ids, newest first."""
    return [v.version_id for v in list_versions(s3, STATE_BUCKET, STATE_KEY)]


class _PutAfterWinner:
    """The loser's S3 client: the winner's whole restore happens inside the loser's put,
    i.e. after the loser wrote its backup and before its conditional write is refused."""

    def __init__(self, s3: Any, winner: Any) -> None:
        self._s3 = s3
        self._winner = winner
        self.winner_result: RestoreResult | None = None

    def put_object(self, **kwargs: Any) -> Any:
        self.winner_result = self._winner()
        return self._s3.put_object(**kwargs)


def test_a_losing_restore_never_removes_the_winners_backup(s3: Any, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    v1, v2, v3 = reversed(_ids(s3))
    current = read_version(s3, STATE_BUCKET, STATE_KEY, v3)
    winner_plan = plan_restore(s3, STATE_BUCKET, STATE_KEY, target_version_id=v2)
    loser_plan = plan_restore(s3, STATE_BUCKET, STATE_KEY, target_version_id=v1)
    loser_s3 = _PutAfterWinner(
        s3,
        lambda: apply_restore(s3, STATE_BUCKET, STATE_KEY, winner_plan, backup_dir=backups),
    )

    with pytest.raises(StateConflict):
        apply_restore(loser_s3, STATE_BUCKET, STATE_KEY, loser_plan, backup_dir=backups)

    winner = loser_s3.winner_result
    assert winner is not None
    assert _ids(s3) == [winner.new_version_id, v3, v2, v1]
    assert winner.backup_path.read_bytes() == current, "the winner's undo file is intact"
    assert backups_of(backups, STATE_KEY, v3) == [winner.backup_path]
    assert [p.name for p in backups.iterdir()] == [winner.backup_path.name]


def test_two_restores_from_one_version_keep_two_backups(s3: Any, tmp_path: Path) -> None:
    """Restore, undo by version, restore again: each backup of a version is its own file."""
    backups = tmp_path / "backups"
    _, v2, v3 = reversed(_ids(s3))

    def restore(target: str) -> RestoreResult:
        plan = plan_restore(s3, STATE_BUCKET, STATE_KEY, target_version_id=target)
        return apply_restore(s3, STATE_BUCKET, STATE_KEY, plan, backup_dir=backups)

    first = restore(v2)
    undo = restore(v3)
    second = restore(v2)

    assert first.previous_version_id == v3
    assert len({first.backup_path, undo.backup_path, second.backup_path}) == 3
    assert all(p.is_file() for p in (first.backup_path, undo.backup_path, second.backup_path))
    assert first.backup_path.read_bytes() == read_version(s3, STATE_BUCKET, STATE_KEY, v3)


# ------------------------------------------------------------------ fetch / backup --out


@pytest.fixture
def prod(fresh_moto: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """[prod] in ./environments.toml at the moto server; the state bucket's client."""
    (tmp_path / "environments.toml").write_text(
        f'[prod]\naccount_id = "123456789012"\nregion = "{REGION}"\n'
        f'endpoint_url = "{fresh_moto}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{tmp_path / "audit"}"\n'
        f'[prod.terraform]\nstate_bucket = "{STATE_BUCKET}"\nstate_key = "{STATE_KEY}"\n'
    )
    monkeypatch.chdir(tmp_path)
    return s3


def _ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _commands(s3: Any) -> dict[str, list[str]]:
    v1 = _ids(s3)[-1]
    return {
        "fetch": ["state", "fetch", v1, "--env", "prod"],
        "backup": ["state", "backup", "--env", "prod"],
    }


@pytest.mark.parametrize("command", ["fetch", "backup"])
def test_an_existing_out_file_is_not_overwritten(
    prod: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out_file = tmp_path / "kept.tfstate"
    out_file.write_bytes(EARLIER)

    code, out, err = _ohpen(capsys, *_commands(prod)[command], "--out", str(out_file))

    assert code == 2
    assert out_file.read_bytes() == EARLIER
    [line] = err.splitlines()
    assert line.startswith(f"ohpen: error: state {command} --out {out_file}: the file exists")
    assert "--force" in line
    assert "verified" not in out, "refused before the account guard (no AWS call)"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kept")] == []


@pytest.mark.parametrize("command", ["fetch", "backup"])
def test_force_replaces_an_existing_out_file(
    prod: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out_file = tmp_path / "kept.tfstate"
    out_file.write_bytes(EARLIER)
    version = _ids(prod)[-1] if command == "fetch" else _ids(prod)[0]

    code, _, err = _ohpen(capsys, *_commands(prod)[command], "--out", str(out_file), "--force")

    assert code == 0, err
    assert out_file.read_bytes() == read_version(prod, STATE_BUCKET, STATE_KEY, version)


@pytest.mark.parametrize("command", ["fetch", "backup"])
def test_a_new_out_file_is_written_without_force(
    prod: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out_file = tmp_path / "new" / "state.json"

    code, _, err = _ohpen(capsys, *_commands(prod)[command], "--out", str(out_file))

    assert code == 0, err
    assert out_file.is_file()


@pytest.mark.parametrize("command", ["fetch", "backup"])
def test_force_is_documented_in_the_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["state", command, *(["V"] if command == "fetch" else []), "--help"]
    with pytest.raises(SystemExit) as done:
        cli.main(argv)

    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--force replace FILE if it exists" in text
    assert "never replaced (exit 2) unless --force" in text
