"""The rollback trigger at the end of a failed run: which mode it may run in (pure gate)
and running the environment's rollback command (I/O).

Dry-run is the default and changes nothing. Apply needs four things at once:
``auto_apply = true`` for the environment, an approver, a READY verdict and no veto;
without any one of them the trigger falls back to dry-run and says exactly why.
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

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.readiness.decide import NOT_NEEDED, READY

MODE_FLAGS = {"dry-run": "--dry-run", "apply": "--apply"}
"""Appended to the command: the playbook script's flags."""
KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class TriggerDecision:
    """The mode the trigger runs in ("off", "dry-run" or "apply") and why apply was not."""

    mode: str
    requested: str
    fallback_reasons: tuple[str, ...] = ()


def decide_trigger(
    requested: str,
    *,
    environment: str,
    auto_apply: bool,
    approver: str | None,
    verdict: str,
    vetoes: list[str],
) -> TriggerDecision:
    """Gate the requested mode; apply only when every condition holds, else dry-run."""
    if verdict == NOT_NEEDED or requested == "off":
        return TriggerDecision("off", requested)
    if requested != "apply":
        return TriggerDecision("dry-run", requested)
    reasons = []
    if not auto_apply:
        reasons.append(f"auto_apply is not true for environment {environment!r}")
    if not (approver and approver.strip()):
        reasons.append(
            "no approval: pass --rollback-approved-by NAME or set OHPEN_ROLLBACK_APPROVED_BY"
        )
    if verdict != READY:
        reasons.append(f"the readiness verdict is {verdict}, not READY")
    reasons += [f"vetoed: {veto}" for veto in vetoes]
    return TriggerDecision("dry-run" if reasons else "apply", requested, tuple(reasons))


class CommandError(OhpenError):
    """The rollback command cannot be built (a placeholder has no value)."""


def build_command(
    template: tuple[str, ...], mode: str, values: Mapping[str, str | None]
) -> list[str]:
    """Fill the placeholders ({env}, {target_ref}, {state_version}) and append the mode flag."""
    missing = sorted(
        name
        for name, value in values.items()
        if value is None and any("{" + name + "}" in arg for arg in template)
    )
    if missing:
        raise CommandError(
            f"the rollback command needs {{{missing[0]}}}, which is unknown "
            "(see the readiness report)"
        )
    filled = [arg.format(**{k: v or "" for k, v in values.items()}) for arg in template]
    return [*filled, MODE_FLAGS[mode]]


@dataclass
class CommandResult:
    """What running the command gave: exit code, time, output (as streamed)."""

    exit_code: int | None
    duration_seconds: float
    output: list[str] = field(default_factory=list)
    timed_out: bool = False
    error: str | None = None


def run_command(
    argv: list[str],
    cwd: Path,
    timeout: float,
    extra_env: Mapping[str, str | None],
    on_line: Callable[[str], None],
) -> CommandResult:
    """Run ``argv`` in its own process group, stream each output line to ``on_line`` and keep
    it, and kill the group when ``timeout`` passes. ``extra_env`` adds to this process's
    environment; a None value removes that variable."""
    executable = Path(argv[0])
    if not executable.is_absolute() and os.sep in argv[0]:
        argv = [str(cwd / executable), *argv[1:]]
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={k: v for k, v in {**os.environ, **extra_env}.items() if v is not None},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:  # missing, not executable, no shebang (exec format error), ...
        return CommandResult(
            None, time.monotonic() - started, error=f"cannot run {argv[0]}: {error.strerror}"
        )
    result = CommandResult(None, 0.0)
    reader = threading.Thread(target=_pump, args=(process, result, on_line), daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        result.error = f"timed out after {timeout:g} s; the command was stopped"
        _kill_group(process)
    reader.join(timeout=KILL_GRACE_SECONDS)
    result.exit_code = process.returncode
    result.duration_seconds = time.monotonic() - started
    return result


def _pump(
    process: subprocess.Popen[str], result: CommandResult, on_line: Callable[[str], None]
) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        result.output.append(line)
        on_line(line)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM the command's process group, give it the grace period, then SIGKILL whatever
    of the group is left (a child may ignore SIGTERM even when the leader obeys it)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_SECONDS)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait()
