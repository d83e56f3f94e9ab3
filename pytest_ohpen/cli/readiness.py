"""``ohpen readiness``: the rollback-readiness report without running checks, as a gate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_ohpen.cli.common import EXIT_NO, EXIT_OK, environment_options, open_run


def register(commands: Any) -> None:
    """Add ``readiness`` to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "readiness",
        help="rollback-readiness report for an environment, without checks",
        description="Gather the readiness facts read-only, decide READY or BLOCKED, write the "
        "report and an audit record. Exit 0 when a rollback would be possible, 1 when blocked.",
    )
    environment_options(parser)
    parser.add_argument(
        "--rollback-target",
        metavar="REF",
        help="git ref to roll back to (default: known-good commit, else HEAD~1)",
    )
    parser.add_argument(
        "--report",
        metavar="PATH",
        type=Path,
        help="report path (JSON; Markdown beside it); default: reports/readiness-<env>.json",
    )
    parser.add_argument(
        "--emulator-omit",
        metavar="NAME",
        action="append",
        default=[],
        help="embedded account only: leave this resource out (repeatable)",
    )
    parser.set_defaults(handler=run_readiness)


def run_readiness(args: argparse.Namespace) -> int:
    """Preflight, gather, decide, write the report; exit 0 READY, 1 BLOCKED."""
    from pytest_ohpen.readiness.assess import assess
    from pytest_ohpen.readiness.conclude import ReadinessRun, conclude

    report = args.report.resolve() if args.report else None
    with open_run(args, readiness_report=report, rollback_target=args.rollback_target) as run:
        readiness = ReadinessRun(
            env=run.environment,
            clients=run.clients,
            audit=run.audit_store(),
            repo=run.repo,
            report_path=run.report_path(),
            caller_arn=run.caller_arn,
            target_ref=args.rollback_target,
        )
        finished = conclude(readiness, assess(readiness, outcomes=None))
    for line in finished.lines:
        print(line)
    return EXIT_OK if finished.rollback_possible else EXIT_NO
