"""What a failed resource affects, read from a moto account made with plain boto3 (a catalog
table, a Glue job, the ETL state machine): ``read_account`` then ``impact`` name them, and a
service that answers 5xx, cannot be reached or is out of time is unknown (a warning), never
"nothing affected"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import accounts
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from conftest import moto_clients

from pytest_ohpen.readiness.facts import FailedCheck
from pytest_ohpen.readiness.gather import gather
from pytest_ohpen.readiness.impact import (
    JOBS,
    STATE_MACHINES,
    TABLES,
    Account,
    Affected,
    FailedResource,
    impact,
    read_account,
)
from pytest_ohpen.util.deadline import Deadline

SILVER = FailedResource("buckets", "ohpen-silver")
ARTIFACTS = FailedResource("buckets", "ohpen-artifacts")
ETL = FailedResource("glue_jobs", accounts.GLUE_JOB)
WHERE = "in account 123456789012 eu-west-1"


@pytest.fixture
def lake(fresh_moto: str) -> str:
    """A catalog table in ohpen-silver, the ETL job (its script in ohpen-artifacts) and the
    state machine that runs it; and a table in ohpen-silver-archive, which is another bucket."""
    glue = accounts.client(fresh_moto, "glue")
    for database, location in (
        ("silver", "s3://ohpen-silver/transactions/"),
        ("archive", "s3://ohpen-silver-archive/transactions/"),
    ):
        glue.create_database(DatabaseInput={"Name": database})
        glue.create_table(
            DatabaseName=database,
            TableInput={"Name": "transactions", "StorageDescriptor": {"Location": location}},
        )
    accounts.glue_job(fresh_moto)
    accounts.etl_pipeline(fresh_moto)
    return fresh_moto


def read(url: str, failed: list[FailedResource], deadline: Deadline | None = None) -> Account:
    return read_account(moto_clients(url), "eu-west-1", "123456789012", deadline, failed=failed)


def impact_of(account: Account, failed: list[FailedResource]) -> Any:
    return impact(
        failed, account.tables, account.jobs, account.state_machines, unknown=account.unknown
    )


def test_the_account_names_the_table_job_and_state_machine_of_failed_resources(lake: str) -> None:
    failed = [SILVER, ARTIFACTS, ETL]
    account = read(lake, failed)
    assert account.unknown == {}
    silver, artifacts, etl = impact_of(account, failed)
    assert silver.tables == (
        Affected("silver.transactions", "location s3://ohpen-silver/transactions/"),
    )
    assert silver.jobs == silver.state_machines == ()
    assert artifacts.jobs == (
        Affected(accounts.GLUE_JOB, f"script s3://ohpen-artifacts/glue/{accounts.GLUE_JOB}.py"),
    )
    assert artifacts.state_machines == (
        Affected(
            accounts.STATE_MACHINE, f"state RunTransactionEtl (via Glue job {accounts.GLUE_JOB})"
        ),
    )
    assert etl.state_machines == (Affected(accounts.STATE_MACHINE, "state RunTransactionEtl"),)


def test_nothing_failed_asks_nothing(fresh_moto: str) -> None:
    """No listing is read (an unreachable account is not even asked)."""
    account = read_account(
        moto_clients("http://127.0.0.1:9"), "eu-west-1", "123456789012", None, failed=[]
    )
    assert account == Account()


def test_a_failed_job_reads_the_state_machines_only(lake: str) -> None:
    account = read(lake, [ETL])
    assert account.tables == account.jobs == []
    assert [m["name"] for m in account.state_machines] == [accounts.STATE_MACHINE]


def test_a_service_answering_5xx_is_unknown_not_nothing(lake: str) -> None:
    """Step Functions answers 503 every time: the state machines are unknown (with why and
    where); the tables and jobs, which answered, are still named."""
    clients = moto_clients(lake)
    sfn = clients.client("stepfunctions")

    def unavailable(request: Any, **_: Any) -> AWSResponse:
        raw = type("Raw", (), {"stream": lambda self, **_: iter([b""])})()
        return AWSResponse(request.url, 503, HTTPHeaders(), raw)

    sfn.meta.events.register("before-send", unavailable)
    account = read_account(clients, "eu-west-1", "123456789012", None, failed=[ARTIFACTS])
    assert set(account.unknown) == {STATE_MACHINES}
    assert account.unknown[STATE_MACHINES].startswith("could not be read: HTTP 503")
    assert account.unknown[STATE_MACHINES].endswith(WHERE)
    [found] = impact_of(account, [ARTIFACTS])
    assert [j.name for j in found.jobs] == [accounts.GLUE_JOB]
    assert found.state_machines == ()
    assert found.unknown == (f"state machines: {account.unknown[STATE_MACHINES]}",)
    assert not found.nothing_found


def test_an_unreachable_account_is_unknown_for_every_listing_needed(fresh_moto: str) -> None:
    clients = moto_clients("http://127.0.0.1:9", timeout=2)
    account = read_account(clients, "eu-west-1", "123456789012", None, failed=[SILVER])
    assert set(account.unknown) == {TABLES, JOBS, STATE_MACHINES}
    assert all("EndpointConnectionError" in why for why in account.unknown.values())
    [found] = impact_of(account, [SILVER])
    assert len(found.unknown) == 3


def test_a_deadline_that_ran_out_reads_nothing_and_says_so(lake: str) -> None:
    spent = Deadline(0.0).start()
    account = read(lake, [ETL], spent)
    assert account.state_machines == []
    assert account.unknown == {STATE_MACHINES: f"could not be read: {spent.ran_out()} {WHERE}"}


def test_gather_puts_the_impact_in_the_facts_and_an_unread_listing_in_the_warnings(
    lake: str, tmp_path: Path
) -> None:
    clients = moto_clients(lake)

    def unavailable(request: Any, **_: Any) -> AWSResponse:
        raw = type("Raw", (), {"stream": lambda self, **_: iter([b""])})()
        return AWSResponse(request.url, 500, HTTPHeaders(), raw)

    # on the session, before any client: the deadline's bounded clients are new ones
    clients.session.register("before-send.glue.GetTables", unavailable)
    failed = FailedCheck(
        "suites/smoke/test_smoke.py::test_bucket_exists[ohpen-artifacts]",
        "CheckFailed: bucket ohpen-artifacts: not found",
        resource="ohpen-artifacts",
        kind="buckets",
        affects=("Glue job ohpen-transaction-etl-spark",),
    )
    facts = gather(
        clients.env,
        clients,
        None,
        repo=tmp_path,
        checks_ran=True,
        failed=[failed],
        deadline=Deadline(60).start(),
    )
    [found] = facts.impact
    assert (found.resource, found.kind) == ("ohpen-artifacts", "buckets")
    assert [j.name for j in found.jobs] == [accounts.GLUE_JOB]
    assert [m.name for m in found.state_machines] == [accounts.STATE_MACHINE]
    assert found.from_file == ("Glue job ohpen-transaction-etl-spark",)
    [unread] = facts.impact_unknown
    assert unread.startswith("Glue Data Catalog tables could not be read: HTTP 500")
    assert not [u for u in facts.unverified if "Glue" in u]  # a warning, not a blocker
