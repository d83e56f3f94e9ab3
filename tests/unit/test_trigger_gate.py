"""The rollback trigger's pure half: which mode the gates allow and the command line it builds.

What the command is told and where it runs: tests/e2e/test_trigger_command.py; the runner
itself: tests/e2e/test_process.py.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.readiness.decide import BLOCKED, NOT_NEEDED, READY
from pytest_ohpen.rollback.trigger import (
    CommandError,
    TriggerDecision,
    build_command,
    decide_trigger,
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
