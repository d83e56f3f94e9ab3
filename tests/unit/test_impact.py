"""What a failed resource affects, computed from the account's listings (pure), and how the
readiness report shows it: tables, jobs and state machines named as whole names, an unread
listing shown as unknown (a warning), never as "nothing affected"."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pytest_ohpen.readiness.decide import decide
from pytest_ohpen.readiness.impact import (
    JOBS,
    STATE_MACHINES,
    TABLES,
    Affected,
    FailedResource,
    Impact,
    failed_resources,
    impact,
    listings_needed,
    state_strings,
)
from pytest_ohpen.readiness.impact_names import names
from pytest_ohpen.readiness.render import summary_lines, to_json, to_markdown
from pytest_ohpen.readiness.report import build_report
from tests.unit.test_report import GENERATED, OPERATOR, facts

SILVER = FailedResource("buckets", "ohpen-silver")
ETL = FailedResource("glue_jobs", "ohpen-transaction-etl-spark")
SUMMARY = FailedResource("lambdas", "ohpen-read-run-summary")
TABLE = {
    "DatabaseName": "silver",
    "Name": "transactions",
    "StorageDescriptor": {"Location": "s3://ohpen-silver/transactions/"},
}
ARCHIVE_TABLE = {
    "DatabaseName": "archive",
    "Name": "transactions",
    "StorageDescriptor": {"Location": "s3://ohpen-silver-archive/transactions/"},
}
JOB = {
    "Name": "ohpen-transaction-etl-spark",
    "Role": "arn:aws:iam::123456789012:role/ohpen-glue-role",
    "Command": {"Name": "glueetl", "ScriptLocation": "s3://ohpen-artifacts/glue/etl.py"},
    "DefaultArguments": {"--output": "s3://ohpen-silver/transactions/", "--mode": "full"},
}
ARCHIVER = {
    "Name": "ohpen-archiver",
    "Command": {"ScriptLocation": "s3://ohpen-artifacts/glue/archive.py"},
    "DefaultArguments": {"--output": "s3://ohpen-silver-archive/", "--bucket": "ohpen-silvery"},
}
DEFINITION = {
    "StartAt": "RunEtl",
    "States": {
        "RunEtl": {
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun",
            "Parameters": {"JobName": "ohpen-transaction-etl-spark"},
            "Next": "Summarise",
        },
        "Summarise": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:"
                "ohpen-read-run-summary:$LATEST"
            },
            "End": True,
        },
    },
}
MACHINE = {
    "name": "ohpen-etl-orchestration",
    "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:ohpen-etl-orchestration",
    "roleArn": "arn:aws:iam::123456789012:role/ohpen-sfn-role",
    "definition": json.dumps(DEFINITION),
}
ARCHIVE_MACHINE = {
    "name": "ohpen-archive",
    "roleArn": "arn:aws:iam::123456789012:role/ohpen-sfn-role",
    "definition": json.dumps(
        {
            "StartAt": "Copy",
            "States": {
                "Copy": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
                    "Parameters": {
                        "Bucket": "ohpen-silver-archive",
                        "CopySource": "ohpen-silver-archive/x",
                        "Key": "x",
                    },
                    "Next": "Summary",
                },
                "Summary": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:"
                    "ohpen-read-run-summary-v2",
                    "End": True,
                },
            },
        }
    ),
}
TABLES_ = [TABLE, ARCHIVE_TABLE]
JOBS_ = [JOB, ARCHIVER]
MACHINES_ = [MACHINE, ARCHIVE_MACHINE]


def only(failed: FailedResource, **unknown: str) -> Impact:
    [found] = impact([failed], TABLES_, JOBS_, MACHINES_, unknown=unknown)
    return found


def test_a_failed_bucket_affects_its_tables_its_jobs_and_the_state_machine_running_them() -> None:
    found = only(SILVER)
    assert (found.resource, found.kind) == ("ohpen-silver", "buckets")
    assert found.tables == (
        Affected("silver.transactions", "location s3://ohpen-silver/transactions/"),
    )
    assert found.jobs == (
        Affected(
            "ohpen-transaction-etl-spark", "argument --output s3://ohpen-silver/transactions/"
        ),
    )
    assert found.state_machines == (
        Affected(
            "ohpen-etl-orchestration", "state RunEtl (via Glue job ohpen-transaction-etl-spark)"
        ),
    )
    assert found.unknown == ()
    assert not found.nothing_found


def test_a_failed_script_bucket_names_the_script_of_each_job() -> None:
    found = only(FailedResource("buckets", "ohpen-artifacts"))
    assert found.tables == ()
    assert [(a.name, a.why) for a in found.jobs] == [
        ("ohpen-transaction-etl-spark", "script s3://ohpen-artifacts/glue/etl.py"),
        ("ohpen-archiver", "script s3://ohpen-artifacts/glue/archive.py"),
    ]


def test_a_bucket_a_state_names_directly_is_that_state() -> None:
    found = only(FailedResource("buckets", "ohpen-silver-archive"))
    assert [t.name for t in found.tables] == ["archive.transactions"]
    assert [j.name for j in found.jobs] == ["ohpen-archiver"]
    assert found.state_machines == (Affected("ohpen-archive", "state Copy"),)


def test_a_failed_job_affects_the_state_machines_starting_it_and_nothing_else() -> None:
    found = only(ETL)
    assert found.tables == found.jobs == ()
    assert found.state_machines == (Affected("ohpen-etl-orchestration", "state RunEtl"),)


def test_a_failed_lambda_is_named_by_its_arn_with_a_qualifier_not_by_a_longer_name() -> None:
    found = only(SUMMARY)
    assert found.state_machines == (Affected("ohpen-etl-orchestration", "state Summarise"),)


def test_a_failed_role_affects_the_jobs_and_state_machines_running_as_it() -> None:
    assert [j.name for j in only(FailedResource("roles", "ohpen-glue-role")).jobs] == [
        "ohpen-transaction-etl-spark"
    ]
    machines = only(FailedResource("roles", "ohpen-sfn-role")).state_machines
    assert [m.name for m in machines] == ["ohpen-etl-orchestration", "ohpen-archive"]
    assert machines[0].why == "role arn:aws:iam::123456789012:role/ohpen-sfn-role"


def test_names_are_whole_names_not_substrings() -> None:
    """ohpen-silver must not match ohpen-silver-archive (nor ohpen-silvery)."""
    assert names("buckets", "ohpen-silver", "s3://ohpen-silver/x")
    assert names("buckets", "ohpen-silver", "arn:aws:s3:::ohpen-silver/*")
    assert names("buckets", "ohpen-silver", "s3://a/x.zip,s3://ohpen-silver/y.zip")
    assert not names("buckets", "ohpen-silver", "s3://ohpen-silver-archive/x")
    assert not names("buckets", "ohpen-silver", "arn:aws:s3:::ohpen-silver-archive")
    assert not names("buckets", "ohpen-silver", "ohpen-silvery")
    assert not names("buckets", "ohpen-silver", "s3://other/ohpen-silver/x")
    assert names("lambdas", "f", "f:live")
    assert not names("lambdas", "f", "arn:aws:lambda:eu-west-1:1:function:f-v2")
    assert names("glue_jobs", "etl", "arn:aws:glue:eu-west-1:1:job/etl")
    assert not names("glue_jobs", "etl", "arn:aws:glue:eu-west-1:1:job/etl-2")
    assert not names("glue_jobs", "etl", "etl-2")
    assert names("state_machines", "m", "arn:aws:states:eu-west-1:1:stateMachine:m")
    assert not names("state_machines", "m", "arn:aws:states:eu-west-1:1:stateMachine:m2")
    assert names("roles", "r", "arn:aws:iam::1:role/service/r")
    assert not names("roles", "r", "arn:aws:iam::1:role/r2")

    found = only(SILVER)
    assert "archive.transactions" not in [t.name for t in found.tables]
    assert "ohpen-archiver" not in [j.name for j in found.jobs]
    assert "ohpen-archive" not in [m.name for m in found.state_machines]


def test_nothing_failed_is_no_impact_and_no_listing_needed() -> None:
    assert impact([], TABLES_, JOBS_, MACHINES_) == []
    assert listings_needed([]) == ()
    assert failed_resources([(None, None), ("buckets", None), (None, "x")]) == []


def test_only_the_listings_the_failed_kinds_need_are_read() -> None:
    assert listings_needed([ETL]) == (STATE_MACHINES,)
    assert listings_needed([FailedResource("alarms", "a")]) == ()
    assert listings_needed([ETL, SILVER]) == (TABLES, JOBS, STATE_MACHINES)
    assert failed_resources([("buckets", "b"), ("glue_jobs", "j"), ("buckets", "b")]) == [
        FailedResource("buckets", "b"),
        FailedResource("glue_jobs", "j"),
    ]


def test_an_unread_listing_is_unknown_not_nothing() -> None:
    [found] = impact(
        [SILVER], TABLES_, [], MACHINES_, unknown={JOBS: "could not be read: HTTP 500"}
    )
    assert found.unknown == ("Glue jobs: could not be read: HTTP 500",)
    assert not found.nothing_found
    [job] = impact([ETL], [], [], [], unknown={JOBS: "could not be read: HTTP 500"})
    assert job.unknown == ()  # a failed job's impact needs no job listing
    assert job.nothing_found


def test_inner_states_of_map_and_parallel_states_are_walked() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Run",
                    "States": {"Run": {"Type": "Task", "Parameters": {"JobName": "etl"}}},
                },
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Go", "States": {"Go": {"Parameters": {"a": ["s3://b/k"]}}}}
                ],
            },
        },
    }
    assert list(state_strings(json.dumps(definition))) == [("Run", "etl"), ("Go", "s3://b/k")]
    assert list(state_strings("not json")) == [("(definition)", "not json")]


def _report(**changes: Any) -> Any:
    given = facts(**changes)
    return build_report(given, decide(given), GENERATED, OPERATOR)


def test_the_report_lists_the_impact_and_then_the_environments_files_feeds() -> None:
    found = replace(only(SILVER), from_file=("table silver.transactions (Athena)",))
    report = _report(impact=[found])
    data = json.loads(to_json(report))
    assert data["impact"] == [
        {
            "resource": "ohpen-silver",
            "kind": "buckets",
            "tables": [
                {"name": "silver.transactions", "why": "location s3://ohpen-silver/transactions/"}
            ],
            "jobs": [
                {
                    "name": "ohpen-transaction-etl-spark",
                    "why": "argument --output s3://ohpen-silver/transactions/",
                }
            ],
            "state_machines": [
                {
                    "name": "ohpen-etl-orchestration",
                    "why": "state RunEtl (via Glue job ohpen-transaction-etl-spark)",
                }
            ],
            "from_file": ["table silver.transactions (Athena)"],
            "unknown": [],
        }
    ]
    assert "affected" in data  # the old key stays
    markdown = to_markdown(report)
    account = markdown.index("## What the failed resources affect (from the account)")
    lines = [
        "- bucket `ohpen-silver` → table `silver.transactions` "
        "(location s3://ohpen-silver/transactions/)",
        "- bucket `ohpen-silver` → Glue job `ohpen-transaction-etl-spark` "
        "(argument --output s3://ohpen-silver/transactions/)",
        "- bucket `ohpen-silver` → state machine `ohpen-etl-orchestration` "
        "(state RunEtl (via Glue job ohpen-transaction-etl-spark))",
        "- bucket `ohpen-silver` → from the environments file: table silver.transactions (Athena)",
    ]
    positions = [markdown.index(line) for line in lines]
    assert account < positions[0] and positions == sorted(positions)
    assert markdown.index("## Affected (from the environments file)") > positions[-1]
    assert (
        "  in the account, bucket ohpen-silver affects: table silver.transactions, "
        "Glue job ohpen-transaction-etl-spark, state machine ohpen-etl-orchestration"
    ) in summary_lines(report, [])


def test_an_unread_listing_is_a_warning_in_the_report_not_a_blocker() -> None:
    unread = "Glue jobs could not be read: HTTP 500 (InternalError), still after retries"
    [found] = impact([SILVER], TABLES_, [], MACHINES_, unknown={JOBS: "could not be read: x"})
    report = _report(impact=[found], impact_unknown=[unread])
    assert report.verdict.verdict == "READY"
    [warning] = [w for w in report.verdict.warnings if w.code == "impact_unknown"]
    assert unread in warning.message
    assert "not the same as nothing affected" in warning.message
    markdown = to_markdown(report)
    assert "- bucket `ohpen-silver` → Glue jobs: could not be read: x" in markdown
    assert "nothing in the account" not in markdown
    assert "(1 listing(s) could not be read)" in "\n".join(summary_lines(report, []))


def test_a_resource_nothing_uses_says_so_and_a_healthy_report_has_no_impact() -> None:
    [found] = impact([SILVER], [], [], [])
    markdown = to_markdown(_report(impact=[found]))
    assert "- bucket `ohpen-silver`: nothing in the account's tables, jobs or state machines" in (
        markdown
    )
    healthy = _report()
    assert json.loads(to_json(healthy))["impact"] == []
    assert "from the account" not in to_markdown(healthy)
    assert not [w for w in healthy.verdict.warnings if w.code == "impact_unknown"]
