"""Glue runs in a state that has not ended count as running, on every page of the listing.

moto never reaches STOPPING or WAITING, so these answers come from botocore's Stubber: no
AWS, no connection. Real runs in moto are tests/aws/test_running.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pytest_ohpen.readiness.work_in_progress import running_glue_runs

REGION = "eu-west-1"
JOB = "ohpen-transaction-etl-spark"


def _run(run_id: str, state: str) -> dict[str, Any]:
    return {
        "Id": run_id,
        "JobName": JOB,
        "JobRunState": state,
        "StartedOn": datetime(2026, 1, 29, 15, 0, tzinfo=UTC),
    }


def test_glue_states_that_have_not_ended_count_on_every_page() -> None:
    """STARTING, RUNNING, STOPPING and WAITING are unfinished; the end states are not."""
    client = boto3.client("glue", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "get_job_runs",
            {
                "JobRuns": [_run("jr_1", "STOPPING"), _run("jr_2", "SUCCEEDED")],
                "NextToken": "page-2",
            },
            {"JobName": JOB},
        )
        stub.add_response(
            "get_job_runs",
            {
                "JobRuns": [
                    _run("jr_3", "WAITING"),
                    _run("jr_4", "STARTING"),
                    _run("jr_5", "RUNNING"),
                    *(
                        _run(f"jr_end_{s}", s)
                        for s in ("FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
                    ),
                ]
            },
            {"JobName": JOB, "NextToken": "page-2"},
        )

        found = running_glue_runs(client, JOB)

        stub.assert_no_pending_responses()
    assert [w.run_id for w in found] == ["jr_1", "jr_3", "jr_4", "jr_5"]
    assert {w.started for w in found} == {"2026-01-29T15:00:00+00:00"}


def test_other_glue_errors_propagate() -> None:
    """Access denied is not "nothing running": the caller reports it could not verify."""
    client = boto3.client("glue", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_job_runs", "AccessDeniedException", http_status_code=400)
        with pytest.raises(client.exceptions.ClientError):
            running_glue_runs(client, JOB)
