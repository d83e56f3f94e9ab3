"""Issue 11 items 4 and 5 where the account changes: ``ohpen state restore --apply`` and
``ohpen data rollback --apply`` gather the readiness facts first and refuse on a blocker
(here a RUNNING Step Functions execution: moto keeps it RUNNING), unless ``--force`` comes
with a ``--reason``, both recorded; and they write a "started" audit record before
changing anything, refusing (nothing changed) when it cannot be written.

The environment is non-emulated at the in-process moto server; the audit directory is made
unwritable by putting a regular file where its parent folder should be (tests run as root,
so a chmod would not stop the writes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from accounts import STATE_BUCKET, STATE_KEY, etl_pipeline, lock_table, three_applies
from test_datapointer import BUCKET, PREFIX, R2, R3, current_objects, make_silver, run_objects
from test_datapointer import snapshot as silver_snapshot

from pytest_ohpen import cli
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.terraform.state_versions import list_versions

REGION = "eu-west-1"
TABLE = "ohpen-terraform-locks"
MACHINE = "ohpen-etl-orchestration"
REASON = "execution etl-stuck is a zombie, confirmed with the data team"


def _environment(root: Path, url: str, audit: Path) -> None:
    (root / "environments.toml").write_text(
        f'[prod]\naccount_id = "123456789012"\nregion = "{REGION}"\n'
        f'endpoint_url = "{url}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{audit}"\n'
        f'[prod.terraform]\nstate_bucket = "{STATE_BUCKET}"\nstate_key = "{STATE_KEY}"\n'
        f'lock_table = "{TABLE}"\n'
        f'[prod.resources]\nstate_machines = ["{MACHINE}"]\n'
        f'[prod.data.silver]\nbucket = "{BUCKET}"\nprefix = "{PREFIX}"\n'
    )


class Account:
    """The test's directory and what the commands may change: state, silver, records."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
        self.sfn = boto3.client("stepfunctions", endpoint_url=url, region_name=REGION)
        self.v1, self.v2, self.v3 = three_applies(url)
        lock_table(url, TABLE)
        self.machine = etl_pipeline(url, MACHINE)
        make_silver(url)

    def start_pipeline(self) -> None:
        self.sfn.start_execution(stateMachineArn=self.machine, name="etl-stuck")

    def state_versions(self) -> list[str]:
        return [v.version_id for v in list_versions(self.s3, STATE_BUCKET, STATE_KEY)]

    def records(self, kind: str) -> list[Any]:
        return AuditStore(self.root / "audit").records(kind=kind, environment="prod")


