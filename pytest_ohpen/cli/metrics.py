"""``ohpen metrics``: the playbook's rollback metrics against its targets, for a scheduled job.

Reads the local audit directory only (no AWS call) unless the environment keeps its audit
records in S3 too (``[<env>.audit] bucket``) or ``--publish`` is given: then the account
guard runs first, once. The report alone goes to stdout, so any format can be piped; the
guard's line, skipped-record warnings and what was written go to stderr. Exit 0: every
target met (or without data); 1: a target is breached, so the job can alert; 2: bad input
(one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.aws.errors import error_code
from pytest_ohpen.cli.common import (
    EXIT_NO,
    EXIT_OK,
    EXIT_USAGE,
    environment_options,
    run_on_demand,
    settings_from,
)
from pytest_ohpen.context import OhpenRun
from pytest_ohpen.errors import OhpenError

if TYPE_CHECKING:
    from pytest_ohpen.metrics.figures import Metrics

FORMATS = ("table", "json", "markdown")


def _now() -> datetime:
    """The end of the window (a function, so tests can fix it)."""
    return datetime.now(UTC)


def register(commands: Any) -> None:
    """Add ``metrics`` to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "metrics",
        help="rollback frequency, duration, success rate and MTTR against the playbook targets",
        description="Rollback metrics from the audit store; exit 1 when a target is breached.",
    )
    environment_options(parser)
    parser.add_argument(
        "--since",
        default="90d",
        metavar="WHEN",
        help="window start: a look-back (90d, 12w, 6m; a month is 30 days) or an ISO date "
        "(default: 90d)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument(
        "--chart", metavar="FILE.png", type=Path, help="also write a PNG of durations and MTTR"
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="also put the figures to CloudWatch (Ohpen/Rollback; checks the account first)",
    )
    parser.set_defaults(handler=run_metrics)


def _usage(message: str) -> int:
    print(f"ohpen: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_metrics(args: argparse.Namespace) -> int:
    """Compute, print, optionally chart and publish; the exit code says whether targets hold."""
    with ExitStack() as stack:
        return _metrics(args, run_on_demand(args, stack))


def _metrics(args: argparse.Namespace, run: Callable[[], OhpenRun]) -> int:
    """The command, with the run (account guard, clients) opened only when AWS is needed:
    for records kept in the audit bucket, and for ``--publish``; both share one run."""
    from pytest_ohpen.metrics.chart import chart_png
    from pytest_ohpen.metrics.figures import compute, parse_since, window_start
    from pytest_ohpen.metrics.records import DRILL, INCIDENT
    from pytest_ohpen.metrics.render import to_json, to_markdown, to_table
    from pytest_ohpen.metrics.targets import breached, targets
    from pytest_ohpen.records.store import open_store

    now = _now()
    try:
        since = window_start(parse_since(args.since), now)
    except ValueError as error:
        return _usage(f"--since {error}")
    if since >= now:
        return _usage(f"--since {args.since!r}: the window must start before now")
    settings = settings_from(args)
    env = OhpenRun(lambda: settings, Path.cwd()).environment
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = open_store(env, lambda: run().clients.client("s3"))
        records = [
            record
            for kind in (INCIDENT, DRILL)
            for record in store.records(kind=kind, environment=env.name)
        ]
        figures = compute(records, since, now, environment=env.name)
    for warning in caught:
        print(f"ohpen: warning: {warning.message}", file=sys.stderr)
    results = targets(figures)
    render = {"table": to_table, "json": to_json, "markdown": to_markdown}[args.format]
    print(render(figures, results), end="")
    if args.chart is not None:
        try:
            chart_png(figures, args.chart)
        except OSError as error:
            return _usage(f"--chart {str(args.chart)!r}: {error.strerror or error}")
        print(
            f"ohpen: chart written to {args.chart} (blue: automated, orange: manual, "
            "red: running mean MTTR; dashed lines: the targets)",
            file=sys.stderr,
        )
    if args.publish:
        _publish(run(), env.name, figures)
    missed = breached(results)
    if missed:
        print(
            "ohpen: targets breached: " + ", ".join(result.name for result in missed),
            file=sys.stderr,
        )
        return EXIT_NO
    return EXIT_OK


def _publish(run: OhpenRun, environment: str, figures: Metrics) -> None:
    """Put the figures to CloudWatch (the run has passed the account guard); errors are one
    line on stderr."""
    import botocore.exceptions

    from pytest_ohpen.metrics.publish import NAMESPACE, publish

    try:
        sent = publish(run.clients.client("cloudwatch"), environment, figures)
    except botocore.exceptions.ClientError as error:
        code = error_code(error)
        raise OhpenError(
            f"cannot publish the metrics to CloudWatch ({code}): the caller needs "
            f"cloudwatch:PutMetricData for namespace {NAMESPACE}"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise OhpenError(
            f"cannot publish the metrics to CloudWatch ({type(error).__name__}: {error})"
        ) from None
    names = sorted({str(point["MetricName"]) for point in sent})
    print(
        f"ohpen: published {len(sent)} datapoints to {NAMESPACE} "
        f"(Environment={environment}): {', '.join(names)}",
        file=sys.stderr,
    )
