"""``ohpen emulator``: an environment's embedded account that lives across commands.

``start`` runs it in the background (``pytest_ohpen.emulator.daemon``, detached) and waits
until it is provisioned and answering; while it runs, every ``--env NAME`` command of that
environment attaches to it (``OhpenRun.preflight``). ``status`` says whether it runs (and
clears a stale record); ``stop`` ends it and everything it started. The records live in
``cache_dir()/emulators`` (``pytest_ohpen.emulator.registry``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.cli.common import EXIT_NO, EXIT_OK, environment_options, say_no, settings_from
from pytest_ohpen.config.settings import Settings, first_given
from pytest_ohpen.emulator import daemon, registry
from pytest_ohpen.emulator.registry import Record, RecordError
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.cache import usable_cache_dir
from pytest_ohpen.util.process import start_detached, stop_pid_group

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment

ExitCode = Callable[[], int | None]

COMMAND = "emulator"
START_TIMEOUT = 300.0
"""How long ``start`` waits for the account to be provisioned (real Terraform applies on the
first start of a machine may take minutes); ``--wait`` or OHPEN_EMULATOR_START_TIMEOUT."""
START_TIMEOUT_VARIABLE = "OHPEN_EMULATOR_START_TIMEOUT"
STOP_GRACE = 20.0
"""How long ``stop`` gives the daemon after SIGTERM before SIGKILL to its process group."""
POLL = 0.1


def register(commands: Any) -> None:
    """Add ``emulator`` (start, status, stop) to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "emulator",
        help="an embedded account in the background, shared by every --env command: "
        "start, status, stop",
        description="While one runs, every command and pytest run of its environment "
        "(same name, same account id) attaches to it instead of starting a private one.",
    )
    sub = parser.add_subparsers(title="emulator commands", required=True, metavar="COMMAND")
    start = sub.add_parser(
        "start",
        help="start the environment's embedded account in the background",
        description="Start it detached, wait until it is provisioned and answering, print "
        "its endpoint. Exit 0 started; 1 refused (one runs already) or failed to start; 2 a "
        "usage or configuration error (e.g. the environment is not emulated).",
    )
    environment_options(start)
    start.add_argument(
        "--wait",
        metavar="SECONDS",
        help=f"how long to wait until it is ready (env: {START_TIMEOUT_VARIABLE}; "
        f"default {START_TIMEOUT:g})",
    )
    start.set_defaults(handler=run_start)
    status = sub.add_parser(
        "status",
        help="is it running (endpoint, pid, since, environments file)",
        description="Exit 0 running; 1 not running, or a stale record (then removed).",
    )
    status.add_argument("--env", metavar="NAME", help="environment (env: OHPEN_ENV)")
    status.set_defaults(handler=run_status)
    stop = sub.add_parser(
        "stop",
        help="stop it: SIGTERM, then SIGKILL to its process group if it lingers",
        description="Exit 0 stopped, or nothing was running.",
    )
    stop.add_argument("--env", metavar="NAME", help="environment (env: OHPEN_ENV)")
    stop.set_defaults(handler=run_stop)


def run_start(args: argparse.Namespace) -> int:
    """``ohpen emulator start``."""
    usable_cache_dir()  # where its record goes: one line, not a traceback, when unusable
    wait = _start_timeout(args.wait)
    settings = settings_from(args)
    env = _environment(settings)
    if not env.emulated:
        raise ConfigError(
            f"{env.source}: environment {env.name!r} is not emulated: only an environment "
            "with emulated = true has an embedded account to start (try --env local)"
        )
    holder = registry.claim(env.name, os.getpid())
    if holder is not None:
        return say_no(COMMAND, _starting(env.name, holder))
    try:
        running, _ = _live_record(env.name)
        if running is not None:
            return say_no(
                COMMAND,
                f"an embedded account for {env.name} is already running at "
                f"{running.where()}, since {_when(running.started_at)}; stop it with: "
                f"{_stop_command(env.name)}",
            )
        return _start_daemon(env.name, settings.targets, wait)
    finally:
        registry.release(env.name, os.getpid())


