"""The ETL pipeline end to end: the playbook's Step 7 "Test ETL pipeline".

A small CSV goes into the bronze bucket, the orchestration state machine runs on it,
and the check waits for the execution to succeed. The input is always removed after
(every version of it), so a verification leaves nothing behind in the data lake.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.checks import s3 as s3_checks
from pytest_ohpen.checks import stepfunctions as sfn_checks
from pytest_ohpen.checks.base import CheckFailed, Where, describe_client_error, probing

VERIFICATION_PREFIX = "rollback-verification/"
"""Where verification inputs go, so an ETL job or a lifecycle rule can tell them apart."""
STILL_RUNNING = frozenset({"RUNNING", "PENDING_REDRIVE"})
FAILURE_EVENTS = {
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
}
"""History events ending an unsuccessful execution, and where each keeps error and cause."""
TASK_FAILURE_EVENTS = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "ActivityFailed": "activityFailedEventDetails",
}
"""History events of a failed task (possibly caught), and where each keeps error and cause."""
HISTORY_PAGES = 5
"""Newest-first pages read to find the failing state (100 events each)."""
CAUSE_CHARS = 200
CSV_HEADER = "transaction_id,account_id,amount,currency,booked_at"


def execution_name(now: datetime) -> str:
    """``rollback-verification-<UTC timestamp>-<6 hex>``: the playbook's name, made unique.

    Step Functions keeps execution names for 90 days and rejects a repeat, so two
    verifications within one second must still differ. A naive ``now`` is taken as UTC.
    """
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return f"rollback-verification-{utc:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def verification_input(name: str, now: datetime) -> bytes:
    """A header and one transaction row, its id the execution name so it can be traced."""
    row = f"{name},NL00OHPN0000000001,0.01,EUR,{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return f"{CSV_HEADER}\n{row}\n".encode()


def run_pipeline(
    s3: Any,
    sfn: Any,
    state_machine: str,
    bucket: str,
    where: Where,
    *,
    timeout: float,
    poll: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Upload a verification input, run the state machine on it, wait for SUCCEEDED.

    Returns the execution ARN. Raises CheckFailed when the input cannot be uploaded, the
    execution cannot start, ends FAILED / TIMED_OUT / ABORTED, or is still running after
    ``timeout`` seconds (it is then stopped). The input is removed whatever happens.
    """
    now = datetime.now(UTC)
    name = execution_name(now)
    key = f"{VERIFICATION_PREFIX}{name}.csv"
    passed = False
    try:
        with probing("bucket", bucket, where, s3_checks.NOT_FOUND):
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=verification_input(name, now),
                ContentType="text/csv",
                ExpectedBucketOwner=where.account_id,
            )
        with probing("state machine", state_machine, where, sfn_checks.NOT_FOUND):
            started = sfn.start_execution(
                stateMachineArn=sfn_checks.state_machine_arn(state_machine, where),
                name=name,
                input=json.dumps({"run_key": name, "s3_bucket": bucket, "s3_key": key}),
            )
        arn = str(started["executionArn"])
        _wait(sfn, arn, f"{state_machine}: execution {name}", where, timeout, poll, clock, sleep)
        passed = True
        return arn
    finally:
        # After a failure, a leftover input matters less than the failure: say only the latter.
        _remove_input(s3, bucket, key, where, quiet=not passed)


