"""The one subprocess runner: its own process group, streamed or captured output, the
environment laid over ours, and a timeout that stops the whole group.

Tested with small scripts in ``tmp_path``; the slowest tests wait for a 1 s timeout.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from pytest_ohpen.util import process
from pytest_ohpen.util.process import ProcessResult

# --- streamed ---------------------------------------------------------------------------


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


def run(argv: list[str], cwd: Path, timeout: float = 20.0, **env: str | None) -> ProcessResult:
    """Run ``argv``; the lines streamed are checked against the lines kept."""
    seen: list[str] = []
    result = process.run(argv, timeout=timeout, cwd=cwd, env=env, on_line=seen.append)
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

    result = process.run(argv, timeout=20.0, cwd=tmp_path, on_line=on_line)
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
    monkeypatch.setattr(process, "KILL_GRACE_SECONDS", 1.0)
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


def test_a_none_value_removes_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``{"AWS_SESSION_TOKEN": None}`` means the program must not inherit it at all."""
    monkeypatch.setenv("OHPEN_TEST_INHERITED", "from the caller")
    monkeypatch.setenv("OHPEN_TEST_KEPT", "kept")
    argv = python_script(
        tmp_path,
        "import os\n"
        "print(os.environ.get('OHPEN_TEST_INHERITED', 'absent'))\n"
        "print(os.environ.get('OHPEN_TEST_KEPT', 'absent'))\n",
    )
    result = run(argv, tmp_path, OHPEN_TEST_INHERITED=None)
    assert result.output == ["absent", "kept"]


# --- captured ------------------------------------------------------------------------------


def test_capture_keeps_stdout_and_stderr_apart_as_bytes(tmp_path: Path) -> None:
    """``terraform show -json``: stdout is data, stderr is the message, and nothing streams."""
    argv = python_script(
        tmp_path,
        "import sys\n"
        "sys.stdout.buffer.write(b'{\"a\": 1}\\n\\xff')\n"
        "print('warning: something', file=sys.stderr)\n",
    )
    seen: list[str] = []
    result = process.run(argv, timeout=20.0, cwd=tmp_path, capture=True, on_line=seen.append)
    assert result.stdout == b'{"a": 1}\n\xff'
    assert result.stderr_lines() == ["warning: something"]
    assert result.output == [] and seen == []
    assert result.ok


def test_a_captured_command_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    """Capturing does not change the timeout: the group is stopped and it says so."""
    argv = python_script(tmp_path, "import time\nprint('x', flush=True)\ntime.sleep(30)\n")
    started = time.monotonic()
    result = process.run(argv, timeout=1.0, cwd=tmp_path, capture=True)
    assert result.timed_out and not result.ok
    assert result.error == "timed out after 1 s; the command was stopped"
    assert result.stdout == b"x\n"
    assert time.monotonic() - started < 5.0


def test_a_program_that_cannot_start_keeps_the_oserror(tmp_path: Path) -> None:
    """The git runner tells "git is not installed" from the OSError, not from a message."""
    result = process.run([str(tmp_path / "nope")], timeout=5.0, capture=True)
    assert isinstance(result.start_error, FileNotFoundError)
    assert result.exit_code is None and not result.ok