def _start_daemon(env_name: str, targets: Path, wait: float) -> int:
    """Start the daemon, wait until it is ready; on any failure leave nothing behind."""
    run_dir = registry.run_folder(env_name)
    shutil.rmtree(run_dir, ignore_errors=True)  # a killed daemon's leftovers: nothing runs there
    run_dir.mkdir(parents=True)
    log = run_dir / daemon.LOG_NAME
    argv = [sys.executable, "-m", daemon.__name__, "--env", env_name]
    argv += ["--targets", str(targets), "--run-dir", str(run_dir)]
    began = time.monotonic()
    started = start_detached(argv, log=log, env={"PYTHONUNBUFFERED": "1"})
    if started.error is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
        return say_no(
            COMMAND, f"the embedded account for {env_name} did not start: " + started.error
        )
    try:
        ready = _wait_ready(env_name, started.pid, started.exit_code, log, wait)
    except KeyboardInterrupt:
        _abandon(env_name, started.pid, started.exit_code, run_dir)
        raise
    if isinstance(ready, str):
        _abandon(env_name, started.pid, started.exit_code, run_dir)
        return say_no(COMMAND, f"the embedded account for {env_name} did not start: {ready}")
    print(
        f"ohpen emulator: embedded account for {env_name} at {ready.where()}, "
        f"ready in {time.monotonic() - began:.1f} s; stop it with: {_stop_command(env_name)}"
    )
    return EXIT_OK


def _wait_ready(
    env_name: str, pid: int, exit_code: ExitCode, log: Path, wait: float
) -> Record | str:
    """The daemon's record once written and its endpoint answers; else why not."""
    deadline = time.monotonic() + wait
    while True:
        code = exit_code()
        if code is not None:
            return f"{_log_reason(log) or 'it logged nothing'} (daemon exit {code})"
        try:
            record = registry.read(env_name)
        except RecordError:
            record = None  # not ours yet (or unreadable): keep waiting
        if record is not None and record.pid == pid and registry.answering(record.endpoint):
            return record
        if time.monotonic() >= deadline:
            last = _log_reason(log)
            return f"not ready within {wait:g} s (--wait or {START_TIMEOUT_VARIABLE})" + (
                f"; its log's last line: {last}" if last else ""
            )
        time.sleep(POLL)


def _abandon(env_name: str, pid: int, exit_code: ExitCode, run_dir: Path) -> None:
    """Stop a daemon that did not get ready and remove what it left."""
    stop_pid_group(pid, grace=STOP_GRACE, alive=lambda _: exit_code() is None)
    registry.remove(env_name, pid=pid)
    shutil.rmtree(run_dir, ignore_errors=True)


def run_status(args: argparse.Namespace) -> int:
    """``ohpen emulator status``."""
    usable_cache_dir()
    name = _env_name(args)
    if name is None:
        return say_no(COMMAND, "no embedded account is running (ohpen emulator start)")
    record, said = _live_record(name)
    if record is None:
        holder = registry.claimant(name)
        if holder is not None:
            return say_no(COMMAND, _starting(name, holder))
        return EXIT_NO if said else say_no(COMMAND, f"no embedded account is running for {name}")
    print(
        f"ohpen emulator: embedded account for {record.environment} running at "
        f"{record.where()}, account {record.account_id}, since {_when(record.started_at)}, "
        f"environments file {record.targets}, log {record.log}"
    )
    return EXIT_OK


def run_stop(args: argparse.Namespace) -> int:
    """``ohpen emulator stop``."""
    usable_cache_dir()
    name = _env_name(args)
    if name is None:
        print("ohpen emulator: no embedded account is running; nothing to stop")
        return EXIT_OK
    try:
        record = registry.read(name)
    except RecordError as error:
        registry.remove(name)
        print(f"ohpen emulator: removed an unreadable record ({error}); nothing to stop")
        return EXIT_OK
    if record is None:
        holder = registry.claimant(name)
        if holder is not None:
            return say_no(COMMAND, _starting(name, holder) + "; stop again once it is ready")
        print(f"ohpen emulator: no embedded account is running for {name}; nothing to stop")
        return EXIT_OK
    if not registry.pid_alive(record.pid):
        _forget(record)
        print(
            f"ohpen emulator: the embedded account for {name} was not running (pid "
            f"{record.pid} is gone); removed its stale record"
        )
        return EXIT_OK
    began = time.monotonic()
    how = stop_pid_group(record.pid, grace=STOP_GRACE, alive=registry.pid_alive)
    _forget(record)
    forced = f" (SIGKILL: it did not stop within {STOP_GRACE:g} s)" if how == "killed" else ""
    print(
        f"ohpen emulator: stopped the embedded account for {name} at {record.where()} in "
        f"{time.monotonic() - began:.1f} s{forced}"
    )
    return EXIT_OK


