"""What every ``ohpen`` subcommand shares: environment options, settings, an open run."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_ohpen.run import OhpenRun
from pytest_ohpen.settings import DEFAULT_TARGETS, Settings, Sourced

EXIT_OK, EXIT_NO, EXIT_USAGE = 0, 1, 2


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
    env_name = None
    if getattr(args, "env", None):
        env_name = Sourced(args.env, f"--env {args.env!r} (command line)")
    elif os.environ.get("OHPEN_ENV"):
        value = os.environ["OHPEN_ENV"]
        env_name = Sourced(value, f"OHPEN_ENV={value!r} (environment variable)")
    if getattr(args, "targets", None):
        targets, source = Path(args.targets), f"--targets {args.targets!r} (command line)"
    elif os.environ.get("OHPEN_TARGETS"):
        value = os.environ["OHPEN_TARGETS"]
        targets, source = Path(value), f"OHPEN_TARGETS={value!r} (environment variable)"
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
    run = OhpenRun(lambda: settings, Path.cwd())
    try:
        run.preflight()
        for line in run.report_lines:
            print(line)
        yield run
    finally:
        run.close()
