"""The rollback trigger: which mode the gates allow, the command line it builds, and running it.

The gates and the command line are pure. Running is tested with small scripts in
``tmp_path``; the slowest test waits for a 1 s timeout.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from pytest_ohpen.readiness.decide import BLOCKED, NOT_NEEDED, READY
from pytest_ohpen.rollback import trigger
from pytest_ohpen.rollback.trigger import (
    CommandError,
    CommandResult,
    TriggerDecision,
    build_command,
    decide_trigger,
    run_command,
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


# --- run_command ---------------------------------------------------------------------------


def python_script(tmp_path: Path, body: str, name: str = "script.py") -> list[str]:
    """The argv running ``body`` with this interpreter."""
    path = tmp_path / name
    path.write_text(body)
    return [sys.executable, str(path)]


def shell_script(path: Path, body: str) -> Path:
    """An executable ``#!/bin/sh`` script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def run(argv: list[str], cwd: Path, timeout: float = 20.0, **env: str) -> CommandResult:
    """Run ``argv``; the lines streamed are checked against the lines kept."""
    seen: list[str] = []
    result = run_command(argv, cwd, timeout, env, seen.append)
    assert seen == result.output
    return result


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def wait_gone(pid: int, seconds: float = 3.0) -> bool:
    """Whether ``pid`` ends within ``seconds`` (a zombie counts as ended)."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_reaped(pid: int, seconds: float = 10.0) -> None:
    """Give init time to reap the ended ``pid`` (some container inits reap lazily)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_output_is_streamed_line_by_line_in_order_and_kept(tmp_path: Path) -> None:
    """The engineer sees each line as the script prints it, and the report keeps them all."""
    argv = python_script(
        tmp_path,
        "import sys\n"
        "for word in ('one', 'two', 'three'):\n"
        "    print(word, flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n",
    )
    result = run(argv, tmp_path)
    assert result.output == ["one", "two", "three", "to stderr"]
    assert (result.exit_code, result.timed_out, result.error) == (0, False, None)


def test_a_line_reaches_on_line_while_the_command_still_runs(tmp_path: Path) -> None:
    """Streaming, not collecting: the script waits for proof that its first line was seen."""
    seen_marker = tmp_path / "seen"
    argv = python_script(
        tmp_path,
        "import pathlib, time\n"
        "print('first', flush=True)\n"
        f"marker = pathlib.Path({str(seen_marker)!r})\n"
        "deadline = time.monotonic() + 10\n"
        "while not marker.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.02)\n"
        "print('streamed' if marker.exists() else 'not streamed', flush=True)\n",
    )

    def on_line(line: str) -> None:
        if line == "first":
            seen_marker.touch()

    result = run_command(argv, tmp_path, 20.0, {}, on_line)
    assert result.output == ["first", "streamed"]


def test_exit_code_and_duration_are_recorded(tmp_path: Path) -> None:
    """A failing rollback script's exit code and how long it took are in the report."""
    argv = python_script(tmp_path, "import sys, time\ntime.sleep(0.3)\nsys.exit(3)\n")
    result = run(argv, tmp_path)
    assert result.exit_code == 3
    assert result.error is None
    assert not result.timed_out
    assert 0.3 <= result.duration_seconds < 10


def test_a_relative_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    """``scripts/rollback.sh`` in the environments file means the repository's script."""
    repo = tmp_path / "repo"
    shell_script(repo / "scripts" / "x.sh", 'echo "ran in $(pwd)" "$@"\n')
    result = run(["scripts/x.sh", "--dry-run"], repo)
    assert result.exit_code == 0
    assert result.output == [f"ran in {repo} --dry-run"]


def test_a_missing_executable_is_reported_not_raised(tmp_path: Path) -> None:
    """No such script: the report says it cannot run, and the run ends normally."""
    result = run(["scripts/missing.sh", "--dry-run"], tmp_path)
    assert result.exit_code is None
    assert result.error is not None
    assert result.error.startswith("cannot run ")
    assert "missing.sh" in result.error
    assert not result.timed_out


def test_a_non_executable_file_is_reported_not_raised(tmp_path: Path) -> None:
    """A script checked in without its execute bit: reported, not a crash."""
    script = tmp_path / "rollback.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    result = run([str(script)], tmp_path)
    assert result.exit_code is None
    assert result.error is not None
    assert result.error.startswith(f"cannot run {script}")


def test_an_executable_without_a_shebang_is_reported_not_raised(tmp_path: Path) -> None:
    """A script missing its ``#!`` line cannot be executed: reported like any other."""
    script = tmp_path / "rollback.sh"
    script.write_text("echo hi\n")
    script.chmod(0o755)
    result = run([str(script)], tmp_path)
    assert result.exit_code is None
    assert result.error is not None
    assert result.error.startswith("cannot run ")


def test_extra_env_reaches_the_command(tmp_path: Path) -> None:
    """The script is told the environment and the mode through its environment."""
    argv = python_script(
        tmp_path,
        "import os\n"
        "print(os.environ['OHPEN_ENV'], os.environ['OHPEN_ROLLBACK_MODE'])\n"
        "print('PATH' in os.environ)\n",
    )
    result = run(argv, tmp_path, OHPEN_ENV="prod", OHPEN_ROLLBACK_MODE="dry-run")
    assert result.output == ["prod dry-run", "True"]


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    """A hung rollback is stopped, the whole process group with it, and the run goes on."""
    shell_script(
        tmp_path / "hang.sh",
        "sleep 30 &\necho $! > child.pid\necho started\nsleep 30\necho never\n",
    )
    started = time.monotonic()
    result = run(["./hang.sh"], tmp_path, timeout=1.0)
    elapsed = time.monotonic() - started
    child = int((tmp_path / "child.pid").read_text())
    try:
        assert result.timed_out
        assert result.error is not None
        assert "timed out" in result.error
        assert result.output == ["started"]
        assert result.exit_code is not None
        assert result.exit_code < 0  # ended by a signal
        assert 1.0 <= elapsed < 5.0
        assert result.duration_seconds < 5.0
        assert wait_gone(child)
        wait_reaped(child)
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_child_that_ignores_sigterm_is_killed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "The command was stopped" must be true of the whole group, not only of its leader."""
    monkeypatch.setattr(trigger, "KILL_GRACE_SECONDS", 1.0)
    shell_script(
        tmp_path / "hang.sh",
        "sh -c 'trap \"\" TERM; sleep 30' </dev/null >/dev/null 2>&1 &\n"
        "echo $! > child.pid\n"
        "sleep 30\n",
    )
    result = run(["./hang.sh"], tmp_path, timeout=1.0)
    child = int((tmp_path / "child.pid").read_text())
    try:
        assert result.timed_out
        assert wait_gone(child, seconds=2.0)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
