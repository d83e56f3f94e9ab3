"""The ``ohpen`` command: the plugin's operations without running checks.

Each subcommand lives in its own module with a ``register(commands)`` function; all
of them share the plugin's modules (environments, clients, account guard, audit).

Exit codes: 0 success (for ``readiness``: a rollback would be possible), 1 the
operation's negative answer (BLOCKED, refused, failed), 2 a usage, configuration or
preflight error (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pytest_ohpen.cli import data, deploy, emulator, incident, metrics, readiness, rollback, state
from pytest_ohpen.cli.common import EXIT_USAGE
from pytest_ohpen.errors import OhpenError

SUBCOMMANDS = (readiness, state, deploy, rollback, incident, data, metrics, emulator)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ohpen`` console script."""
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except OhpenError as error:
        print(f"ohpen: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ohpen state versions | head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by a closed pipe
    return code


def parser() -> argparse.ArgumentParser:
    """The ``ohpen`` argument parser with every subcommand."""
    top = argparse.ArgumentParser(
        prog="ohpen", description="pytest-ohpen operations that run no checks."
    )
    commands = top.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(commands)
    return top
