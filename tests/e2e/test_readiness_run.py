"""The rollback-readiness report and trigger at the end of a smoke run, end to end.

Every run is a ``runpytest_subprocess`` of the real smoke suite on the embedded account
(``emulated = true``). The pytester directory is a git repository with two commits, so
HEAD and HEAD~1 resolve, and the environment's rollback command is a recorder script:
it appends its argv and the variables the trigger sets to ``rollback-calls.jsonl`` and
prints the AWS credentials it inherited, so the tests can see what the command was given
and that the credentials never reach a file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import environments_toml, local_env

SILVER_ID = "test_smoke.py::test_bucket_accessible[ohpen-silver]"
TERRAFORM = {
    "state_bucket": "ohpen-terraform-state",
    "state_key": "ohpen-data-lake/terraform.tfstate",
    "lock_table": "ohpen-terraform-locks",
}
FEEDS = {
    "ohpen-bronze": ["job ohpen-transaction-etl-spark (input)"],
    "ohpen-silver": ["table silver.transactions (Athena)", "Lambda ohpen-read-run-summary"],
}
FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"
CALLS = "rollback-calls.jsonl"
RECORDED_ENV = (
    "OHPEN_ENV",
    "OHPEN_ROLLBACK_MODE",
    "OHPEN_ROLLBACK_APPROVED_BY",
    "AWS_ENDPOINT_URL",
)

RECORDER = """\
#!@PYTHON@
import json, os, sys

record = {"argv": sys.argv[1:], "env": {name: os.environ.get(name) for name in @NAMES@}}
with open(@LOG@, "a") as log:
    log.write(json.dumps(record) + "\\n")
