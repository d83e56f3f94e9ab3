"""The rollback trigger: which mode the gates allow, the command line it builds, and what
the command is told and where it runs.

The gates and the command line are pure; the runner itself is tested in test_process.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.readiness.decide import BLOCKED, NOT_NEEDED, READY
from pytest_ohpen.rollback.handoff import Handoff
from pytest_ohpen.rollback.trigger import (
    CommandError,
    TriggerDecision,
    build_command,
    decide_trigger,
    rollback_handoff,
    run_rollback,
)

# --- decide_trigger ------------------------------------------------------------------------


def gate(
    requested: str = "apply",
    *,
    auto_apply: bool = True,
    approver: str | None = "jane.doe",
    verdict: str = READY,
    vetoes: list[str] | None = None,
) -> TriggerDecision:
    """The decision for environment prod; by default every condition for apply holds."""
    return decide_trigger(
        requested,
        environment="prod",
        auto_apply=auto_apply,
        approver=approver,
        verdict=verdict,
        vetoes=vetoes or [],
    )


def test_apply_when_every_condition_holds() -> None:
    """auto_apply, an approver, READY and no veto: the rollback is applied."""
    assert gate() == TriggerDecision("apply", "apply", ())


def test_dry_run_requested_is_dry_run() -> None:
    """A dry-run is never promoted to apply, even when apply would be allowed."""
    assert gate("dry-run") == TriggerDecision("dry-run", "dry-run", ())


def test_off_requested_is_off() -> None:
    """--rollback off runs nothing."""
    assert gate("off") == TriggerDecision("off", "off", ())


@pytest.mark.parametrize("requested", ["apply", "dry-run", "off"])
def test_nothing_runs_when_no_rollback_is_needed(requested: str) -> None:
    """Every check passed: the trigger is off whatever was requested."""
    decision = gate(requested, verdict=NOT_NEEDED)
    assert decision.mode == "off"
    assert decision.requested == requested
    assert decision.fallback_reasons == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"auto_apply": False}, ["auto_apply", "'prod'"], id="no-auto-apply"),
        pytest.param(
            {"approver": None},
            ["--rollback-approved-by", "OHPEN_ROLLBACK_APPROVED_BY"],
            id="no-approver",
        ),
        pytest.param(
            {"approver": ""},
            ["--rollback-approved-by", "OHPEN_ROLLBACK_APPROVED_BY"],
            id="empty-approver",
        ),
        pytest.param({"verdict": BLOCKED}, ["BLOCKED", "READY"], id="not-ready"),
        pytest.param({"vetoes": ["change freeze"]}, ["vetoed", "change freeze"], id="veto"),
    ],
)
def test_each_missing_condition_falls_back_to_dry_run_and_says_why(
    changes: dict[str, object], expected: list[str]
) -> None:
    """One unmet condition: dry-run, with exactly one reason naming that condition."""
    decision = gate(**changes)  # type: ignore[arg-type]
    assert decision.mode == "dry-run"
    assert decision.requested == "apply"
    (reason,) = decision.fallback_reasons
    for part in expected:
        assert part in reason


def test_every_missing_condition_is_a_reason() -> None:
    """Nothing holds: dry-run, and every reason is listed, each veto on its own."""
    decision = gate(
        auto_apply=False, approver=None, verdict=BLOCKED, vetoes=["freeze", "on-call says no"]
    )
    assert decision.mode == "dry-run"
    reasons = decision.fallback_reasons
    assert len(reasons) == 5
    assert "auto_apply" in reasons[0]
    assert "--rollback-approved-by" in reasons[1]
    assert "BLOCKED" in reasons[2]
    assert reasons[3:] == ("vetoed: freeze", "vetoed: on-call says no")


# --- build_command -------------------------------------------------------------------------

TEMPLATE = (
    "scripts/rollback.sh",
    "--env",
    "{env}",
    "--ref={target_ref}",
    "--state-version",
    "{state_version}",
)
VALUES: dict[str, str | None] = {"env": "prod", "target_ref": "HEAD~1", "state_version": "v2"}


@pytest.mark.parametrize(("mode", "flag"), [("dry-run", "--dry-run"), ("apply", "--apply")])
def test_placeholders_are_filled_and_the_mode_flag_appended(mode: str, flag: str) -> None:
    """The playbook script gets the environment, the git ref and the state version, then its
    mode flag last."""
    assert build_command(TEMPLATE, mode, VALUES) == [
        "scripts/rollback.sh",
        "--env",
        "prod",
        "--ref=HEAD~1",
        "--state-version",
        "v2",
        flag,
    ]


def test_a_used_placeholder_without_a_value_is_an_error_naming_it() -> None:
    """No known state version: the command is not run with an empty argument."""
    with pytest.raises(CommandError, match=r"\{state_version\}"):
        build_command(TEMPLATE, "dry-run", {**VALUES, "state_version": None})


def test_an_unused_placeholder_without_a_value_is_fine() -> None:
    """A command that does not take the state version runs without one."""
    template = ("scripts/rollback.sh", "{env}")
    argv = build_command(template, "apply", {**VALUES, "state_version": None})
    assert argv == ["scripts/rollback.sh", "prod", "--apply"]


def test_the_template_is_not_changed() -> None:
    """The configured command is reused as is on the next run."""
    template = tuple(TEMPLATE)
    build_command(template, "dry-run", VALUES)
    assert template == TEMPLATE


# --- run_rollback: what the command is told and where it runs ------------------------------


def _env(emulated: bool = False) -> Environment:
    return Environment(
        name="staging",
        source=Path("environments.toml"),
        account_id="123456789012",
        region="eu-west-1",
        emulated=emulated,
    )


TELL = (
    "import json, os, sys\n"
    "names = [n for n in os.environ if n.startswith(('OHPEN_', 'AWS_'))]\n"
    "print(json.dumps({'cwd': os.getcwd(), 'env': {n: os.environ[n] for n in names}}))\n"
)


def _told(tmp_path: Path, handoff: Handoff, endpoint_url: str | None) -> dict[str, Any]:
    """What a ``scripts/tell.py`` rollback command run by the trigger saw."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "tell.py").write_text(TELL)
    result = run_rollback(
        [sys.executable, "scripts/tell.py"],
        handoff,
        endpoint_url=endpoint_url,
        cwd=repo,
        timeout=20.0,
        on_line=lambda line: None,
    )
    assert result.exit_code == 0, result.output
    told: dict[str, Any] = json.loads(result.output[-1])
    assert told["cwd"] == str(repo)
    return told


