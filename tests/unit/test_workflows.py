"""The CD and drill workflows are shaped as the rollback playbook says.

The playbook's CD workflow: deploy, then smoke tests in a separate job; no automatic
rollback (a rollback job only after a failed smoke job, gated by a protected environment's
approval); one deployment at a time; a quarterly rollback drill in staging. The YAML is
read here; actionlint's verdict on it is tests/e2e/test_workflows_actionlint.py.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_ohpen.rollback.drill import CATALOGUE

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CD = WORKFLOWS / "cd.yml"
DRILL = WORKFLOWS / "drill.yml"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = job["steps"]
    return result


def runs(job: dict[str, Any]) -> list[str]:
    """Each `run:` of the job, its lines joined (folded `>-` scalars are one line already)."""
    return [" ".join(s["run"].split()) for s in steps(job) if "run" in s]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if s.get("uses", "").startswith(action + "@")]


def environment_name(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):
        name: str | None = environment.get("name")
        return name
    return environment


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def condition(job: dict[str, Any]) -> str:
    text = str(job.get("if", ""))
    text = text.removeprefix("${{").removesuffix("}}")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def cd() -> dict[str, Any]:
    return load(CD)


@pytest.fixture(scope="module")
def drill() -> dict[str, Any]:
    return load(DRILL)


# ------------------------------------------------------------------ cd.yml


def test_cd_runs_on_push_to_main_and_by_hand(cd: dict[str, Any]) -> None:
    assert cd["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in cd["on"]


def test_cd_deploys_one_at_a_time(cd: dict[str, Any]) -> None:
    """The playbook: "Lock deployments (only one CD run at a time)"; a deploy, a pending
    approval or a rollback in progress is never cancelled by a newer run."""
    assert cd["concurrency"]["group"] == "deploy-prod"
    assert cd["concurrency"]["cancel-in-progress"] is False


def test_cd_permissions_are_least_privilege(cd: dict[str, Any]) -> None:
    assert cd["permissions"] == {"contents": "read"}
    for name, job in cd["jobs"].items():
        granted = job.get("permissions", {})
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token"}, name
        if uses(job, "aws-actions/configure-aws-credentials"):
            assert granted.get("id-token") == "write", name


def test_cd_deploy_applies_terraform_with_the_pinned_version_and_oidc(
    cd: dict[str, Any],
) -> None:
    env = cd["env"]
    targets = tomllib.loads((REPO / "environments.toml").read_text())
    terraform = targets["defaults"]["terraform"]
    assert env["TERRAFORM_VERSION"] == terraform["version"] == "1.5.0"
    assert env["TF_WORKING_DIR"] == terraform["working_dir"]
    assert env["TF_STATE_BUCKET"] == terraform["state_bucket"]
    assert env["TF_STATE_KEY"] == terraform["state_key"]
    assert env["TF_LOCK_TABLE"] == terraform["lock_table"]

    deploy = cd["jobs"]["deploy"]
    [setup] = uses(deploy, "hashicorp/setup-terraform")
    assert setup["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}"
    [aws] = uses(deploy, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"].startswith("${{ vars.")
    assert "aws-access-key-id" not in aws["with"]
    terraform_steps = [s for s in steps(deploy) if s.get("run", "").startswith("terraform ")]
    assert [s["run"].split()[1] for s in terraform_steps] == ["init", "plan", "apply"]
    for step in terraform_steps:
        assert step["working-directory"] == "${{ env.TF_WORKING_DIR }}"
    assert "tfplan" in terraform_steps[-1]["run"]  # applies the plan it made


def test_cd_smoke_is_its_own_job_after_deploy(cd: dict[str, Any]) -> None:
    smoke = cd["jobs"]["smoke"]
    assert needs(smoke) == ["deploy"]
    assert "if" not in smoke  # runs exactly when the deploy succeeded
    assert any("pip install -e '.[allure]'" in r for r in runs(smoke))
    [command] = [r for r in runs(smoke) if "pytest suites/smoke" in r]
    for part in (
        "pytest suites/smoke --env prod",
        "--alluredir allure-results/smoke",
        "--junitxml reports/smoke.xml",
        "--rollback dry-run",
    ):
        assert part in command
    assert "--rollback apply" not in command
    uploads = uses(smoke, "actions/upload-artifact")
    assert {u["with"]["path"] for u in uploads} == {"allure-results/smoke/", "reports/"}
    assert all(u["if"] == "always()" for u in uploads)


def test_cd_rollback_only_after_failed_smoke_in_a_protected_environment(
    cd: dict[str, Any],
) -> None:
    rollback = cd["jobs"]["rollback"]
    assert needs(rollback) == ["smoke"]
    text = condition(rollback)
    assert text.startswith("failure() && ")
    assert "needs.smoke.result == 'failure'" in text
    # Failed checks only (exit 1), never a broken run (exit 4), and only when READY.
    assert "needs.smoke.outputs.exit_code == '1'" in text
    assert "needs.smoke.outputs.verdict == 'READY'" in text
    assert environment_name(rollback) == "production-rollback"


def test_cd_rollback_applies_the_reports_target_with_the_approver(cd: dict[str, Any]) -> None:
    rollback = cd["jobs"]["rollback"]
    [download] = uses(rollback, "actions/download-artifact")
    assert download["with"]["name"] == "smoke-reports"
    reader = "\n".join(s.get("run", "") for s in steps(rollback))
    assert "readiness-prod.json" in reader
    assert 'target["git_commit"]' in reader or "target['git_commit']" in reader

    [apply] = [s for s in steps(rollback) if "scripts/rollback_terraform.sh" in s.get("run", "")]
    command = " ".join(apply["run"].split())
    assert "scripts/rollback_terraform.sh --apply --env prod" in command
    assert '--target-version "$TARGET_COMMIT"' in command
    assert apply["env"]["TARGET_COMMIT"] == "${{ steps.target.outputs.git_commit }}"
    assert apply["env"]["OHPEN_ROLLBACK_APPROVED_BY"] == (
        "${{ steps.approval.outputs.approved_by }}"
    )
    [approval] = [s for s in steps(rollback) if s.get("id") == "approval"]
    assert "/actions/runs/${GITHUB_RUN_ID}/approvals" in approval["run"]
    assert "TRIGGERING_ACTOR" not in approval["env"]  # fails closed: tests/e2e/test_cd_approval.py
    assert rollback["permissions"]["actions"] == "read"


def test_cd_smoke_passes_its_exit_code_and_verdict_to_the_rollback(cd: dict[str, Any]) -> None:
    smoke = cd["jobs"]["smoke"]
    assert smoke["outputs"] == {
        "exit_code": "${{ steps.smoke.outputs.exit_code }}",
        "verdict": "${{ steps.smoke.outputs.verdict }}",
    }
    [step] = [s for s in steps(smoke) if s.get("id") == "smoke"]
    assert 'exit "$code"' in step["run"]  # the job still fails when the checks fail


def test_cd_post_rollback_checks_after_the_rollback(cd: dict[str, Any]) -> None:
    post = cd["jobs"]["post_rollback"]
    assert needs(post) == ["rollback"]
    # success() would look at the failed smoke job too and skip this job.
    assert condition(post) == "!cancelled() && needs.rollback.result == 'success'"
    [command] = [r for r in runs(post) if "pytest suites/post_rollback" in r]
    assert "pytest suites/post_rollback --env prod" in command
    assert "--alluredir allure-results/post_rollback" in command
    uploads = uses(post, "actions/upload-artifact")
    assert "allure-results/post_rollback/" in {u["with"]["path"] for u in uploads}
    assert all(u["if"] == "always()" for u in uploads)


def test_cd_post_rollback_marks_the_commit_the_rollback_applied(cd: dict[str, Any]) -> None:
    """After a rollback GITHUB_SHA is the commit that was rolled back: a known-good mark of the
    post-rollback run must name the commit the rollback applied, or the next report would
    propose rolling back *to* the broken commit."""
    rollback = cd["jobs"]["rollback"]
    assert rollback["outputs"]["target_commit"] == "${{ steps.target.outputs.git_commit }}"
    [step] = [
        s
        for s in steps(cd["jobs"]["post_rollback"])
        if "pytest suites/post_rollback" in s.get("run", "")
    ]
    assert step["env"]["OHPEN_DEPLOYED_COMMIT"] == "${{ needs.rollback.outputs.target_commit }}"


def test_cd_no_job_rolls_back_without_the_environment(cd: dict[str, Any]) -> None:
    """Only the approval-gated job may apply anything back: no other job runs the rollback
    script with --apply or asks the plugin's trigger to apply."""
    for name, job in cd["jobs"].items():
        text = "\n".join(runs(job))
        if name != "rollback":
            assert "rollback_terraform.sh" not in text, name
            assert "--rollback apply" not in text, name
            assert "OHPEN_ROLLBACK_APPROVED_BY" not in str(job), name


