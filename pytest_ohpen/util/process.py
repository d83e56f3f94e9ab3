"""The one way this package runs another program: the rollback command, Terraform's steps,
git, the post-rollback smoke suite.

Every program runs in its own process group with stdin closed, so a timeout can stop it
and everything it started (SIGTERM to the group, a grace period, then SIGKILL), and a
failure to start is a result, not an exception. Output is either streamed line by line
(stdout and stderr together, as an operator reads it) or captured as bytes with stdout
and stderr apart (when stdout is data, e.g. ``terraform show -json``). A daemon
(``ohpen emulator start``) is started detached instead: its own session, output to a log
file, never waited for; ``stop_pid_group`` stops it later by its pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

KILL_GRACE_SECONDS = 5.0
"""How long a stopped group gets between SIGTERM and SIGKILL."""


@dataclass
class ProcessResult:
    """What running a program gave. ``exit_code`` is None when it could not start (then
    ``error`` says why and ``start_error`` is the OSError); negative when a signal ended it."""

    argv: list[str]
    exit_code: int | None = None
    duration_seconds: float = 0.0
    output: list[str] = field(default_factory=list)
    """The streamed lines (stdout and stderr together), without their newlines."""
    stdout: bytes = b""
    """Captured stdout (``capture=True`` only)."""
    stderr: bytes = b""
    """Captured stderr (``capture=True`` only)."""
    timed_out: bool = False
    error: str | None = None
    """"cannot run ...: reason" or "timed out after N s; the command was stopped"."""
    start_error: OSError | None = None

    @property
    def ok(self) -> bool:
        """It ran, within its time, and exited 0."""
        return self.error is None and self.exit_code == 0

    def stderr_lines(self) -> list[str]:
        """The captured stderr as text lines (for an error message)."""
        return self.stderr.decode(errors="replace").splitlines()


def run(
    argv: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    on_line: Callable[[str], None] | None = None,
    capture: bool = False,
) -> ProcessResult:
    """Run ``argv`` and wait for it, at most ``timeout`` seconds.

    ``env`` is laid over this process's environment; a None value removes that variable.
    A relative executable path (``scripts/rollback.sh``) means the one in ``cwd``.
    Without ``capture`` each output line goes to ``on_line`` (None: quiet) as it comes and
    is kept in ``output``; with ``capture`` stdout and stderr are kept as bytes.
    """
    if cwd is not None and os.sep in argv[0] and not Path(argv[0]).is_absolute():
        argv = [str(cwd / argv[0]), *argv[1:]]
    result = ProcessResult(list(argv))
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_environment(env or {}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if capture else subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:  # missing, not executable, no shebang (exec format error), ...
        result.start_error = error
        result.error = f"cannot run {argv[0]}: {error.strerror}"
        result.duration_seconds = time.monotonic() - started
        return result
    readers = _start_readers(process, result, on_line, capture)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        result.error = f"timed out after {timeout:g} s; the command was stopped"
        stop_group(process)
    except BaseException:  # Ctrl-C, or a daemon told to stop: the program stops with us
        stop_group(process)
        raise
    for reader in readers:
        reader.join(timeout=KILL_GRACE_SECONDS)
    result.exit_code = process.returncode
    result.duration_seconds = time.monotonic() - started
    return result


def _environment(overrides: Mapping[str, str | None]) -> dict[str, str]:
    merged: dict[str, str | None] = {**os.environ, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


def _start_readers(
    process: subprocess.Popen[bytes],
    result: ProcessResult,
    on_line: Callable[[str], None] | None,
    capture: bool,
) -> list[threading.Thread]:
    """Threads draining the pipes, so a chatty program never blocks on a full pipe."""
    out, err = process.stdout, process.stderr
    assert out is not None
    targets: list[Callable[[], None]] = [lambda: _stream(out, result, on_line)]
    if capture:
        assert err is not None

        def read_out() -> None:
            result.stdout = out.read()

        def read_err() -> None:
            result.stderr = err.read()

        targets = [read_out, read_err]
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def _stream(pipe: IO[bytes], result: ProcessResult, on_line: Callable[[str], None] | None) -> None:
    for raw in pipe:
        line = raw.decode(errors="replace").rstrip("\r\n")
        result.output.append(line)
        if on_line is not None:
            on_line(line)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the program's process group, give it the grace period, then SIGKILL whatever
    of the group is left (a child may ignore SIGTERM even when the leader obeys it)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Detached:
    """A program started in the background (``start_detached``): it outlives this process.
    ``process`` is None when it could not start (then ``error`` says why)."""

    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    error: str | None = None

    @property
    def pid(self) -> int:
        """Its process id (and process group and session id)."""
        assert self.process is not None
        return self.process.pid

    def exit_code(self) -> int | None:
        """Its exit code once it has ended (reaped here), else None."""
        return None if self.process is None else self.process.poll()


def start_detached(
    argv: list[str],
    *,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Detached:
    """Start ``argv`` as a daemon: a session of its own (no terminal, no Ctrl-C from it),
    stdin closed, stdout and stderr appended to ``log``; not waited for."""
    started = Detached(list(argv))
    try:
        with log.open("ab") as out:
            started.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=_environment(env or {}),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    except OSError as error:
        started.error = f"cannot run {argv[0]}: {error.strerror}"
    return started


def stop_pid_group(
    pid: int, *, grace: float, alive: Callable[[int], bool], poll: float = 0.05
) -> str:
    """Stop the process group led by ``pid`` (a daemon this process did not start): SIGTERM,
    up to ``grace`` seconds for ``alive(pid)`` to turn false, then SIGKILL to the group.
    Returns how it ended: "gone" (already), "terminated" or "killed"."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    how = "terminated"
    if not _wait_gone(pid, grace, alive, poll):
        how = "killed"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # whatever of the group is left, also after a TERM
    _wait_gone(pid, KILL_GRACE_SECONDS, alive, poll)
    return how


def _wait_gone(pid: int, timeout: float, alive: Callable[[int], bool], poll: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