def test_the_command_is_told_the_environment_mode_detection_and_interpreter(
    tmp_path: Path,
) -> None:
    """scripts/rollback_terraform.sh runs ``$OHPEN_PYTHON -m pytest_ohpen.cli``: the
    interpreter that has the plugin, whatever python3 on PATH is."""
    handoff = rollback_handoff(
        _env(), None, "dry-run", detected_at="2024-05-01T10:00:00Z", approved_by=None
    )
    env = _told(tmp_path, handoff, None)["env"]
    assert env["OHPEN_ENV"] == "staging"
    assert env["OHPEN_ROLLBACK_MODE"] == "dry-run"
    assert env["OHPEN_DETECTED_AT"] == "2024-05-01T10:00:00Z"
    assert env["OHPEN_PYTHON"] == sys.executable
    assert "OHPEN_DRILL" not in env and "OHPEN_EMBEDDED_ENDPOINT" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "fake-secret-ohpen-test-do-not-leak"  # inherited


def test_an_embedded_account_command_gets_the_fake_keys_and_none_of_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    url = "http://127.0.0.1:4566"
    handoff = rollback_handoff(
        _env(emulated=True), url, "apply", detected_at=None, approved_by="alice", drill=True
    )
    env = _told(tmp_path, handoff, url)["env"]
    assert env["OHPEN_EMBEDDED_ENDPOINT"] == url and env["AWS_ENDPOINT_URL"] == url
    assert env["AWS_ACCESS_KEY_ID"] == EMBEDDED_CREDENTIALS["aws_access_key_id"]
    assert env["AWS_SECRET_ACCESS_KEY"] == EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env
    assert (env["OHPEN_ROLLBACK_APPROVED_BY"], env["OHPEN_DRILL"]) == ("alice", "1")
