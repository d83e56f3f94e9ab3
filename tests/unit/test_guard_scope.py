"""Which readiness blockers stop which account-changing command (pytest_ohpen.rollback.guard):
a running pipeline or a held lock stops all three; a data rollback is not stopped by what
is only about Terraform state or git; ``--force`` needs a non-blank reason."""

from __future__ import annotations

import pytest

from pytest_ohpen.errors import ConfigError
from pytest_ohpen.readiness.decide import Reason
from pytest_ohpen.rollback.guard import (
    DATA_ROLLBACK,
    STATE_RESTORE,
    TERRAFORM_ROLLBACK,
    Blocked,
    Override,
    clear,
    override_of,
)

RUNNING = Reason("pipeline_running", "Data pipeline is running: execution etl-1")
LOCKED = Reason("lock_held", "the Terraform state lock is held by ci@runner")
MISSING = Reason("state_missing", "no state object at s3://state/key")
SINGLE = Reason("single_version", "only one version of s3://state/key")
NO_GIT = Reason("git", "git: not a git repository")
STATE_UNREAD = Reason("unverified", "could not verify the versions of s3://state/key: 503")
RUNS_UNREAD = Reason("unverified", "could not verify running executions of state machine m")
COMMANDS = (TERRAFORM_ROLLBACK, STATE_RESTORE, DATA_ROLLBACK)


def standing(command: str, *blockers: Reason) -> list[str]:
    try:
        clear(command, blockers, Override())
    except Blocked as error:
        return [b.code for b in error.blockers]
    return []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_running_pipeline_or_a_held_lock_stops_every_change(command: str) -> None:
    assert standing(command, RUNNING, LOCKED, RUNS_UNREAD) == [
        "pipeline_running",
        "lock_held",
        "unverified",
    ]


def test_a_data_rollback_ignores_what_is_only_about_terraform_state_and_git() -> None:
    assert standing(DATA_ROLLBACK, MISSING, SINGLE, NO_GIT, STATE_UNREAD) == []


def test_a_state_restore_is_stopped_by_the_backend_not_by_git_or_the_report_target() -> None:
    assert standing(STATE_RESTORE, MISSING, SINGLE, NO_GIT, STATE_UNREAD) == [
        "state_missing",
        "unverified",
    ]


def test_a_terraform_rollback_is_stopped_by_git_too() -> None:
    assert standing(TERRAFORM_ROLLBACK, SINGLE, NO_GIT) == ["git"]


def test_the_refusal_is_one_line_naming_codes_and_the_way_out() -> None:
    with pytest.raises(Blocked) as refused:
        clear(STATE_RESTORE, [RUNNING, LOCKED], Override())

    message = str(refused.value)
    assert "\n" not in message
    assert "pipeline_running: Data pipeline is running" in message and "lock_held:" in message
    assert "--force --reason TEXT" in message


def test_force_clears_and_the_record_keeps_what_it_overrode() -> None:
    cleared = clear(DATA_ROLLBACK, [RUNNING, MISSING], Override(True, "zombie run"))

    assert cleared.record() == {
        "force": True,
        "force_reason": "zombie run",
        "blockers": [{"code": RUNNING.code, "message": RUNNING.message}],
    }


@pytest.mark.parametrize("reason", [None, "", " \t "])
def test_force_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(ConfigError, match="--force needs --reason TEXT"):
        override_of(STATE_RESTORE, True, reason)


def test_a_reason_alone_is_no_override() -> None:
    assert override_of(STATE_RESTORE, False, " why ") == Override(False, "why")
