"""The ``ohpen`` command: the plugin's operations without running checks.

``ohpen readiness --env NAME`` gives the same rollback-readiness report a failed
smoke run gives, as a gate before deploying. It shares every module with the
plugin (environments, clients, account guard, gather, decide, report, audit).

Exit codes: 0 a rollback would be possible (READY), 1 BLOCKED, 2 usage, configuration
or preflight error (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.settings import DEFAULT_TARGETS, Settings, Sourced

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ohpen`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except OhpenError as error:
        print(f"ohpen: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ohpen", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    readiness = commands.add_parser(
        "readiness",
        help="rollback-readiness report for an environment, without checks",
        description="Gather the readiness facts read-only, decide READY or BLOCKED, write the "
        "report and an audit record. Exit 0 when a rollback would be possible.",
    )
    _environment_options(readiness)
    readiness.add_argument(
        "--rollback-target",
        metavar="REF",
        help="git ref to roll back to (default: known-good commit, else HEAD~1)",
    )
    readiness.add_argument(
        "--report",
        metavar="PATH",
        type=Path,
        help="report path (JSON; Markdown beside it); default: reports/readiness-<env>.json",
    )
    readiness.add_argument(
        "--emulator-omit",
        metavar="NAME",
        action="append",
        default=[],
        help="embedded account only: leave this resource out (repeatable)",
    )
    readiness.set_defaults(handler=_readiness)
    return parser


def _environment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", metavar="NAME", help="environment (env: OHPEN_ENV)")
    parser.add_argument(
        "--targets",
        metavar="PATH",
        help=f"environments file (env: OHPEN_TARGETS; default: ./{DEFAULT_TARGETS})",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The plugin's Settings from command-line arguments, the same precedence as in pytest."""
    env_name = None
    if args.env:
        env_name = Sourced(args.env, f"--env {args.env!r} (command line)")
    elif os.environ.get("OHPEN_ENV"):
        env_name = Sourced(
            os.environ["OHPEN_ENV"], f"OHPEN_ENV={os.environ['OHPEN_ENV']!r} (environment variable)"
        )
    if args.targets:
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


def _readiness(args: argparse.Namespace) -> int:
    from pytest_ohpen.finish import Finish, finish
    from pytest_ohpen.run import OhpenRun

    settings = replace(
        settings_from(args),
        readiness_report=args.report.resolve() if args.report else None,
        rollback_target=args.rollback_target,
    )
    run = OhpenRun(lambda: settings, Path.cwd())
    try:
        run.preflight()
        for line in run.report_lines:
            print(line)
        finished = finish(
            Finish(
                env=run.environment,
                clients=run.clients,
                audit=run.audit_store(),
                repo=run.repo,
                report_path=run.report_path(),
                caller_arn=run.caller_arn,
                target_ref=settings.rollback_target,
            ),
            outcomes=None,
        )
    finally:
        run.close()
    for line in finished.lines:
        print(line)
    return EXIT_OK if finished.rollback_possible else EXIT_BLOCKED


if __name__ == "__main__":
    raise SystemExit(main())