print("AWS_ACCESS_KEY_ID=" + os.environ.get("AWS_ACCESS_KEY_ID", ""))
print("AWS_SECRET_ACCESS_KEY=" + os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
if @SNAPSHOT@:
    import snapshot_account

    snapshot_account.write(os.environ["AWS_ENDPOINT_URL"], "snapshot-recorder.json")
sys.exit(@EXIT@)
"""

SNAPSHOT_MODULE = '''\
"""What the embedded account holds that a rollback could change, as plain data."""
import json

import boto3


def take(endpoint):
    def client(service):
        return boto3.client(service, endpoint_url=endpoint, region_name="eu-west-1")

    s3 = client("s3")
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    objects = {}
    for bucket in buckets:
        listing = s3.list_object_versions(Bucket=bucket)
        objects[bucket] = {
            "versions": [
                [v["Key"], v["VersionId"], v["IsLatest"], v["Size"], v["ETag"]]
                for v in listing.get("Versions", [])
            ],
            "delete_markers": [
                [m["Key"], m["VersionId"]] for m in listing.get("DeleteMarkers", [])
            ],
            "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        }
    state = s3.list_object_versions(
        Bucket="ohpen-terraform-state", Prefix="ohpen-data-lake/terraform.tfstate"
    )
    dynamodb = client("dynamodb")
    return {
        "buckets": buckets,
        "objects": objects,
        "state_versions": [v["VersionId"] for v in state.get("Versions", [])],
        "tables": sorted(dynamodb.list_tables()["TableNames"]),
        "lock_items": dynamodb.scan(TableName="ohpen-terraform-locks")["Items"],
    }


def write(endpoint, path):
    with open(path, "w") as out:
        json.dump(take(endpoint), out, indent=2, sort_keys=True, default=str)
'''

SNAPSHOT_CONFTEST = """\
import json
import os

import snapshot_account


def _endpoint():
    return "http://127.0.0.1:" + os.environ["MOTO_PORT"]


def pytest_collection_finish(session):
    snapshot_account.write(_endpoint(), "snapshot-before-checks.json")


def pytest_ohpen_readiness_facts(facts, env):
    snapshot_account.write(_endpoint(), "snapshot-before-trigger.json")


def pytest_ohpen_readiness_report(report, env):
    snapshot_account.write(_endpoint(), "snapshot-after-trigger.json")
"""

HOOKS_CONFTEST = """\
import json


def pytest_ohpen_readiness_facts(facts, env):
    facts.add_blocker("change freeze until Monday (set by " + env.name + ")")


def pytest_ohpen_readiness_report(report, env):
    with open("hook-report.json", "w") as out:
        json.dump(report, out)
"""

REPORT_HOOK_CONFTEST = """\
import json


def pytest_ohpen_readiness_report(report, env):
    with open("hook-report.json", "w") as out:
        json.dump(report, out)
"""

MUTATING_CONFTEST = """\
import json

import pytest

SEEN = {}


def pytest_ohpen_readiness_facts(facts, env):
    facts.extra["note"] = "from the facts hook"
    SEEN["facts"] = facts


def pytest_ohpen_rollback_veto(report, env):
    report["verdict"] = "BLOCKED"
    report["target"]["git_ref"] = "refs/heads/evil"
    report["extra"]["note"] = "changed by the veto hook"
    SEEN["facts"].extra["note"] = "changed after the verdict"
    SEEN["facts"].add_blocker("added after the verdict")
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_ohpen_readiness_report(report, env):
    report["verdict"] = "MUTATED"
    report["rollback"]["mode"] = "off"
    report["blockers"].append({"code": "hook", "message": "added to the copy"})
    with open("hook-mutated.json", "w") as out:
        json.dump(report, out)
"""

VETO_CONFTEST = """\
def pytest_ohpen_rollback_veto(report, env):
    return "change freeze"
"""

# ----------------------------------------------------------------- helpers


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def make_git_repo(path: Path) -> tuple[str, str]:
    """Two commits of the "Terraform code" in ``path``; everything else is ignored, so the
    checkout is clean. Returns (HEAD~1, HEAD)."""
    _git(path, "init", "-q")
    for key, value in (
        ("user.name", "Ohpen Test"),
        ("user.email", "test@ohpen.example"),
        ("commit.gpgsign", "false"),
    ):
        _git(path, "config", key, value)
    path.joinpath(".gitignore").write_text("/*\n!/.gitignore\n!/infra/\n")
    infra = path / "infra"
    infra.mkdir(exist_ok=True)
    for number in (1, 2):
        infra.joinpath("main.tf").write_text(f"# deployment {number}\nlocals {{ n = {number} }}\n")
        _git(path, "add", "-A")
        _git(path, "commit", "-q", "-m", f"deployment {number}")
    return _git(path, "rev-parse", "HEAD~1"), _git(path, "rev-parse", "HEAD")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def write_environment(pytester: pytest.Pytester, **rollback: object) -> None:
    """The local environment: emulated, no settle delay, [terraform], [rollback] with the
    recorder (plus ``rollback`` keys) and [resources.feeds] (a second-level table)."""
    env = local_env(retry_delay=0, terraform=dict(TERRAFORM))
    command = [str(pytester.path / "rollback.py"), "--env", "{env}"]
    command += ["--target-version", "{target_ref}", "--state-version", "{state_version}"]
    env["rollback"] = {"command": command, **rollback}
    text = environments_toml({"local": env})
    text += "[local.resources.feeds]\n"
    text += "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in FEEDS.items())
    pytester.path.joinpath("environments.toml").write_text(text)


def write_recorder(pytester: pytest.Pytester, exit_code: int = 0, snapshot: bool = False) -> None:
    script = (
        RECORDER.replace("@PYTHON@", sys.executable)
        .replace("@NAMES@", repr(RECORDED_ENV))
        .replace("@LOG@", repr(str(pytester.path / CALLS)))
        .replace("@SNAPSHOT@", repr(snapshot))
        .replace("@EXIT@", str(exit_code))
    )
    path = pytester.path / "rollback.py"
    path.write_text(script)
    path.chmod(0o755)


@pytest.fixture
def lake(suite_dir: pytest.Pytester) -> pytest.Pytester:
    """The smoke suite, the environment, the recorder and a two-commit git checkout."""
    write_environment(suite_dir)
    write_recorder(suite_dir)
    make_git_repo(suite_dir.path)
    return suite_dir


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider", *args)


def red(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return run(pytester, "--emulator-omit", "ohpen-silver", *args)


def report_of(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        pytester.path.joinpath("reports", "readiness-local.json").read_text()
    )
    return data


def calls_of(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    log = pytester.path / CALLS
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def audit_records(pytester: pytest.Pytester, kind: str) -> list[dict[str, Any]]:
    directory = pytester.path / "reports" / "audit" / "local" / kind
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def head_commits(pytester: pytest.Pytester) -> tuple[str, str]:
    return _git(pytester.path, "rev-parse", "HEAD~1"), _git(pytester.path, "rev-parse", "HEAD")


# ------------------------------------------------------------------- red runs


def test_red_run_reports_ready_and_dry_runs_the_rollback_once(lake: pytest.Pytester) -> None:
    """The playbook's red run: the report, the dry-run, the audit records, and the fake
    credentials of this process (which the recorder prints) in no file and no output."""
    result = red(lake, "--junitxml", "reports/junit.xml")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    report = report_of(lake)
    assert report["verdict"] == "READY"
    assert report["rollback_possible"] is True
    assert report["blockers"] == []
    assert "git_dirty" not in [w["code"] for w in report["warnings"]]
    [failed] = report["failed_checks"]
    assert failed["nodeid"] == SILVER_ID
    assert failed["resource"] == "ohpen-silver"
    assert "ohpen-silver: not found" in failed["message"]
    assert report["checks"] == {
        "ran": True,
        "passed": 5,
        "failed": 1,
        "inconclusive": 0,
        "passed_on_retry": [],
    }
    assert report["affected"] == FEEDS["ohpen-silver"]

    current, target = report["current"], report["target"]
    assert current["serial"] == 2  # three real applies: serials 0, 1, 2
    assert target["serial"] == 1
    assert target["lineage"] == current["lineage"]
    assert target["source"] == "previous"
    versions = [v["version_id"] for v in report["state"]["versions"]]
    assert len(versions) == 3
    assert current["state_version_id"] == versions[0]
    assert target["state_version_id"] == versions[1]
    previous, head = head_commits(lake)
    assert report["git"]["head"] == head
    assert target["git_ref"] == "HEAD~1"
    assert target["git_commit"] == previous

    markdown = lake.path.joinpath("reports", "readiness-local.md").read_text()
    assert markdown.startswith("# Rollback readiness: local — READY")
    assert SILVER_ID in markdown
    assert target["state_version_id"] in markdown

    result.stdout.fnmatch_lines(
        [
            "*= ohpen rollback readiness =*",
            "verdict: READY (local)",
            f"  roll back to: state version {target['state_version_id']}, git HEAD~1 = {previous}",
            "  affected: table silver.transactions (Athena), Lambda ohpen-read-run-summary",
            "  rollback: dry-run, exit code 0",
        ]
    )

    [call] = calls_of(lake)
    assert call["argv"] == [
        "--env",
        "local",
        "--target-version",
        "HEAD~1",
        "--state-version",
        target["state_version_id"],
        "--dry-run",
    ]
    assert "--apply" not in call["argv"]
    assert call["env"]["OHPEN_ENV"] == "local"
    assert call["env"]["OHPEN_ROLLBACK_MODE"] == "dry-run"
    assert call["env"]["OHPEN_ROLLBACK_APPROVED_BY"] is None
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", call["env"]["AWS_ENDPOINT_URL"])

    trigger = report["rollback"]
    assert trigger["mode"] == "dry-run"
    assert trigger["requested"] == "dry-run"
    assert trigger["exit_code"] == 0
    assert trigger["command"][-1] == "--dry-run"
    # On the embedded account the command gets its fake keys, never the caller's own; the
    # secret-named one is still redacted in the report.
    assert trigger["output"] == [
        "AWS_ACCESS_KEY_ID=ohpen-embedded",
        "AWS_SECRET_ACCESS_KEY=[REDACTED]",
    ]

    [record] = audit_records(lake, "readiness_report")
    assert record["data"] == report
    [trigger_record] = audit_records(lake, "rollback_trigger")
    assert trigger_record["data"]["mode"] == "dry-run"
    assert trigger_record["data"]["verdict"] == "READY"
    assert audit_records(lake, "known_good") == []

    assert lake.path.joinpath("reports", "junit.xml").is_file()
    files = [p for p in lake.path.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        assert FAKE_KEY_ID.encode() not in data, path
        assert FAKE_SECRET.encode() not in data, path
    for text in (result.stdout.str(), result.stderr.str()):
        assert FAKE_KEY_ID not in text
        assert FAKE_SECRET not in text


def _snapshot(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pytester.path.joinpath(f"snapshot-{name}.json").read_text())
    return data


def test_a_dry_run_changes_nothing_in_the_account(lake: pytest.Pytester) -> None:
    """The account is looked at before the checks, before the trigger, by the rollback
    command itself, and after the trigger: all four views are the same."""
    write_recorder(lake, snapshot=True)
    lake.path.joinpath("snapshot_account.py").write_text(SNAPSHOT_MODULE)
    lake.makeconftest(SNAPSHOT_CONFTEST)

    result = red(lake)

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert [c["argv"][-1] for c in calls_of(lake)] == ["--dry-run"]
    before = _snapshot(lake, "before-checks")
    assert len(before["state_versions"]) == 3
    assert "ohpen-silver" not in before["buckets"]
    assert "ohpen-terraform-state" in before["buckets"]
    assert before["tables"] == ["ohpen-terraform-locks"]
    for name in ("before-trigger", "recorder", "after-trigger"):
        assert _snapshot(lake, name) == before, name


@pytest.mark.parametrize(
    ("rollback", "args", "conftest", "reason"),
    [
        pytest.param(
            {"mode": "apply"},
            [],
            None,
            "auto_apply is not true for environment 'local'",
            id="no-auto-apply",
        ),
        pytest.param(
            {"mode": "apply", "auto_apply": True},
            [],
            None,
            "no approval: pass --rollback-approved-by NAME or set OHPEN_ROLLBACK_APPROVED_BY",
            id="no-approver",
        ),
        pytest.param(
            {"mode": "apply", "auto_apply": True},
            ["--rollback-approved-by", "alice"],
            VETO_CONFTEST,
            "vetoed: change freeze",
            id="vetoed",
        ),
    ],
)
def test_apply_falls_back_to_dry_run_unless_every_gate_holds(
    lake: pytest.Pytester,
    rollback: dict[str, object],
    args: list[str],
    conftest: str | None,
    reason: str,
) -> None:
    write_environment(lake, **rollback)
    if conftest:
        lake.makeconftest(conftest)

    result = red(lake, *args)

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--dry-run"
    assert "--apply" not in call["argv"]
    assert call["env"]["OHPEN_ROLLBACK_MODE"] == "dry-run"
    trigger = report_of(lake)["rollback"]
    assert trigger["requested"] == "apply"
    assert trigger["mode"] == "dry-run"
    assert reason in trigger["fallback_reasons"]
    result.stdout.fnmatch_lines([f"ohpen: rollback not applied: {reason}"])
    [record] = audit_records(lake, "rollback_trigger")
    assert reason in record["data"]["fallback_reasons"]


def test_apply_runs_when_enabled_approved_ready_and_not_vetoed(lake: pytest.Pytester) -> None:
    write_environment(lake, mode="apply", auto_apply=True)

    result = red(lake, "--rollback-approved-by", "alice")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--apply"
    assert "--dry-run" not in call["argv"]
    assert call["env"]["OHPEN_ROLLBACK_MODE"] == "apply"
    assert call["env"]["OHPEN_ROLLBACK_APPROVED_BY"] == "alice"
    report = report_of(lake)
    assert report["verdict"] == "READY"
    assert report["rollback"]["mode"] == "apply"
    assert report["rollback"]["fallback_reasons"] == []
    assert report["rollback"]["approved_by"] == "alice"
    records = audit_records(lake, "rollback_trigger")  # "started" before the apply, then this
    [record] = [r for r in records if r["data"]["status"] == "finished"]
    assert len(records) == 2
    assert record["data"]["mode"] == "apply"
    assert record["data"]["approved_by"] == "alice"


def test_rollback_off_never_runs_the_command(lake: pytest.Pytester) -> None:
    result = red(lake, "--rollback", "off")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert calls_of(lake) == []
    report = report_of(lake)
    assert report["verdict"] == "READY"
    assert report["rollback"]["mode"] == "off"
    assert report["rollback"]["command"] is None
    assert audit_records(lake, "rollback_trigger") == []


def test_the_exit_code_stays_the_checks_when_the_command_fails(lake: pytest.Pytester) -> None:
    write_recorder(lake, exit_code=3)

    result = red(lake)

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert len(calls_of(lake)) == 1
    trigger = report_of(lake)["rollback"]
    assert trigger["exit_code"] == 3
    assert trigger["mode"] == "dry-run"
    result.stdout.fnmatch_lines(["  rollback: dry-run, exit code 3"])


def test_xdist_reports_and_triggers_once_on_the_controller(lake: pytest.Pytester) -> None:
    result = red(lake, "-n", "2")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    reports = sorted(p.name for p in lake.path.joinpath("reports").glob("readiness-*"))
    assert reports == ["readiness-local.json", "readiness-local.md"]
    assert len(audit_records(lake, "readiness_report")) == 1
    assert len(audit_records(lake, "rollback_trigger")) == 1
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--dry-run"
    report = report_of(lake)
    assert report["verdict"] == "READY"
    assert [c["nodeid"] for c in report["failed_checks"]] == [SILVER_ID]
    assert report["affected"] == FEEDS["ohpen-silver"]
    assert result.stdout.str().count("verdict: READY (local)") == 1


# ----------------------------------------------------------------- green runs


def test_green_run_needs_no_rollback_and_marks_known_good(
    lake: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GITHUB_SHA", "CI_COMMIT_SHA", "OHPEN_DEPLOYED_COMMIT"):
        monkeypatch.delenv(variable, raising=False)
    result = run(lake)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = report_of(lake)
    assert report["verdict"] == "NOT_NEEDED"
    assert report["rollback"] is None
    assert report["failed_checks"] == []
    assert calls_of(lake) == []
    assert audit_records(lake, "rollback_trigger") == []
    result.stdout.fnmatch_lines(["verdict: NOT_NEEDED (local)"])
    [mark] = audit_records(lake, "known_good")
    _, head = head_commits(lake)
    assert mark["kind"] == "known_good"
    assert mark["environment"] == "local"
    assert mark["data"]["state_version_id"] == report["current"]["state_version_id"]
    assert mark["data"]["git_commit"] is None, "HEAD is not the deployed commit: unknown"
    assert mark["data"]["checkout_head"] == head
    assert mark["data"]["checks_passed"] == 6


def test_a_partial_green_run_marks_nothing_known_good(lake: pytest.Pytester) -> None:
    result = run(lake, "-k", "bucket")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert report_of(lake)["verdict"] == "NOT_NEEDED"
    assert audit_records(lake, "known_good") == []


def test_a_green_run_narrowed_by_node_id_marks_nothing_known_good(
    lake: pytest.Pytester,
) -> None:
    result = lake.runpytest_subprocess(
        "test_smoke.py::test_bucket_accessible", "--env", "local", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert report_of(lake)["checks"]["passed"] == 3
    assert audit_records(lake, "known_good") == []


def test_a_green_run_without_a_readable_state_still_completes_the_report(
    lake: pytest.Pytester,
) -> None:
    lake.makeconftest(REPORT_HOOK_CONFTEST)

    result = run(lake, "--emulator-omit", "ohpen-terraform-state")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = report_of(lake)
    assert report["verdict"] == "NOT_NEEDED"
    assert audit_records(lake, "known_good") == [], "no state version to mark"
    assert "could not be completed" not in result.stdout.str()
    result.stdout.fnmatch_lines(["verdict: NOT_NEEDED (local)"])
    assert lake.path.joinpath("hook-report.json").is_file(), "the report hook was not called"


# ---------------------------------------------------------------------- hooks


def test_hooks_that_change_what_they_receive_change_neither_the_decision_nor_the_report(
    lake: pytest.Pytester,
) -> None:
    """The veto and report hooks get copies: a veto hook rewriting the verdict and the target
    does not block the apply nor move its target, a report hook rewriting its report reaches
    neither the files, the audit record nor the Allure attachment, and facts changed after the
    verdict do not reach the report."""
    write_environment(lake, mode="apply", auto_apply=True)
    lake.makeconftest(MUTATING_CONFTEST)

    result = red(lake, "--rollback-approved-by", "alice", "--alluredir", "allure-results")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert json.loads(lake.path.joinpath("hook-mutated.json").read_text())["verdict"] == "MUTATED"
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--apply", "the veto hook's verdict change blocked the apply"
    assert "refs/heads/evil" not in call["argv"]
    report = report_of(lake)
    assert report["verdict"] == "READY"
    assert report["blockers"] == []
    assert report["extra"] == {"note": "from the facts hook"}
    assert report["target"]["git_ref"] != "refs/heads/evil"
    assert report["rollback"]["mode"] == "apply"
    [record] = audit_records(lake, "readiness_report")
    assert record["data"] == report
    markdown = lake.path.joinpath("reports", "readiness-local.md").read_text()
    assert markdown.splitlines()[0] == "# Rollback readiness: local — READY"
    result.stdout.fnmatch_lines(["verdict: READY (local)", "  rollback: apply, exit code 0"])
    results = [
        json.loads(path.read_text())
        for path in lake.path.joinpath("allure-results").glob("*-result.json")
    ]
    [readiness] = [r for r in results if r["name"] == "ohpen rollback readiness (local)"]
    [attached] = [a for a in readiness["attachments"] if a["name"] == "readiness report (JSON)"]
    source = lake.path / "allure-results" / attached["source"]
    assert json.loads(source.read_text()) == report


def test_conftest_hooks_add_a_blocker_and_receive_the_final_report(
    lake: pytest.Pytester,
) -> None:
    """A hook's blocker turns READY into BLOCKED, which keeps an enabled, approved apply
    a dry-run; the report hook gets the report as written."""
    write_environment(lake, mode="apply", auto_apply=True)
    lake.makeconftest(HOOKS_CONFTEST)

    result = red(lake, "--rollback-approved-by", "alice")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    report = report_of(lake)
    assert report["verdict"] == "BLOCKED"
    assert report["rollback_possible"] is False
    message = "change freeze until Monday (set by local)"
    assert report["blockers"] == [{"code": "hook", "message": message}]
    result.stdout.fnmatch_lines(["verdict: BLOCKED (local)", f"  blocked: {message}"])
    assert message in lake.path.joinpath("reports", "readiness-local.md").read_text()
    hooked = json.loads(lake.path.joinpath("hook-report.json").read_text())
    assert hooked == report
    assert hooked["rollback"]["exit_code"] == 0, "the report hook runs after the trigger"
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--dry-run"
    reasons = report["rollback"]["fallback_reasons"]
    assert reasons == ["the readiness verdict is BLOCKED, not READY"]
    result.stdout.fnmatch_lines([f"ohpen: rollback not applied: {reasons[0]}"])