@pytest.fixture
def account(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    _environment(tmp_path, fresh_moto, tmp_path / "audit")
    monkeypatch.chdir(tmp_path)
    return Account(tmp_path, fresh_moto)


@pytest.fixture
def unwritable_audit(account: Account) -> Path:
    """[prod.audit] directory under a regular file: every record write fails."""
    blocker = account.root / "afile"
    blocker.write_text("not a folder\n")
    _environment(account.root, account.url, blocker / "audit")
    return blocker


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def restore(account: Account, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    return ohpen(capsys, "state", "restore", account.v2, "--env", "prod", "--apply", *extra)


def data_rollback(capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    return ohpen(
        capsys, "data", "rollback", "--env", "prod", "--layer", "silver", "--to", R2,
        "--reason", REASON, "--apply", *extra,
    )  # fmt: skip


# ------------------------------------------------------------------ blockers (item 5)


def test_state_restore_refuses_while_a_pipeline_runs(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.start_pipeline()
    before = account.state_versions()

    code, _, err = restore(account, capsys)

    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("ohpen state restore: refused, nothing was changed: pipeline_running:")
    assert "etl-stuck" in err and "--force --reason" in err
    assert account.state_versions() == before
    assert not (account.root / "backups").exists()
    assert account.records("state_restore") == []


def test_state_restore_goes_ahead_with_force_and_a_reason_and_records_both(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.start_pipeline()

    code, out, err = restore(account, capsys, "--force", "--reason", REASON)

    assert (code, err) == (0, "")
    assert "warning: state restore --force overrides pipeline_running" in out
    assert len(account.state_versions()) == 4
    outcome, started = account.records("state_restore")  # newest first
    assert started.data["status"] == "started"
    assert outcome.data["status"] == "applied"
    assert outcome.data["started_record"] == started.id
    for record in (started, outcome):
        assert record.data["force"] is True
        assert record.data["force_reason"] == REASON
        assert record.data["reason"] == REASON
        assert [b["code"] for b in record.data["blockers"]] == ["pipeline_running"]


def test_state_restore_without_a_blocker_records_no_override(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pipeline runs; the checkout is no git repository and only the restore's own
    target matters, so neither git nor the readiness target blocks a state restore."""
    code, _, err = restore(account, capsys)

    assert (code, err) == (0, "")
    outcome, started = account.records("state_restore")
    assert (started.data["force"], started.data["blockers"]) == (False, [])
    assert outcome.data["started_record"] == started.id


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_force_without_a_reason_is_a_usage_error(
    account: Account, capsys: pytest.CaptureFixture[str], reason: str | None
) -> None:
    account.start_pipeline()
    extra = ["--force"] + ([] if reason is None else ["--reason", reason])

    code, out, err = restore(account, capsys, *extra)

    assert code == 2
    assert err.count("\n") == 1 and "--force needs --reason TEXT" in err
    assert "verified" not in out, "refused before the account guard's AWS calls"
    assert len(account.state_versions()) == 3


def test_data_rollback_refuses_while_a_pipeline_runs(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.start_pipeline()
    before = silver_snapshot(account.s3)

    code, _, err = data_rollback(capsys)

    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("ohpen data: refused, nothing was changed: pipeline_running:")
    assert silver_snapshot(account.s3) == before
    assert account.records("data_rollback") == []


def test_data_rollback_goes_ahead_with_force_and_records_it(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.start_pipeline()

    code, _, err = data_rollback(capsys, "--force")

    assert (code, err) == (0, "")
    assert current_objects(account.s3) == run_objects(R2)
    outcome, started = account.records("data_rollback")
    assert (started.data["status"], outcome.data["status"]) == ("started", "applied")
    assert started.data["plan"]["to_run"] == R2 and started.data["plan"]["from_run"] == R3
    assert outcome.data["started_record"] == started.id
    for record in (started, outcome):
        assert (record.data["force"], record.data["force_reason"]) == (True, REASON)
        assert [b["code"] for b in record.data["blockers"]] == ["pipeline_running"]


def test_data_rollback_ignores_blockers_only_about_terraform_state(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """The state object is gone (state_missing, and its versions cannot be listed): that
    blocks a Terraform rollback, not moving a data layer's pointer."""
    for version in account.state_versions():
        account.s3.delete_object(Bucket=STATE_BUCKET, Key=STATE_KEY, VersionId=version)

    code, _, err = data_rollback(capsys)

    assert (code, err) == (0, "")
    assert current_objects(account.s3) == run_objects(R2)


# ------------------------------------------------------------- record first (item 4)


def test_state_restore_writes_nothing_when_its_record_cannot_be_written(
    account: Account, unwritable_audit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = account.state_versions()

    code, _, err = restore(account, capsys)

    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("ohpen state restore: cannot record the restore before writing it")
    assert err.rstrip().endswith("nothing was written")
    assert account.state_versions() == before
    assert unwritable_audit.read_text() == "not a folder\n"


def test_data_rollback_changes_nothing_when_its_record_cannot_be_written(
    account: Account, unwritable_audit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = silver_snapshot(account.s3)

    code, _, err = data_rollback(capsys)

    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("ohpen data: cannot record the rollback before applying it")
    assert silver_snapshot(account.s3) == before
    assert current_objects(account.s3) == run_objects(R3)
