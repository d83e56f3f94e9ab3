"""``ohpen readiness`` on accounts shaped exactly: one blocker per scenario.

Each test builds the account in the session's moto server (``fresh_moto``) itself with
tests/accounts.py, behind a non-emulated environment (``endpoint_url``), then shapes the
Terraform state, the lock or the pipeline, and runs ``ohpen readiness`` in-process
(``pytest_ohpen.cli.main``) in a git checkout with two commits (real git: e2e).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import accounts
import boto3
import pytest
from accounts import STATE_BUCKET, STATE_KEY
from conftest import SIX_RESOURCES, environments_toml
from test_readiness_run import make_git_repo

from pytest_ohpen.cli import main
from pytest_ohpen.config.environments import Environment, load_environment
from pytest_ohpen.records.store import AuditStore

ENV = "ext"
ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
LOCK_TABLE = "ohpen-terraform-locks"
MACHINE = "ohpen-etl-orchestration"
LOCK_RECORD = {
    "ID": "3f6a1c52-7c1e-4b0a-9d3e-2a1b5c6d7e8f",
    "Operation": "OperationTypeApply",
    "Info": "",
    "Who": "deployer@ci-runner-7",
    "Version": "1.5.0",
    "Created": "2026-01-29T15:00:00.123456Z",
    "Path": f"{STATE_BUCKET}/{STATE_KEY}",
}


def _moto_config(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/config", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()


@dataclass
class Account:
    """The moto account, the environment pointing at it and the checkout ``ohpen`` runs in."""

    url: str
    root: Path
    env: Environment
    commits: tuple[str, str]
    """(HEAD~1, HEAD) of the checkout."""

    def client(self, service: str) -> Any:
        make_client: Any = boto3.client  # one factory for every service name
        return make_client(service, endpoint_url=self.url, region_name=REGION)

    def provision(self, state_bodies: list[bytes] | None = None) -> None:
        """What readiness reads: the versioned data buckets, the Glue job, the state machine,
        the empty lock table and the state object, holding three applies (serials 1, 2, 3)
        or, with ``state_bodies``, exactly those versions (oldest first)."""
        for bucket in SIX_RESOURCES["buckets"]:
            accounts.bucket(self.url, bucket)
        accounts.glue_job(self.url, accounts.GLUE_JOB)
        accounts.state_machine(
            self.url, MACHINE, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
        )
        accounts.lock_table(self.url, LOCK_TABLE)
        if state_bodies is None:
            accounts.three_applies(self.url)
        else:
            accounts.state_versions(self.url, state_bodies)

    def state(self, serial: int, lineage: str = accounts.LINEAGE) -> bytes:
        """A state body as Terraform would write it (optionally of another lineage)."""
        return accounts.state_body(serial, lineage)

    def versions(self) -> list[str]:
        """The state object's version ids, newest first."""
        listing = self.client("s3").list_object_versions(Bucket=STATE_BUCKET, Prefix=STATE_KEY)
        return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == STATE_KEY]

    def snapshot(self) -> dict[str, Any]:
        """Everything a rollback could change: objects and their versions, the lock table."""
        s3 = self.client("s3")
        buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
        objects = {}
        for bucket in buckets:
            listing = s3.list_object_versions(Bucket=bucket)
            objects[bucket] = [
                (v["Key"], v["VersionId"], v["IsLatest"], v["ETag"])
                for v in listing.get("Versions", [])
            ] + [(m["Key"], m["VersionId"]) for m in listing.get("DeleteMarkers", [])]
        versioning = {b: s3.get_bucket_versioning(Bucket=b).get("Status") for b in buckets}
        items = self.client("dynamodb").scan(TableName=LOCK_TABLE)["Items"]
        return {"objects": objects, "versioning": versioning, "lock_items": items}

    def readiness(self, *args: str) -> tuple[int, dict[str, Any]]:
        """``ohpen readiness --env ext``: the exit code and the report written."""
        code = main(["readiness", "--env", ENV, *args])
        report: dict[str, Any] = json.loads(
            self.root.joinpath("reports", f"readiness-{ENV}.json").read_text()
        )
        return code, report


def _codes(report: dict[str, Any]) -> list[str]:
    return [blocker["code"] for blocker in report["blockers"]]