# ------------------------------------------------------------------ drill.yml


def test_drill_is_quarterly_and_by_hand_with_the_four_faults(drill: dict[str, Any]) -> None:
    [schedule] = drill["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (minute, hour, day, weekday) == ("0", "6", "1", "*")
    assert sorted(int(m) for m in month.split(",")) == [1, 4, 7, 10]
    fault = drill["on"]["workflow_dispatch"]["inputs"]["fault"]
    assert fault["type"] == "choice"
    assert sorted(fault["options"]) == sorted(CATALOGUE)


def test_drill_runs_the_drill_suite_in_staging(drill: dict[str, Any]) -> None:
    assert drill["concurrency"]["cancel-in-progress"] is False
    assert drill["permissions"] == {"contents": "read"}
    [job] = drill["jobs"].values()
    assert environment_name(job) == "staging"
    [command] = [r for r in runs(job) if "pytest suites/drill" in r]
    assert 'pytest suites/drill --env staging --drill-fault "$FAULT"' in command
    assert "--alluredir allure-results/drill" in command
    assert "prod" not in re.sub(r"--env staging", "", command)
    uploads = uses(job, "actions/upload-artifact")
    assert {u["with"]["path"] for u in uploads} == {"allure-results/drill/", "reports/"}
    assert all(u["if"] == "always()" for u in uploads)
    [metrics] = [s for s in steps(job) if "ohpen metrics" in s.get("run", "")]
    assert metrics["run"].strip() == (
        'ohpen metrics --env staging --format markdown >> "$GITHUB_STEP_SUMMARY"'
    )
    assert metrics["if"] == "always()"


def test_drill_rotates_the_fault_on_schedule(drill: dict[str, Any]) -> None:
    """A scheduled run has no input: each quarter drills another fault, all four a year."""
    [job] = drill["jobs"].values()
    [pick] = [s for s in steps(job) if s.get("id") == "fault"]
    rotated = re.findall(r"fault=([a-z-]+) ;;", pick["run"])
    assert sorted(rotated) == sorted(CATALOGUE)


def test_staging_may_drill_and_prod_may_not() -> None:
    targets = tomllib.loads((REPO / "environments.toml").read_text())
    assert targets["staging"]["drills"] is True
    assert targets["prod"].get("drills", False) is False


# ------------------------------------------------------------------ both


@pytest.mark.parametrize("workflow", [CD, DRILL], ids=lambda p: p.name)
def test_actions_are_pinned_to_version_tags(workflow: Path) -> None:
    for name, job in load(workflow)["jobs"].items():
        for step in steps(job):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", step["uses"]), (name, step)


@pytest.mark.parametrize("workflow", [CD, DRILL], ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_script(workflow: Path) -> None:
    """`${{ }}` in a `run:` is pasted into the shell script before it runs (script
    injection); values reach scripts through `env:` instead."""
    for name, job in load(workflow)["jobs"].items():
        for script in runs(job):
            assert "${{" not in script, (name, script)