def _wait(
    sfn: Any,
    arn: str,
    execution: str,
    where: Where,
    timeout: float,
    poll: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Poll until the execution ends; anything but SUCCEEDED is a CheckFailed.

    ``execution`` reads "<state machine>: execution <name>" in messages.
    """
    deadline = clock() + timeout
    while True:
        with probing("state machine", execution, where, frozenset({"ExecutionDoesNotExist"})):
            described = sfn.describe_execution(executionArn=arn)
        status = str(described.get("status"))
        if status == "SUCCEEDED":
            return
        if status not in STILL_RUNNING:
            raise CheckFailed(
                f"state machine {execution} {status}{_failure(sfn, arn, described)} {where}"
            )
        remaining = deadline - clock()
        if remaining <= 0:
            raise CheckFailed(
                f"state machine {execution} did not finish within {timeout:g} s "
                f"({_stop(sfn, arn, timeout)}) {where}"
            )
        sleep(min(poll, remaining))


def _failure(sfn: Any, arn: str, described: dict[str, Any]) -> str:
    """' at state S: error E: cause C', from the history, else from DescribeExecution; and,
    when a Catch turned a task's failure into the end state, ': after task T failed with E2: C2'
    (the cause that matters to the on-call engineer)."""
    state, details, task = _failing_state(sfn, arn)
    error = details.get("error") or described.get("error")
    cause = details.get("cause") or described.get("cause")
    caught = ""
    if task and task.get("error") and task.get("error") != error:
        caught = (
            f": after task {task.get('state') or '?'} failed with "
            f"{one_line(str(task['error']))}"
            + (f": {one_line(str(task['cause']))}" if task.get("cause") else "")
        )
    return (
        (f" at state {state}" if state else "")
        + (f": error {one_line(str(error))}" if error else "")
        + (f": cause {one_line(str(cause))}" if cause else "")
        + caught
    )


def _failing_state(sfn: Any, arn: str) -> tuple[str | None, dict[str, Any], dict[str, Any] | None]:
    """The last state entered before the execution ended, the ending event's details, and the
    last task failure before it (None when no task failed).

    Reads the history newest first, a page at a time, until both are found. Events are
    sorted by id, so a service that ignores ``reverseOrder`` (moto) gives the same answer.
    """
    import botocore.exceptions as bex

    events: list[dict[str, Any]] = []
    options: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 100}
    try:
        for _ in range(HISTORY_PAGES):
            page = sfn.get_execution_history(**options)
            events += page.get("events", [])
            state, details = _scan(sorted(events, key=lambda e: -int(e.get("id", 0))))
            if state is not None or not page.get("nextToken"):
                break
            options["nextToken"] = page["nextToken"]
    except (bex.ClientError, bex.BotoCoreError):
        pass  # DescribeExecution's error and cause still say what went wrong
    newest_first = sorted(events, key=lambda e: -int(e.get("id", 0)))
    state, details = _scan(newest_first)
    return state, details, _task_failure(newest_first)


def _task_failure(newest_first: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest failed task (its error, cause and state), if any task failed."""
    for index, event in enumerate(newest_first):
        kind = str(event.get("type", ""))
        if kind in TASK_FAILURE_EVENTS:
            details = dict(event.get(TASK_FAILURE_EVENTS[kind]) or {})
            entered = next(
                (
                    e
                    for e in newest_first[index + 1 :]
                    if str(e.get("type", "")).endswith("StateEntered")
                ),
                {},
            )
            details["state"] = (entered.get("stateEnteredEventDetails") or {}).get("name")
            return details
    return None


def _scan(newest_first: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    details: dict[str, Any] | None = None
    for event in newest_first:
        kind = str(event.get("type", ""))
        if details is None and kind in FAILURE_EVENTS:
            details = dict(event.get(FAILURE_EVENTS[kind]) or {})
        elif details is not None and kind.endswith("StateEntered"):
            name = (event.get("stateEnteredEventDetails") or {}).get("name")
            return (str(name) if name else None), details
    return None, details or {}


def _stop(sfn: Any, arn: str, timeout: float) -> str:
    """Stop the overdue execution so it cannot act on the data later; say how that went."""
    import botocore.exceptions as bex

    try:
        sfn.stop_execution(
            executionArn=arn,
            error="RollbackVerificationTimeout",
            cause=f"pytest-ohpen: not finished within {timeout:g} s",
        )
    except bex.ClientError as error:
        return f"could not be stopped: {describe_client_error(error, frozenset())}"
    except bex.BotoCoreError as error:
        return f"could not be stopped: {type(error).__name__}"
    return "stopped"


def _remove_input(s3: Any, bucket: str, key: str, where: Where, *, quiet: bool) -> None:
    """Delete every version and delete marker of ``key``, so no trace is left.

    In an unversioned bucket the one object is listed with VersionId "null", which
    DeleteObject accepts. Unless ``quiet``, a failure is a CheckFailed.
    """
    import botocore.exceptions as bex

    owner = where.account_id
    try:
        versions: list[str] = []
        pages = s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=key, ExpectedBucketOwner=owner
        )
        for page in pages:
            for entry in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
                if entry.get("Key") == key:
                    versions.append(str(entry["VersionId"]))
        for version in versions:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version, ExpectedBucketOwner=owner)
    except (bex.ClientError, bex.BotoCoreError) as error:
        if quiet:
            return
        found = (
            describe_client_error(error, s3_checks.NOT_FOUND)
            if isinstance(error, bex.ClientError)
            else f"{type(error).__name__}"
        )
        raise CheckFailed(
            f"bucket {bucket}: verification input {key} could not be removed: {found} {where}"
        ) from None


def one_line(text: str, limit: int = CAUSE_CHARS) -> str:
    """Whitespace collapsed, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
