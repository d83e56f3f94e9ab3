"""Faults of the Glue job and the catalog table (``--emulator-fault NAME[=RESOURCE]``): each
breaks the one thing its check reads, as an operator or a bad deploy would.

- ``glue-script-missing``: the job's script object is deleted (a delete marker, what a
  delete in a versioned bucket leaves); the artifacts bucket stays, readable.
- ``glue-role-untrusted``: the job's role trusts only Lambda; its policies stay.
- ``schema-breaking-change``: an UpdateTable drops a column (a new table version).
- ``glue-duration-regression``: one more completed run, 10 times the median of the others.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks.catalog import split_table
from pytest_ohpen.checks.durations import glue_run_seconds
from pytest_ohpen.checks.glue import role_name, split_s3_url
from pytest_ohpen.emulator.fault import Fault
from pytest_ohpen.emulator.glue_runs import HISTORY, seed_runs
from pytest_ohpen.emulator.stack import Stack

UNTRUSTED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DROPPED_COLUMN = "amount"
"""The column a breaking change drops when the table has it (else its last column)."""
SLOWER = 10.0
TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "ViewOriginalText",
    "ViewExpandedText",
    "TableType",
    "Parameters",
)
"""What of GetTable's answer UpdateTable takes back (the rest is Glue's own bookkeeping)."""


def _job(clients: AwsClients, job: str) -> dict[str, Any]:
    found: dict[str, Any] = clients.client("glue").get_job(JobName=job)["Job"]
    return found


def _script_missing(clients: AwsClients, stack: Stack, job: str) -> None:
    bucket, key = split_s3_url(str(_job(clients, job)["Command"]["ScriptLocation"]))
    clients.client("s3").delete_object(Bucket=bucket, Key=key)


def _role_untrusted(clients: AwsClients, stack: Stack, job: str) -> None:
    clients.client("iam").update_assume_role_policy(
        RoleName=role_name(str(_job(clients, job)["Role"])),
        PolicyDocument=json.dumps(UNTRUSTED_POLICY),
    )


def without_a_column(table: dict[str, Any]) -> dict[str, Any]:
    """GetTable's Table as a TableInput, less ``DROPPED_COLUMN`` (or its last column)."""
    changed = {key: table[key] for key in TABLE_INPUT_KEYS if key in table}
    storage = dict(changed.get("StorageDescriptor") or {})
    columns = list(storage.get("Columns") or [])
    names = [str(column.get("Name", "")).lower() for column in columns]
    if DROPPED_COLUMN in names:
        del columns[names.index(DROPPED_COLUMN)]
    elif columns:
        columns.pop()
    changed["StorageDescriptor"] = {**storage, "Columns": columns}
    return changed


def _schema_breaking_change(clients: AwsClients, stack: Stack, table: str) -> None:
    database, name = split_table(table)
    glue = clients.client("glue")
    found = glue.get_table(DatabaseName=database, Name=name)["Table"]
    glue.update_table(DatabaseName=database, TableInput=without_a_column(found))


def _duration_regression(clients: AwsClients, stack: Stack, job: str) -> None:
    runs = clients.client("glue").get_job_runs(JobName=job).get("JobRuns", [])
    seconds = [
        s
        for run in runs
        if run.get("JobRunState") == "SUCCEEDED" and (s := glue_run_seconds(run)) is not None
    ]
    median = statistics.median(seconds) if seconds else statistics.median(HISTORY)
    env = clients.env
    seed_runs(env.account_id, env.region, job, [SLOWER * max(median, 1.0)])


FAULTS: dict[str, Fault] = {
    "glue-script-missing": Fault(
        "the Glue job's script object is deleted", "glue_jobs", _script_missing
    ),
    "glue-role-untrusted": Fault(
        "the Glue job's role trusts only lambda.amazonaws.com", "glue_jobs", _role_untrusted
    ),
    "schema-breaking-change": Fault(
        "a catalog table's new version drops a column", "tables", _schema_breaking_change
    ),
    "glue-duration-regression": Fault(
        "the Glue job's newest run takes 10x its median", "glue_jobs", _duration_regression
    ),
}
