"""How the checks word what they found: one line, named as the playbook names things.

Pure helpers of the checks, no AWS: a Lambda's error payload, the failure topic's ARN, the
verification execution's name and the one-line cut of a long cause.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

from pytest_ohpen.checks import Where
from pytest_ohpen.checks.awslambda import describe_function_error
from pytest_ohpen.checks.monitoring import topic_arn
from pytest_ohpen.checks.pipeline import execution_name, one_line

WHERE = Where("123456789012", "eu-west-1")


def test_function_error_payload_is_summarised_in_one_line() -> None:
    payload = json.dumps({"errorType": "KeyError", "errorMessage": "'run_key'\nline two"}).encode()
    assert describe_function_error(payload) == "KeyError: 'run_key' line two"
    assert describe_function_error(b"not json") == "not json"
    assert describe_function_error(b"") == "no error payload"


def test_topic_arn_is_built_from_where() -> None:
    assert (
        topic_arn("ohpen-etl-failures", WHERE)
        == "arn:aws:sns:eu-west-1:123456789012:ohpen-etl-failures"
    )


def test_execution_name_is_the_playbooks_name_in_utc_made_unique() -> None:
    cet = timezone(timedelta(hours=1))
    name = execution_name(datetime(2026, 3, 1, 10, 30, 5, tzinfo=cet))
    assert re.fullmatch(r"rollback-verification-20260301T093005Z-[0-9a-f]{6}", name)
    assert len(name) <= 80
    naive = execution_name(datetime(2026, 3, 1, 10, 30, 5))
    assert naive.startswith("rollback-verification-20260301T103005Z-")
    moment = datetime.now(UTC)
    assert len({execution_name(moment) for _ in range(50)}) == 50


def test_one_line_collapses_and_cuts_long_causes() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    cut = one_line("x" * 500)
    assert len(cut) == 200
    assert cut.endswith("…")
