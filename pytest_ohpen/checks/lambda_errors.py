"""Lambda errors since the deploy: a function can be Active and invocable by a smoke
payload yet fail for the real events it has received since the release.

One GetMetricData call reads AWS/Lambda Errors and Invocations together, so the failure
says how many of the invocations failed, not only that some did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

MAX_DATAPOINTS = 1440
"""CloudWatch's most datapoints per metric in one answer; the period widens to fit it."""
RETENTION = ((timedelta(days=15), 60), (timedelta(days=63), 300), (None, 3600))
"""The finest period CloudWatch keeps for data older than each age (1-minute data for
15 days, 5-minute data for 63 days, then hourly)."""


@dataclass(frozen=True)
class ErrorCount:
    """What the metrics say since the deploy."""

    errors: int
    invocations: int
    first_error: datetime | None


def metric_period(start: datetime, end: datetime, now: datetime) -> int:
    """The finest period (seconds) that fits ``start``-``end`` in 1,440 datapoints and that
    CloudWatch still keeps for data as old as ``start``."""
    span = max((end - start).total_seconds(), 60.0)
    age = now - start
    step = next(seconds for limit, seconds in RETENTION if limit is None or age <= limit)
    needed = math.ceil(span / MAX_DATAPOINTS)
    return max(step, math.ceil(needed / step) * step)


def count_errors(results: list[dict[str, Any]]) -> ErrorCount:
    """Errors, invocations and the first minute with an error, from GetMetricData's
    ``MetricDataResults`` (ids ``errors`` and ``invocations``; pages concatenated)."""
    errors = invocations = 0.0
    first: datetime | None = None
    for result in results:
        values = [float(v) for v in result.get("Values", [])]
        if result.get("Id") == "invocations":
            invocations += sum(values)
        elif result.get("Id") == "errors":
            errors += sum(values)
            for stamp, value in zip(result.get("Timestamps", []), values, strict=False):
                if value > 0 and isinstance(stamp, datetime):
                    stamp = _as_utc(stamp)
                    first = stamp if first is None else min(first, stamp)
    return ErrorCount(round(errors), round(invocations), first)


def check_lambda_no_errors(
    cloudwatch: Any, function: str, since: datetime, where: Where, now: datetime | None = None
) -> None:
    """GetMetricData AWS/Lambda Errors and Invocations (Sum, by FunctionName) from ``since``
    (the deploy) to ``now``: no datapoint with an error. No datapoints means no errors."""
    end = _as_utc(now or datetime.now(UTC))
    start = _as_utc(since)
    period = metric_period(start, end, end)
    queries = [_query(ident, metric, function, period) for ident, metric in _METRICS]
    # Datapoints are stamped with the start of their minute: the deploy's own minute counts
    # (an error 15 s after a deploy at 10:00:30 is stamped 10:00:00), and the window is never
    # empty (CloudWatch refuses StartTime == EndTime right after a deploy).
    first_minute = start.replace(second=0, microsecond=0)
    # ... and ends on a whole period, so the minute under way is read too (a datapoint of
    # this minute lies in a period that ends after now).
    periods = max(1, math.ceil((end - first_minute).total_seconds() / period))
    end = first_minute + timedelta(seconds=periods * period)
    results: list[dict[str, Any]] = []
    with probing("Lambda", function, where, frozenset()):
        for page in cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries,
            StartTime=first_minute,
            EndTime=end,
            ScanBy="TimestampAscending",
        ):
            results += page.get("MetricDataResults", [])
    count = count_errors(results)
    if count.errors <= 0:
        return
    noun = "error" if count.errors == 1 else "errors"
    details = []
    if count.invocations:
        details.append(f"{count.errors} of {count.invocations} invocations failed")
    if count.first_error:
        details.append(f"first at {_iso(count.first_error)}")
    said = f" ({', '.join(details)})" if details else ""
    raise CheckFailed(
        f"Lambda {function}: {count.errors} {noun} since the deploy at {_iso(start)}{said} {where}"
    )


_METRICS = (("errors", "Errors"), ("invocations", "Invocations"))


def _query(ident: str, metric: str, function: str, period: int) -> dict[str, Any]:
    return {
        "Id": ident,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
            },
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def _as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"
