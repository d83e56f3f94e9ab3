"""The CD rollback job's approval step fails closed: no proven approval, no rollback.

The step's own script (read from cd.yml) runs under bash as GitHub runs it, with a fake
``gh`` on PATH that answers the run's review history from a file through the step's own
``--jq`` filter (needs ``jq``, as GitHub's runners have).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CD = REPO / ".github" / "workflows" / "cd.yml"
SETTING = "Settings > Environments > production-rollback > Required reviewers"
INTRUDER = "mallory-who-pushed"
"""github.actor / github.triggering_actor: never the approver."""

FAKE_GH = """\
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_GH_FAIL"):
    sys.stderr.write("HTTP 403: Resource not accessible by integration\\n")
    sys.exit(1)
jq_filter = args[args.index("--jq") + 1]
done = subprocess.run(
    ["jq", "-r", jq_filter], stdin=open(os.environ["FAKE_GH_RESPONSE"]), text=True,
    capture_output=True,
)
sys.stdout.write(done.stdout)
sys.exit(done.returncode)
"""


def _rollback_steps() -> list[dict[str, Any]]:
    workflow: dict[Any, Any] = yaml.safe_load(CD.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["rollback"]["steps"]
    return steps


def _approval_step() -> dict[str, Any]:
    [step] = [s for s in _rollback_steps() if s.get("id") == "approval"]
    return step


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    outputs: dict[str, str]
    calls: list[list[str]]


def _approval(
    tmp_path: Path, history: list[dict[str, Any]] | None, *, gh_fails: bool = False
) -> Ran:
    """Run the approval step's script against ``history`` (the approvals API's answer)."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fake_gh.py").write_text(FAKE_GH)
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir / "fake_gh.py"}" "$@"\n')
    gh.chmod(0o755)
    response = tmp_path / "approvals.json"
    response.write_text(json.dumps(history or []))
    outputs, calls = tmp_path / "github_output", tmp_path / "gh_calls"
    outputs.touch()
    calls.touch()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_TOKEN": "not-a-token",
        "GITHUB_REPOSITORY": "ohpen/data-lake",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_ACTOR": INTRUDER,
        "GITHUB_TRIGGERING_ACTOR": INTRUDER,
        "TRIGGERING_ACTOR": INTRUDER,  # what the fail-open version read
        "FAKE_GH_RESPONSE": str(response),
        "FAKE_GH_CALLS": str(calls),
        **({"FAKE_GH_FAIL": "1"} if gh_fails else {}),
    }
    script = tmp_path / "step.sh"
    script.write_text(_approval_step()["run"])
    # GitHub's default shell for `run:` on Linux.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    pairs = (line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return Ran(
        done.returncode,
        done.stdout + done.stderr,
        dict(pairs),
        [json.loads(line) for line in calls.read_text().splitlines()],
    )


def _approved(login: str, environment: str = "production-rollback") -> dict[str, Any]:
    return {
        "state": "approved",
        "user": {"login": login},
        "environments": [{"name": environment}],
        "comment": "",
    }


def test_the_reviewer_who_approved_production_rollback_is_the_approver(tmp_path: Path) -> None:
    ran = _approval(tmp_path, [_approved("dana", "production"), _approved("alice")])

    assert ran.code == 0, ran.out
    assert ran.outputs == {"approved_by": "alice"}
    [call] = ran.calls
    assert call[:2] == ["api", "repos/ohpen/data-lake/actions/runs/4242/approvals"]


@pytest.mark.parametrize(
    "history",
    [
        [],
        [_approved("dana", "production")],
        [{**_approved("alice"), "state": "rejected"}],
    ],
    ids=["no-reviews", "another-environment", "rejected"],
)
def test_no_approval_of_production_rollback_stops_the_job(
    tmp_path: Path, history: list[dict[str, Any]]
) -> None:
    """No required reviewers on the environment: the job ran unapproved, so it must stop,
    naming the setting, and nobody (least of all who pushed) is recorded as approver."""
    ran = _approval(tmp_path, history)

    assert ran.code == 1
    errors = [line for line in ran.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, ran.out
    assert SETTING in errors[0]
    assert "nothing was rolled back" in errors[0]
    assert "approved_by" not in ran.outputs
    assert INTRUDER not in ran.out


def test_an_unreadable_review_history_stops_the_job(tmp_path: Path) -> None:
    ran = _approval(tmp_path, [_approved("alice")], gh_fails=True)

    assert ran.code == 1
    [error] = [line for line in ran.out.splitlines() if line.startswith("::error")]
    assert "cannot read this run's review history" in error
    assert "actions: read" in error
    assert "approved_by" not in ran.outputs
    assert INTRUDER not in ran.out


def test_the_rollback_runs_only_after_the_approval_step_succeeded() -> None:
    """The apply step comes after the approval step and has no `if:` that would run it
    after a failed step (always(), failure()); the approval reads no triggering actor."""
    steps = _rollback_steps()
    ids = [s.get("id") for s in steps]
    [apply_at] = [i for i, s in enumerate(steps) if "rollback_terraform.sh" in s.get("run", "")]
    assert ids.index("approval") < apply_at
    assert "if" not in steps[apply_at]
    approval = _approval_step()
    assert "triggering_actor" not in json.dumps(approval).lower()
    assert set(approval["env"]) == {"GH_TOKEN"}
