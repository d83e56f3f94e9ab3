"""The background process behind ``ohpen emulator start``: one environment's embedded account,
kept running across commands until ``ohpen emulator stop``.

``python -m pytest_ohpen.emulator.daemon --env NAME --targets PATH --run-dir DIR``, started
detached by the CLI (its own session, output to ``DIR/daemon.log``). It provisions the account
exactly as a private one is (``EmbeddedAccount.start()``), and only then writes its record
(``registry``): a record means provisioned and answering. SIGTERM (also SIGINT, SIGHUP) stops
moto, removes the record and the run folder, and exits 0. A failure to start is one line
``FAILED: ...`` in the log (the CLI shows it) and exit 1; the run folder is left for the CLI
to read and remove.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pytest_ohpen.emulator import registry
from pytest_ohpen.errors import OhpenError

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.emulator.server import EmbeddedAccount

FAILED = "FAILED: "
"""How the log's one line saying why the daemon could not start begins."""
READY = "READY: "
LOG_NAME = "daemon.log"
TIMESTAMP = "%Y-%m-%dT%H:%M:%S%z"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stop(BaseException):
    """A stop signal arrived: unwind (also out of provisioning) and clean up."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def say(line: str) -> None:
    """One line in the log, timestamped."""
    print(f"{time.strftime(TIMESTAMP)} {line}", flush=True)


def without_timestamp(line: str) -> str:
    """A log line without the timestamp ``say`` put in front (others unchanged)."""
    stamp, _, rest = line.partition(" ")
    try:
        time.strptime(stamp, TIMESTAMP)
    except ValueError:
        return line
    return rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run the daemon until a stop signal; 0 when stopped, 1 when it could not start."""
    args = _parser().parse_args(argv)
    run_dir = Path(args.run_dir)
    for number in STOP_SIGNALS:
        signal.signal(number, _stop)
    started = False
    account: EmbeddedAccount | None = None
    try:
        from pytest_ohpen.config.environments import load_environment
        from pytest_ohpen.emulator.server import EmbeddedAccount
        from pytest_ohpen.emulator.stack import Stack

        env = load_environment(Path(args.targets), args.env, "--env", "--targets")
        if not env.emulated:
            raise OhpenError(f"environment {env.name!r} is not emulated (emulated = true)")
        say(f"provisioning the embedded account for {env.name} (account {env.account_id})")
        account = EmbeddedAccount(env, Stack.for_environment(env))
        try:
            ready = account.start()
        except OhpenError:
            raise
        except Exception as error:  # moto not starting, a provisioning call failing
            raise OhpenError(_provisioning_failure(error, env, account.url)) from None
        record = registry.Record(
            pid=os.getpid(),
            endpoint=ready.url,
            environment=env.name,
            account_id=env.account_id,
            targets=Path(args.targets).resolve(),
            started_at=registry.started_now(),
            log=run_dir / LOG_NAME,
        )
        registry.write(record)
        started = True
        say(f"{READY}{ready.url} provisioned in {ready.seconds:.1f} s")
        while True:
            signal.pause()
    except Stop as stop:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)  # one stop at a time: clean up in peace
        say(f"stopping ({stop})")
        _clean_up(account, args, run_dir, remove_run_dir=True)
        return 0
    except OhpenError as error:
        say(f"{FAILED}{error}")
    except Exception as error:  # never a traceback as the only explanation
        from pytest_ohpen.aws.guard import error_line

        say(f"{FAILED}{error_line(error)}")
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    _clean_up(account, args, run_dir, remove_run_dir=started)
    return 1


def _provisioning_failure(error: Exception, env: Environment, url: str | None) -> str:
    from pytest_ohpen.aws.guard import describe_provisioning_failure
    from pytest_ohpen.aws.timeouts import PROVISIONING

    return describe_provisioning_failure(error, env, url, PROVISIONING.read)


def _clean_up(
    account: EmbeddedAccount | None,
    args: argparse.Namespace,
    run_dir: Path,
    *,
    remove_run_dir: bool,
) -> None:
    """Stop moto, remove this daemon's record (never another's) and, when asked, its folder."""
    if account is not None:
        try:
            account.stop()
        except Exception as error:  # still remove the record: nothing answers there now
            say(f"stopping moto failed: {error}")
    registry.remove(args.env, pid=os.getpid())
    if remove_run_dir:
        say("stopped; removing the run folder")
        shutil.rmtree(run_dir, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_ohpen.emulator.daemon",
        description="An environment's embedded account in the background (ohpen emulator start).",
    )
    parser.add_argument("--env", required=True, metavar="NAME")
    parser.add_argument("--targets", required=True, metavar="PATH")
    parser.add_argument("--run-dir", required=True, metavar="DIR")
    return parser


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    # Everything is cleaned up by now; skip tearing down moto's many modules and objects
    # (about 1.4 s of an interpreter's exit), so `ohpen emulator stop` returns at once.
    os._exit(exit_code)
