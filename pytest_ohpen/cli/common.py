"""What every ``ohpen`` subcommand shares: environment options, settings, an open run."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_ohpen.aws.errors import error_code, error_message
from pytest_ohpen.config.settings import DEFAULT_TARGETS, Settings, first_given
from pytest_ohpen.context import OhpenRun

EXIT_OK, EXIT_NO, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]


def say_no(command: str, message: str) -> int:
    """One line on stderr, ``ohpen <command>: <message>``, and the "no" exit code."""
    print(f"ohpen {command}: {message}", file=sys.stderr)
    return EXIT_NO


def answer_no_on(command: str, *refusals: type[Exception]) -> Callable[[Handler], Handler]:
    """A handler decorator: an AWS error it did not expect, or one of ``refusals``, becomes one
    line on stderr and exit 1 instead of a traceback."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(args: argparse.Namespace) -> int:
            import botocore.exceptions as bex

            try:
                return handler(args)
            except bex.ClientError as error:
                code = error_code(error)
                operation = getattr(error, "operation_name", "AWS call")
                message = error_message(error)
                return say_no(command, f"{operation} failed ({code}): {message}")
            except bex.BotoCoreError as error:
                return say_no(command, f"AWS call failed: {error}")
            except refusals as error:
                return say_no(command, str(error))

        return wrapped

    return decorate


def environment_options(parser: argparse.ArgumentParser) -> None:
    """--env and --targets, as in pytest (same environment variables)."""
    parser.add_argument("--env", metavar="NAME", help="environment (env: OHPEN_ENV)")
    parser.add_argument(
        "--targets",
        metavar="PATH",
        help=f"environments file (env: OHPEN_TARGETS; default: ./{DEFAULT_TARGETS})",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The plugin's Settings from command-line arguments, the same precedence as in pytest."""
    env_name = first_given(getattr(args, "env", None), "--env", "OHPEN_ENV")
    given = first_given(getattr(args, "targets", None), "--targets", "OHPEN_TARGETS")
    if given:
        targets, source = Path(given.value), given.written
    else:
        targets, source = Path(DEFAULT_TARGETS), f"default: ./{DEFAULT_TARGETS}"
    return Settings(
        env_name=env_name,
        targets=targets.expanduser().resolve(),
        targets_source=source,
        invoke_lambda=False,
        emulator_omit=tuple(getattr(args, "emulator_omit", ()) or ()),
    )


@contextmanager
def open_run(args: argparse.Namespace, **overrides: Any) -> Iterator[OhpenRun]:
    """A run for the chosen environment after preflight (embedded account, account guard);
    the embedded account, if any, stops when the block ends."""
    settings = replace(settings_from(args), **overrides)
    run = OhpenRun(lambda: settings, Path.cwd(), profile="admin")
    try:
        run.preflight()
        for line in run.report_lines:
            print(line)
        yield run
    finally:
        run.close()


def run_on_demand(args: argparse.Namespace, stack: ExitStack) -> Callable[[], OhpenRun]:
    """For a command whose report needs AWS only sometimes (e.g. audit records kept in S3):
    the first call opens the run (preflight, its lines on stderr so stdout keeps the report
    alone), later calls reuse it, and ``stack`` closes it. Never called: no AWS call."""
    opened: list[OhpenRun] = []

    def run() -> OhpenRun:
        if not opened:
            with redirect_stdout(sys.stderr):
                opened.append(stack.enter_context(open_run(args)))
        return opened[0]

    return run
