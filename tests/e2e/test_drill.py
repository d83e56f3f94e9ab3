"""The quarterly rollback drill: refused where drills are not allowed, and on the embedded
account run end to end for every fault of the catalogue, with its record."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SIX_RESOURCES, environments_toml, local_env

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import Environment, Resources, load_environment
from pytest_ohpen.emulator.provision import provision
from pytest_ohpen.emulator.stack import Stack
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.rollback.drill import CATALOGUE, DrillRun, choose_fault, refuse_unless_drills
from pytest_ohpen.terraform.state_versions import list_versions

DRILL = REPO / "suites" / "drill" / "test_drill.py"
ROLES = [
    "ohpen-transaction-etl-spark-role",
    "ohpen-etl-orchestration-role",
    "ohpen-read-run-summary-role",
]


def _env(**overrides: object) -> Environment:
    values: dict[str, object] = {
        "name": "staging",
        "source": Path("environments.toml"),
        "account_id": "123456789012",
        "region": "eu-west-1",
        "drills": True,
        "resources": Resources(
            buckets=("ohpen-bronze",), glue_jobs=("job-a",), lambdas=("fn-a",), roles=("role-a",)
        ),
    }
    values.update(overrides)
    return Environment(**values)  # type: ignore[arg-type]


def test_the_drill_is_refused_without_drills_true() -> None:
    with pytest.raises(ConfigError, match=r"\[prod\] drills: .* runs only where drills = true"):
        refuse_unless_drills(_env(name="prod", drills=False))
    refuse_unless_drills(_env())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "the drill needs a fault to inject; one of: wrong-iam-policy"),
        ("nope", "unknown fault; one of:"),
    ],
)
def test_a_fault_must_be_named_from_the_catalogue(name: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_fault(name, _env())


@pytest.mark.parametrize(
    ("name", "resource"),
    [
        ("wrong-iam-policy", "role-a"),
        ("deleted-glue-job", "job-a"),
        ("public-access-block-removed", "ohpen-bronze"),
        ("broken-lambda-config", "fn-a"),
    ],
)
def test_each_fault_hits_the_first_resource_of_its_kind(name: str, resource: str) -> None:
    assert choose_fault(name, _env()) == (CATALOGUE[name], resource)


def test_the_record_measures_detect_rollback_and_green_from_the_marks() -> None:
    times = iter([10.0, 12.5, 13.0, 20.0, 31.0])
    drill = DrillRun(
        _env(), CATALOGUE["deleted-glue-job"], "job-a", Path("repo"), clock=lambda: next(times)
    )
    for mark in ("injected", "detected", "rollback_started", "rollback_done", "green"):
        drill.mark(mark)
    drill.step("baseline", True, "green")
    drill.rollback = {"ok": True}
    record = drill.record()
    assert (
        record["time_to_detect_seconds"],
        record["rollback_seconds"],
        record["time_to_green_seconds"],
    ) == (2.5, 7.0, 21.0)
    assert record["passed"] is True and record["first_attempt_success"] is True


def test_a_drill_that_never_got_green_did_not_pass() -> None:
    drill = DrillRun(_env(), CATALOGUE["deleted-glue-job"], "job-a", Path("repo"))
    drill.mark("injected")
    drill.rollback = {"ok": True}
    drill.green_after = ["Glue job job-a: not found"]
    record = drill.record()
    assert record["passed"] is False and record["time_to_green_seconds"] is None


def _stack_repo(path: Path) -> str:
    """``path`` as a git checkout of the stack's Terraform code and the rollback script (one
    commit: the good revision); its commit."""
    shutil.copytree(REPO / "infra" / "terraform", path / "infra" / "terraform")
    (path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "rollback_terraform.sh", path / "scripts")
    (path / ".gitignore").write_text(".terraform/\n.terraform.lock.hcl\nreports/\n")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("add", "infra", "scripts", ".gitignore")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "the good revision")
    return git("rev-parse", "HEAD")


@pytest.fixture
def drill_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(DRILL, pytester.path / "test_drill.py")
    env = local_env(
        retry_delay=0,
        pipeline_timeout=60,
        drills=True,
        terraform={
            "state_bucket": "ohpen-terraform-state",
            "state_key": "ohpen-data-lake/terraform.tfstate",
            "lock_table": "ohpen-terraform-locks",
            "version": "1.0.3",
            "working_dir": "infra/terraform",
        },
        rollback={
            "command": [
                "scripts/rollback_terraform.sh",
                "--env",
                "{env}",
                "--target-version",
                "{target_ref}",
            ]
        },
    )
    env["resources"] = {**env["resources"], "roles": ROLES}  # type: ignore[dict-item]
    prod = {"account_id": "123456789012", "region": "eu-west-1", "endpoint_url": "http://x:1"}
    text = environments_toml({"local": env, "prod": prod})
    pytester.path.joinpath("environments.toml").write_text(text)
    return pytester


@pytest.mark.parametrize("fault", ["wrong-iam-policy", "deleted-glue-job"])
def test_the_drill_runs_end_to_end_on_the_embedded_account(
    drill_dir: pytest.Pytester, fault: str
) -> None:
    """A bad revision (deployed as a throwaway commit) and out-of-band drift: both caught,
    both rolled back by the environment's real rollback command (Terraform, the embedded
    provider), green again, and the rollback is a new version in the state's history."""
    good = _stack_repo(drill_dir.path)
    result = drill_dir.runpytest_subprocess(
        "--env",
        "local",
        "--drill-fault",
        fault,
        "--rollback",
        "off",
        "-p",
        "no:cacheprovider",
        timeout=600,
    )
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.OK, out[-6000:]
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            f"target ref: {good}",
            "dry-run: no",
            "Apply complete! Resources: *",
            f"drill *: {fault} on *: passed; time to detect * s*",
        ]
    )
    assert "re-provision" not in out
    [path] = (drill_dir.path / "reports" / "audit" / "local" / "drill").glob("*.json")
    record = json.loads(path.read_text())["data"]
    assert record["fault"] == fault and record["passed"] is True
    assert record["first_attempt_success"] is True
    assert record["good_commit"] == good
    assert record["rollback"]["exit_code"] == 0
    if fault == "wrong-iam-policy":
        assert record["fault_arrives_as"] == "bad revision"
        assert record["bad_commit"] and record["bad_commit"] != good
        # the bad revision never reached a branch of the checkout
        branches = subprocess.run(
            ["git", "-C", str(drill_dir.path), "branch", "--contains", record["bad_commit"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert branches.strip() == ""
        [deployment] = [
            json.loads(p.read_text())["data"]
            for p in (drill_dir.path / "reports" / "audit" / "local" / "deployment").glob("*.json")
            if json.loads(p.read_text())["data"].get("status") == "finished"
        ]
        assert deployment["commit"] == record["bad_commit"]
        assert deployment["result"] == "succeeded"
    else:
        assert record["fault_arrives_as"] == "drift"
    assert [step["step"] for step in record["steps"]] == [
        "baseline",
        "inject",
        "detect",
        "rollback",
        "post-rollback",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("--env", "prod", "--drill-fault", "deleted-glue-job"),
        ("--env", "local"),
        ("--env", "local", "--drill-fault", "deleted-glue-job", "-n", "2"),
    ],
)
def test_the_drill_is_refused_before_anything_runs(
    drill_dir: pytest.Pytester, args: tuple[str, ...]
) -> None:
    result = drill_dir.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "passed" not in result.stdout.str().splitlines()[-1]
    assert not (drill_dir.path / "reports" / "audit").exists()


TELL_AND_REPAIR = """#!/bin/sh
printf '%s\\n' "$OHPEN_PYTHON" "$(pwd)" "$OHPEN_ENV" "$OHPEN_ROLLBACK_MODE" \\
    "$OHPEN_DRILL" "$OHPEN_ROLLBACK_APPROVED_BY" "$1" > {told}
exec "$OHPEN_PYTHON" scripts/repair.py
"""
REPAIR = """import json
from pathlib import Path
from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.config.environments import load_environment
from pytest_ohpen.emulator.provider.base import Clients
from pytest_ohpen.emulator.provider.glue import Job

# A stand-in for a real account's rollback command (none can run here): it makes the job
# again as the latest state records it, with the embedded provider's own code.
env = load_environment(Path("environments.toml"), "staging", "the drill's rollback")
aws = AwsClients(env)
tf = env.terraform
body = aws.client("s3").get_object(Bucket=tf.state_bucket, Key=tf.state_key)["Body"].read()
[job] = [r for r in json.loads(body)["resources"] if r["type"] == "aws_glue_job"]
Job(clients=Clients(aws.client)).make(job["instances"][0]["attributes"])
print("re-created", env.resources.glue_jobs[0])
"""


def test_the_drills_rollback_command_runs_as_the_trigger_runs_it(
    pytester: pytest.Pytester, moto_process: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the embedded account the drill rolls back with the environment's command,
    exactly as the plugin's trigger starts it: in the rootdir (a relative script is the
    repository's), told its environment, mode and interpreter (``OHPEN_PYTHON``), marked
    as a drill and approved by it — even when pytest is started from another folder."""
    shutil.copy(DRILL, pytester.path / "test_drill.py")
    told = pytester.path / "told.txt"
    scripts = pytester.path / "scripts"
    scripts.mkdir()
    (scripts / "rollback.sh").write_text(TELL_AND_REPAIR.format(told=told))
    (scripts / "rollback.sh").chmod(0o755)
    (scripts / "repair.py").write_text(REPAIR)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")
    terraform = {
        "state_bucket": "ohpen-terraform-state",
        "state_key": "ohpen-data-lake/terraform.tfstate",
    }
    staging = {
        "account_id": "123456789012",
        "region": "eu-west-1",
        "endpoint_url": moto_process,
        "timeout": 20,
        "retry_delay": 0,
        "drills": True,
        "e2e": False,  # moto runs no state machine
        "resources": dict(SIX_RESOURCES),
        "terraform": terraform,
        "rollback": {"command": ["scripts/rollback.sh", "{state_version}"]},
    }
    targets = pytester.path / "environments.toml"
    targets.write_text(environments_toml({"staging": staging}))
    env = load_environment(targets, "staging", "test")
    provision(AwsClients(env), Stack.for_environment(env))
    [latest, *_] = list_versions(
        AwsClients(env).client("s3"), terraform["state_bucket"], terraform["state_key"]
    )
    elsewhere = pytester.path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = pytester.runpytest_subprocess(
        str(pytester.path / "test_drill.py"),
        "--env",
        "staging",
        "--targets",
        str(targets),
        "--drill-fault",
        "deleted-glue-job",
        "--rollback",
        "off",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=5)
    assert told.read_text().splitlines() == [
        sys.executable,
        str(pytester.path),
        "staging",
        "apply",
        "1",
        "drill",
        latest.version_id,
    ]