@pytest.fixture
def account(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    commits = make_git_repo(tmp_path)
    env = {
        "account_id": ACCOUNT_ID,
        "region": REGION,
        "endpoint_url": fresh_moto,
        "retry_delay": 0,
        "timeout": 10,
        "resources": dict(SIX_RESOURCES),
        "terraform": {
            "state_bucket": STATE_BUCKET,
            "state_key": STATE_KEY,
            "lock_table": LOCK_TABLE,
        },
    }
    path = tmp_path / "environments.toml"
    path.write_text(environments_toml({ENV: env}))
    monkeypatch.chdir(tmp_path)
    return Account(fresh_moto, tmp_path, load_environment(path, ENV, "test"), commits)


def test_a_clean_account_is_ready(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    account.provision()
    versions = account.versions()

    code, report = account.readiness()

    assert code == 0
    assert report["verdict"] == "READY"
    assert report["rollback_possible"] is True
    assert report["blockers"] == []
    assert report["checks"]["ran"] is False
    assert report["rollback"] is None
    assert report["current"]["serial"] == 3
    assert report["current"]["state_version_id"] == versions[0]
    target = report["target"]
    assert (target["serial"], target["source"]) == (2, "previous")
    assert target["state_version_id"] == versions[1]
    assert (target["git_ref"], target["git_commit"]) == ("HEAD~1", account.commits[0])
    assert report["git"]["head"] == account.commits[1]
    out = capsys.readouterr().out
    assert "verdict: READY (ext)" in out
    [record] = AuditStore(account.env.audit.directory).records("readiness_report", ENV)
    assert record.data == report


def test_readiness_changes_nothing(account: Account) -> None:
    account.provision()
    account.client("dynamodb").put_item(
        TableName=LOCK_TABLE,
        Item={
            "LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}-md5"},
            "Digest": {"S": "0123456789abcdef0123456789abcdef"},
        },
    )
    before = account.snapshot()
    assert len(before["objects"][STATE_BUCKET]) == 3

    code, _ = account.readiness()

    assert code == 0
    assert account.snapshot() == before


def test_a_lock_in_the_dynamodb_table_blocks(account: Account) -> None:
    account.provision()
    account.client("dynamodb").put_item(
        TableName=LOCK_TABLE,
        Item={
            "LockID": {"S": f"{STATE_BUCKET}/{STATE_KEY}"},
            "Info": {"S": json.dumps(LOCK_RECORD)},
        },
    )

    code, report = account.readiness()

    assert code == 1
    assert report["verdict"] == "BLOCKED"
    assert _codes(report) == ["lock_held"]
    message = report["blockers"][0]["message"]
    assert "deployer@ci-runner-7" in message
    assert "OperationTypeApply" in message
    assert report["lock"]["source"] == f"dynamodb:{LOCK_TABLE}"
    assert report["lock"]["who"] == "deployer@ci-runner-7"


def test_a_lock_file_next_to_the_state_blocks(account: Account) -> None:
    account.provision()
    lockfile = f"{STATE_KEY}.tflock"
    account.client("s3").put_object(
        Bucket=STATE_BUCKET, Key=lockfile, Body=json.dumps(LOCK_RECORD).encode()
    )

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["lock_held"]
    assert "deployer@ci-runner-7" in report["blockers"][0]["message"]
    assert report["lock"]["source"] == f"s3:{STATE_BUCKET}/{lockfile}"
    assert len(report["state"]["versions"]) == 3, "the lock file is not a state version"


def test_a_running_execution_blocks(account: Account) -> None:
    _moto_config(account.url, {"stepfunctions": {"execute_state_machine": False}})
    account.provision()
    arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{MACHINE}"
    started = account.client("stepfunctions").start_execution(
        stateMachineArn=arn, name="etl-2026-01-29", input=json.dumps({"run_key": "2026-01-29"})
    )

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["pipeline_running"]
    assert started["executionArn"] in report["blockers"][0]["message"]
    [work] = report["running"]
    assert (work["kind"], work["resource"]) == ("execution", MACHINE)
    assert work["run_id"] == started["executionArn"]


def test_a_single_state_version_blocks(account: Account) -> None:
    account.provision(state_bodies=[account.state(1)])

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["single_version"]
    assert report["target"].get("state_version_id") is None
    assert report["target"]["source"] is None


def test_a_latest_version_of_another_lineage_blocks(account: Account) -> None:
    other = "0b7d6f1c-2a4e-4c39-9a55-3e2d8f0c1b7a"
    bodies = [account.state(1), account.state(2), account.state(3), account.state(1, other)]
    account.provision(state_bodies=bodies)

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["lineage_mismatch"]
    assert report["current"]["lineage"] == other
    assert report["target"]["serial"] == 3
    assert report["target"]["lineage"] != other


def test_an_unparsable_target_version_blocks(account: Account) -> None:
    bodies = [account.state(1), b"<html>502 Bad Gateway</html>", account.state(3)]
    account.provision(state_bodies=bodies)

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["target_unparsable"]
    assert report["target"]["state_version_id"] == account.versions()[1]
    assert report["target"]["parse_error"].startswith("not JSON")


def test_a_state_bucket_with_versioning_suspended_blocks(account: Account) -> None:
    account.provision()
    account.client("s3").put_bucket_versioning(
        Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Suspended"}
    )

    code, report = account.readiness()

    assert code == 1
    assert _codes(report) == ["state_bucket_unversioned"]
    assert report["state"]["versioning"] == "Suspended"


def test_a_known_good_mark_is_the_target(account: Account) -> None:
    account.provision()
    versions = account.versions()
    oldest, first_commit = versions[-1], account.commits[0]
    AuditStore(account.env.audit.directory).write(
        "known_good", ENV, {"state_version_id": oldest, "git_commit": first_commit}
    )

    code, report = account.readiness()

    assert code == 0
    assert report["verdict"] == "READY"
    target = report["target"]
    assert target["state_version_id"] == oldest
    assert target["serial"] == 1
    assert target["source"] == "known_good"
    assert target["known_good_mark"]["state_version_id"] == oldest
    assert target["git_ref"] == first_commit
    assert target["git_commit"] == first_commit
    assert "no_known_good" not in [w["code"] for w in report["warnings"]]


def test_an_unknown_environment_is_one_error_line(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["readiness", "--env", "nope"])

    assert code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ohpen: error: --env 'nope' (command line): unknown environment")
    assert "known: ext" in lines[0]
    assert captured.out == ""
    assert not account.root.joinpath("reports").exists()
