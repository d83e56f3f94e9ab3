"""``ohpen metrics``: the playbook's rollback metrics against its targets, with deployment
frequency and change-failure rate beside them, for a scheduled job.

Reads every store the environment names: the local audit directory and, when the
environment keeps its audit records in S3 too (``[<env>.audit] bucket``), that bucket (a
record in both is counted once). S3 and ``--publish`` need the account guard, which runs
first, once; without either no AWS call is made. The report alone goes to stdout, so any
format can be piped; the guard's line, the corrupt records and what was written go to
stderr. Every figure is defined in docs/metrics.md.

Exit codes, the first that applies: 2 bad input (one line on stderr); 3 corrupt or
unreadable audit records (each named; the figures leave them out, so none is proven);
1 a target is breached, so the job can alert; 5 no data: the audit store holds no record
of the environment the metrics read, so no target could be measured (like pytest's 5,
nothing to check; an empty or wrong audit directory must not read as a quiet quarter);
0 no target breached (rows without data say "no data", never "met"). 141: the reader
closed the pipe (``| head``).
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
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
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.metrics.figures import Metrics

FORMATS = ("table", "json", "markdown")
EXIT_CORRUPT = 3
"""Audit records could not be read or used: the figures are incomplete."""
EXIT_NO_DATA = 5
"""No target could be measured: nothing of the environment in the audit store."""
_UNREADABLE = re.compile(r"skipping unreadable audit record (?P<where>.+?\.json): (?P<problem>.*)")


def _now() -> datetime:
    """The end of the window (a function, so tests can fix it)."""
    return datetime.now(UTC)


def register(commands: Any) -> None:
    """Add ``metrics`` to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "metrics",
        help="rollback frequency, duration, success rate and MTTR against the playbook "
        "targets; deployment frequency and change-failure rate",
        description="Rollback metrics from the audit store (one rollback per incident, every "
        "attempt listed; data rollbacks and deployments beside them; see docs/metrics.md). "
        "Exit 0 no target breached, 1 a target breached, 2 bad input, 3 corrupt or "
        "unreadable audit records, 5 no data (nothing of the environment in the audit "
        "store).",
    )
    environment_options(parser)
    parser.add_argument(
        "--since",
        default="90d",
        metavar="WHEN",
        help="window start: a look-back (90d, 12w, 6m; a month is 30 days) or an ISO date, "
        "at most 3660 days back (default: 90d)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument(
        "--chart",
        metavar="FILE.png",
        type=Path,
        help="also write a PNG of durations and MTTR against the targets (needs the "
        "charts extra: pip install 'pytest-ohpen[charts]')",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="also put the figures to CloudWatch (Ohpen/Rollback) and create or update the "
        "dashboard ohpen-rollback-<env> (checks the account first)",
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
    from pytest_ohpen.metrics.chart import ChartUnavailable, chart_png, require_matplotlib
    from pytest_ohpen.metrics.figures import MetricsWarning, compute, window
    from pytest_ohpen.metrics.records import READ_KINDS, Corrupt
    from pytest_ohpen.metrics.render import to_json, to_markdown, to_table
    from pytest_ohpen.metrics.targets import BREACH, CORRUPT, NO_DATA, breached, overall, targets
    from pytest_ohpen.records.store import AuditReadError, open_store

    if args.chart is not None:
        try:  # before anything is read or printed: a job without the extra fails at once
            require_matplotlib()
        except ChartUnavailable as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    now = _now()
    try:
        since = window(args.since, now)
    except ValueError as error:
        return _usage(f"--since {error}")
    settings = settings_from(args)
    env = OhpenRun(lambda: settings, Path.cwd()).environment
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = open_store(env, lambda: run().clients.client("s3"))
        try:
            records = [
                record
                for kind in READ_KINDS
                for record in store.records(kind=kind, environment=env.name)
            ]
        except AuditReadError as error:
            print(f"ohpen metrics: {error}", file=sys.stderr)
            return EXIT_CORRUPT
        figures = compute(records, since, now, environment=env.name)
    unreadable: list[Corrupt] = []
    for warning in caught:
        if isinstance(warning.message, MetricsWarning):
            continue  # in figures.corrupt, named below
        found = _UNREADABLE.fullmatch(str(warning.message))
        if found:
            unreadable.append(Corrupt(found["where"], found["problem"]))
        else:
            print(f"ohpen: warning: {warning.message}", file=sys.stderr)
    figures = replace(figures, corrupt=(*unreadable, *figures.corrupt))
    for corrupt in figures.corrupt:
        print(f"ohpen: corrupt audit record {corrupt.text}", file=sys.stderr)
    results = targets(figures)
    render = {"table": to_table, "json": to_json, "markdown": to_markdown}[args.format]
    print(render(figures, results), end="")
    if args.chart is not None:
        try:
            chart_png(figures, args.chart)
        except OSError as error:
            return _usage(f"--chart {str(args.chart)!r}: {error.strerror or error}")
        print(
            f"ohpen: chart written to {args.chart}",
            file=sys.stderr,
        )
    if args.publish and figures.corrupt:
        print("ohpen: not published: the figures leave corrupt records out", file=sys.stderr)
    elif args.publish:
        _publish(run(), env.name, figures)
    missed = breached(results)
    if missed:
        print(
            "ohpen: targets breached: " + ", ".join(result.name for result in missed),
            file=sys.stderr,
        )
    state = overall(results, len(figures.corrupt))
    if state == CORRUPT:
        print(
            f"ohpen: {len(figures.corrupt)} corrupt or unreadable audit record(s) left out of "
            "the figures: fix or remove them (exit 3)",
            file=sys.stderr,
        )
        return EXIT_CORRUPT
    if state == BREACH:
        return EXIT_NO
    if state == NO_DATA:
        print(
            f"ohpen: no data: the audit store ({_where(env)}) holds no rollback, deployment, "
            f"drill or known-good record of {env.name}, so no target could be measured (exit 5)",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    return EXIT_OK


def _publish(run: OhpenRun, environment: str, figures: Metrics) -> None:
    """Put the figures to CloudWatch, then create or update the dashboard over them (the
    run has passed the account guard); errors are one line on stderr naming the
    permission the caller lacks."""
    from pytest_ohpen.metrics.dashboard import dashboard_name
    from pytest_ohpen.metrics.publish import NAMESPACE, publish, put_dashboard

    cloudwatch = run.clients.client("cloudwatch")
    with _cloudwatch_errors(
        "publish the metrics to CloudWatch", f"cloudwatch:PutMetricData for namespace {NAMESPACE}"
    ):
        sent = publish(cloudwatch, environment, figures)
    names = sorted({str(point["MetricName"]) for point in sent})
    print(
        f"ohpen: published {len(sent)} datapoints to {NAMESPACE} "
        f"(Environment={environment}): {', '.join(names)}",
        file=sys.stderr,
    )
    with _cloudwatch_errors(
        f"create or update the dashboard {dashboard_name(environment)} in CloudWatch "
        f"(the {len(sent)} datapoints were published)",
        "cloudwatch:PutDashboard",
    ):
        dashboard, messages = put_dashboard(cloudwatch, environment)
    for message in messages:
        print(f"ohpen: warning: dashboard {dashboard}: {message}", file=sys.stderr)
    print(f"ohpen: dashboard {dashboard} updated in CloudWatch", file=sys.stderr)


@contextmanager
def _cloudwatch_errors(what: str, permission: str) -> Iterator[None]:
    """A CloudWatch call's failure as one :class:`OhpenError` line: the service's code and
    the permission that call needs, or the transport's error."""
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.ClientError as error:
        raise OhpenError(
            f"cannot {what} ({error_code(error)}): the caller needs {permission}"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise OhpenError(f"cannot {what} ({type(error).__name__}: {error})") from None


def _where(env: Environment) -> str:
    """The audit store's places, for a message."""
    audit = env.audit
    bucket = f" and s3://{audit.bucket}/{audit.prefix}" if audit.bucket else ""
    return f"{audit.directory}{bucket}"