def _live_record(name: str) -> tuple[Record | None, bool]:
    """The running account's record for ``name``, and whether a line was said: a stale or
    unreadable record is said (one line on stderr) and removed; a daemon that runs but does
    not answer is stopped first, so no process is left without a record."""
    try:
        record = registry.read(name)
    except RecordError as error:
        registry.remove(name)
        print(f"ohpen emulator: unreadable record ({error}); removed it", file=sys.stderr)
        return None, True
    if record is None:
        return None, False
    health = registry.probe(record)
    if health.running:
        return record, False
    stopped = ""
    if health.pid_alive:
        stop_pid_group(record.pid, grace=STOP_GRACE, alive=registry.pid_alive)
        stopped = f", stopped pid {record.pid}"
    _forget(record)
    print(
        f"ohpen emulator: stale record for {name} ({health.stale_reason(record)}){stopped}; "
        "removed it",
        file=sys.stderr,
    )
    return None, True


def _forget(record: Record) -> None:
    """Remove the record and the daemon's run folder (its log, its temp files)."""
    registry.remove(record.environment, pid=record.pid)
    if record.run_dir == registry.run_folder(record.environment):  # never a folder elsewhere
        shutil.rmtree(record.run_dir, ignore_errors=True)


def _starting(name: str, holder: int) -> str:
    return f"the embedded account for {name} is being started (ohpen emulator start, pid {holder})"


def _env_name(args: argparse.Namespace) -> str | None:
    """--env or OHPEN_ENV; else the one environment with a record; None when none has one."""
    given = first_given(args.env, "--env", "OHPEN_ENV")
    if given is not None:
        return given.value
    records = sorted(registry.folder().glob("*.json"))  # records only: a start claims apart
    if len(records) > 1:
        names = ", ".join(path.stem for path in records)
        raise ConfigError(f"embedded accounts run for several environments ({names}): pass --env")
    if not records:
        return None
    try:
        return registry.parse(records[0].read_text(encoding="utf-8"), records[0]).environment
    except (RecordError, OSError, UnicodeDecodeError):
        return records[0].stem


def _environment(settings: Settings) -> Environment:
    """The chosen environment; without --env, the environments file's only emulated one."""
    from pytest_ohpen.config import environments

    given = settings.env_name
    if given is not None:
        return environments.load_environment(
            settings.targets, given.value, given.written, settings.targets_source
        )
    document = environments.read_file(settings.targets, settings.targets_source)
    emulated = [
        name
        for name in environments.environment_names(document)
        if isinstance(document.get(name), dict) and document[name].get("emulated") is True
    ]
    if len(emulated) != 1:
        raise ConfigError(
            f"no environment named: pass --env NAME or set OHPEN_ENV (emulated environments "
            f"in {settings.targets}: {', '.join(emulated) or 'none'})"
        )
    return environments.load_environment(
        settings.targets, emulated[0], "the only emulated environment", settings.targets_source
    )


def _start_timeout(cli_value: str | None) -> float:
    given = first_given(cli_value, "--wait", START_TIMEOUT_VARIABLE)
    if given is None:
        return START_TIMEOUT
    try:
        seconds = float(given.value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise ConfigError(f"{given.written}: not a number of seconds between 0 and 86400")
    return seconds


def _log_reason(log: Path) -> str | None:
    """The daemon's ``FAILED:`` line, else its last line (without the daemon's timestamp)."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    for line in reversed(lines):
        if daemon.FAILED in line:
            return line.split(daemon.FAILED, 1)[1]
    return daemon.without_timestamp(lines[-1]) if lines else None


def _when(moment: datetime) -> str:
    age = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    ago = f"{age} s" if age < 120 else f"{age // 60} min"
    return f"{moment.astimezone(UTC).isoformat(timespec='seconds')} ({ago} ago)"


def _stop_command(name: str) -> str:
    return f"ohpen emulator stop --env {name}"
