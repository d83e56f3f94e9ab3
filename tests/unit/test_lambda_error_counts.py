"""Lambda errors since the deploy are counted from GetMetricData's answer, over a period
CloudWatch can answer in one go and still keeps for data that old.

Pure helpers; the check against moto's CloudWatch is tests/aws/test_ops_checks.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pytest_ohpen.checks.lambda_errors import ErrorCount, count_errors, metric_period

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "age", "period"),
    [
        (timedelta(seconds=10), timedelta(seconds=10), 60),
        (timedelta(hours=2), timedelta(hours=2), 60),
        (timedelta(hours=24), timedelta(hours=24), 60),
        (timedelta(hours=24, minutes=1), timedelta(hours=25), 120),
        (timedelta(days=3), timedelta(days=3), 180),
        (timedelta(days=14), timedelta(days=14), 840),
        (timedelta(hours=1), timedelta(days=20), 300),
        (timedelta(days=30), timedelta(days=30), 1800),
        (timedelta(hours=1), timedelta(days=90), 3600),
        (timedelta(days=100), timedelta(days=100), 7200),
    ],
)
def test_the_period_fits_1440_datapoints_and_the_retention(
    span: timedelta, age: timedelta, period: int
) -> None:
    start = NOW - age
    assert metric_period(start, start + span, NOW) == period
    assert span.total_seconds() / period <= 1440


def test_errors_and_invocations_are_summed_and_the_first_error_found() -> None:
    minute = datetime(2026, 12, 2, 10, 3, tzinfo=UTC)
    plus_one = timezone(timedelta(hours=1))
    results = [
        {
            "Id": "errors",
            "Timestamps": [minute + timedelta(minutes=2), minute.astimezone(plus_one), minute],
            "Values": [4.0, 3.0, 0.0],
        },
        {"Id": "invocations", "Timestamps": [minute, minute], "Values": [5.0, 4.0]},
        {"Id": "errors", "Timestamps": [minute - timedelta(minutes=1)], "Values": [0.0]},
    ]
    assert count_errors(results) == ErrorCount(7, 9, minute)


def test_no_datapoints_is_no_errors() -> None:
    empty = [{"Id": "errors", "Timestamps": [], "Values": []}]
    assert count_errors(empty) == ErrorCount(0, 0, None)
